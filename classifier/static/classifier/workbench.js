// The coding workbench's keys: digits pick a code, Enter saves and goes on, S skips, F flags,
// N moves to the note. Keys typed into the note stay text (Enter there still saves).
(function () {
  "use strict";
  function press(form, id) {
    var button = document.getElementById(id);
    if (button) { form.requestSubmit(button); }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("coding-form");
    if (!form) { return; }
    var first = form.querySelector("input[name=codes]:checked") || form.querySelector("input[name=codes]");
    if (first) { first.focus(); }
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) { return; }
      var inNote = event.target && event.target.id === "note";
      if (event.key === "Enter") {
        if (event.target && event.target.tagName === "BUTTON") { return; }
        event.preventDefault();
        press(form, "save");
        return;
      }
      if (inNote) { return; }
      var key = event.key.toLowerCase();
      var input = form.querySelector('input[name=codes][data-key="' + key + '"]');
      if (input) {
        event.preventDefault();
        if (input.type === "checkbox") { input.checked = !input.checked; } else { input.checked = true; }
        input.focus();
      } else if (key === "s") {
        event.preventDefault();
        press(form, "skip");
      } else if (key === "f") {
        event.preventDefault();
        press(form, "flag");
      } else if (key === "n") {
        event.preventDefault();
        document.getElementById("note").focus();
      }
    });
  });
})();
