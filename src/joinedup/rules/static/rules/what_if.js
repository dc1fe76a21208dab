// What-if: while the population is computed (a few seconds for the largest), say so and
// show a progress bar; the button is disabled so the run is not asked twice.
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-progress]")) {
    form.addEventListener("submit", (event) => {
      const status = document.getElementById(form.dataset.progress);
      if (!status || !event.submitter || event.submitter.name !== "run") return;
      status.hidden = false;
      for (const button of form.querySelectorAll("button")) button.disabled = true;
      // A disabled submitter is not sent: keep its name in the form.
      const run = document.createElement("input");
      run.type = "hidden";
      run.name = "run";
      run.value = "1";
      form.appendChild(run);
    });
  }
});
