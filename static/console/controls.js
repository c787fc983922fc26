// Console's controls that save in place: the inline rate-limit editor, role selects that
// save on change, dialogs that return focus to the control they confirm, and the report's
// API key picker. Like console.js, everything works without it; it makes them keyboard-
// and error-friendly.
(function () {
  "use strict";

  // Escape in an inline editor cancels it: its Cancel link fetches the row as saved, whose
  // pencil then takes focus (the server marks it autofocus).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    var editor = event.target.closest && event.target.closest("form[data-inline-edit]");
    if (!editor) return;
    var cancel = editor.querySelector("[data-cancel-edit]");
    if (!cancel) return;
    event.preventDefault();
    cancel.click();
  });

  // A select that saves on change shows the saved value again when the request fails
  // (the server's answer would have re-rendered it, but an error status swaps nothing).
  function revertSavedSelects(event) {
    var source = event.detail && event.detail.elt;
    if (!source || !source.querySelectorAll) return;
    source.querySelectorAll("select[data-saved]").forEach(function (select) {
      select.value = select.dataset.saved;
    });
  }
  document.addEventListener("htmx:responseError", revertSavedSelects);
  document.addEventListener("htmx:sendError", revertSavedSelects);

  // A dialog that confirms a change made with a control on the page (a role select) names
  // that control; when the dialog closes, focus goes back to it, found again by its id since
  // the list it is in may have been re-rendered meanwhile.
  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (!dialog || dialog.tagName !== "DIALOG") return;
    var marker = dialog.querySelector("[data-return-focus]");
    if (!marker) return;
    var selector = marker.getAttribute("data-return-focus");
    setTimeout(function () {
      var control = document.querySelector(selector);
      if (control) control.focus();
    }, 0);
    // The list may still be on its way: once it is swapped in, focus the new control.
    var until = Date.now() + 2000;
    document.addEventListener("htmx:afterSettle", function settle() {
      document.removeEventListener("htmx:afterSettle", settle);
      var control = document.querySelector(selector);
      if (control && Date.now() < until && (document.activeElement === document.body || !document.activeElement)) {
        control.focus();
      }
    });
  }, true);
})();
