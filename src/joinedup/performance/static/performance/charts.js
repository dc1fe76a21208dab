/* Draw each chart from the JSON block named by its data-chart attribute (no inline script).
   Without JavaScript, or if plotly fails, the data table below each chart stays the content. */
(function () {
  "use strict";
  if (typeof window.Plotly === "undefined") { return; }
  document.documentElement.classList.add("jp-charts");
  var charts = document.querySelectorAll("[data-chart]");
  Array.prototype.forEach.call(charts, function (element) {
    var source = document.getElementById(element.getAttribute("data-chart"));
    if (!source) { return; }
    var figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(element, figure.data, figure.layout, {
      displayModeBar: false,
      responsive: true,
      staticPlot: false
    });
  });
})();
