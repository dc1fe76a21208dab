/* Draws every element with a data-figure attribute from the JSON block it names.
   The table under each chart carries the same data for readers without JavaScript. */
(function () {
  "use strict";
  if (!window.Plotly) { return; }
  document.querySelectorAll("[data-figure]").forEach(function (target) {
    var block = document.getElementById(target.dataset.figure);
    if (!block) { return; }
    var figure = JSON.parse(block.textContent);
    window.Plotly.newPlot(target, figure.data, figure.layout, { displayModeBar: false, responsive: true });
  });
})();
