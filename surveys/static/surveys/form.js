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

  // "Other, please specify": show the text box only when its option is chosen (or it holds
  // text). Without JavaScript the box is always shown, and an answer in it is kept.
  document.querySelectorAll("[data-other]").forEach(function (control) {
    var box = document.getElementById(control.getAttribute("data-other"));
    if (!box) { return; }
    var wrapper = box.closest(".other");
    var isSelect = control.tagName === "SELECT";
    var sync = function () {
      var chosen = isSelect ? control.value === control.getAttribute("data-other-value")
                            : control.checked;
      if (wrapper) { wrapper.hidden = !(chosen || box.value !== ""); }
    };
    if (isSelect) {
      control.addEventListener("change", sync);
    } else {
      document.querySelectorAll('input[name="' + control.name + '"]').forEach(function (sibling) {
        sibling.addEventListener("change", sync);
      });
    }
    sync();
  });

  // The occupation search: picking a job title from the list chooses its occupation group
  // (the server does the same for a title sent without JavaScript).
  var fold = function (text) {
    return text.replace(/（/g, "(").replace(/）/g, ")").trim().replace(/\s+/g, " ").toLowerCase();
  };
  document.querySelectorAll("[data-occupation-search]").forEach(function (box) {
    var select = document.getElementById(box.getAttribute("data-occupation-search"));
    var list = box.list;
    if (!select || !list) { return; }
    var groups = {};
    Array.prototype.forEach.call(list.options, function (option) {
      groups[fold(option.value)] = option.getAttribute("data-isco");
    });
    var choose = function () {
      var code = groups[fold(box.value)];
      if (code && select.value !== code) {
        select.value = code;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    };
    box.addEventListener("input", choose);
    box.addEventListener("change", choose);
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
