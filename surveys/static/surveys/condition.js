// Skip-logic menus in the builder: each row offers only the comparisons and answers of the
// question chosen in it. Without this script every option is listed and the server checks them.
(function () {
  "use strict";
  function syncRow(row) {
    var question = row.querySelector(".condition-question");
    var op = row.querySelector(".condition-op");
    var choice = row.querySelector(".condition-choice");
    var typed = row.querySelector(".condition-typed");
    var picked = question.options[question.selectedIndex];
    var key = question.value;
    var operators = key ? (picked.getAttribute("data-operators") || "").split(" ") : [];
    Array.prototype.forEach.call(op.options, function (option) {
      option.hidden = option.value !== "" && operators.indexOf(option.value) < 0;
    });
    if (op.selectedOptions.length && op.selectedOptions[0].hidden) { op.value = ""; }
    var hasChoices = false;
    Array.prototype.forEach.call(choice.options, function (option) {
      var mine = option.value === "" || option.getAttribute("data-for") === key;
      option.hidden = !mine;
      option.disabled = !mine;
      if (mine && option.value !== "") { hasChoices = true; }
    });
    if (choice.selectedOptions.length && choice.selectedOptions[0].disabled) { choice.value = ""; }
    var needsValue = key && op.value !== "answered" && op.value !== "not_answered";
    // A class, not the hidden attribute: the admin's stylesheet sets inputs' display.
    choice.classList.toggle("condition-off", !(needsValue && hasChoices));
    typed.classList.toggle("condition-off", !(needsValue && !hasChoices));
    typed.placeholder = (picked && picked.getAttribute("data-hint")) || "value";
    op.classList.toggle("condition-off", !key);
  }
  function start() {
    document.querySelectorAll(".condition-row").forEach(function (row) {
      row.querySelector(".condition-question").addEventListener("change", function () { syncRow(row); });
      row.querySelector(".condition-op").addEventListener("change", function () { syncRow(row); });
      syncRow(row);
    });
  }
  // The admin loads form media in the page's head, before the menus exist.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
