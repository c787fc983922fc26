// Console's small script: modals, toasts, menus and copy buttons. Everything works without
// it on a full page load; it only makes the htmx flows feel like an application.
(function () {
  "use strict";

  function openModals(root) {
    root = root || document;
    var dialogs = Array.prototype.slice.call(root.querySelectorAll("dialog[data-modal]"));
    if (root.matches && root.matches("dialog[data-modal]")) dialogs.push(root);
    dialogs.forEach(function (dialog) {
      if (!dialog.open) {
        dialog.showModal();
        var first = dialog.querySelector("[autofocus], input:not([type=hidden]), select, button.btn");
        if (first) first.focus();
      }
      if (!dialog.dataset.bound) {
        dialog.dataset.bound = "1";
        dialog.addEventListener("close", function () { dialog.remove(); });
      }
    });
  }

  function closeModals() {
    document.querySelectorAll("dialog[data-modal]").forEach(function (dialog) {
      if (dialog.open) dialog.close();
      dialog.remove();
    });
  }

  function toast(text, kind) {
    var box = document.getElementById("toasts");
    if (!box || !text) return;
    var item = document.createElement("div");
    item.className = "toast" + (kind === "error" ? " toast--error" : "");
    item.textContent = text;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 5000);
  }

  document.addEventListener("htmx:load", function (event) { openModals(event.target); });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast").forEach(function (item) {
      setTimeout(function () { item.remove(); }, 6000);
    });
  });
  // The server names these events (console/htmx.py); the page carries their names.
  document.body.addEventListener(document.body.dataset.closeModalEvent, function () {
    setTimeout(closeModals, 0);
  });
  document.body.addEventListener(document.body.dataset.toastEvent, function (event) {
    toast(event.detail && event.detail.value);
  });
  document.body.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    toast(status === 403 ? "You don't have permission to do that." :
          status === 404 ? "That no longer exists." : "Something went wrong (" + status + ").", "error");
  });

  // Close-buttons inside modals (links to the page behind, for when script is off).
  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-modal]");
    if (closer && closer.closest("dialog[data-modal]")) {
      event.preventDefault();
      closer.closest("dialog").close();
    }
    // Choosing a menu item, or clicking outside an open menu, closes it.
    var item = event.target.closest(".menu__item");
    if (item && item.closest("details.menu")) item.closest("details.menu").removeAttribute("open");
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.querySelector(copy.dataset.copy);
      if (!source) return;
      var text = source.value || source.textContent;
      var done = function () {
        var label = copy.textContent;
        copy.textContent = "Copied";
        setTimeout(function () { copy.textContent = label; }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done);
      } else {
        source.select && source.select();
        document.execCommand("copy");
        done();
      }
    }
  });

  // Picking a date in a report's filters makes its range a custom one.
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-custom-range]")) {
      var select = event.target.form && event.target.form.querySelector("select[name=range]");
      if (select) select.value = "custom";
    }
  }, true);

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      document.querySelectorAll("details.menu[open]").forEach(function (menu) {
        menu.removeAttribute("open");
        var summary = menu.querySelector("summary");
        if (summary) summary.focus();
      });
    }
  });
})();
