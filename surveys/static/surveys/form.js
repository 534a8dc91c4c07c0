// Progressive enhancement of the respondent form; everything works without it.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }

  // Character counters for text answers with a limit.
  document.querySelectorAll("[data-maxlength]").forEach(function (field) {
    var limit = parseInt(field.getAttribute("data-maxlength"), 10);
    if (!limit) { return; }
    var counter = document.createElement("span");
    counter.className = "counter";
    counter.setAttribute("aria-live", "polite");
    field.insertAdjacentElement("afterend", counter);
    var update = function () {
      var length = field.value.length;
      counter.textContent = length.toLocaleString() + " / " + limit.toLocaleString();
      counter.classList.toggle("over", length > limit);
    };
    field.addEventListener("input", update);
    update();
  });

  // "Other, please specify": show the text box only when its option is chosen.
  document.querySelectorAll("input[data-other]").forEach(function (option) {
    var box = document.getElementById(option.getAttribute("data-other"));
    if (!box) { return; }
    var wrapper = box.closest(".other");
    var sync = function () {
      var shown = option.checked || box.value !== "";
      if (wrapper) { wrapper.hidden = !shown; }
    };
    document.querySelectorAll('input[name="' + option.name + '"]').forEach(function (sibling) {
      sibling.addEventListener("change", sync);
    });
    sync();
  });

  // Warn before leaving a page with unsaved edits.
  var form = document.querySelector("form.survey-page");
  if (form) {
    var dirty = false;
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; });
    form.addEventListener("submit", function () { dirty = false; });
    window.addEventListener("beforeunload", function (event) {
      if (dirty) { event.preventDefault(); event.returnValue = ""; }
    });
  }

  // The language switcher submits itself when JavaScript runs.
  var switcher = document.getElementById("language-switch");
  if (switcher) {
    switcher.addEventListener("change", function () { switcher.form.submit(); });
    var button = switcher.form.querySelector("button");
    if (button) { button.hidden = true; }
  }
})();
