// Console's small script: modals, toasts, menus, copy buttons, the theme switch and phone
// layout helpers. Everything works without it on a full page load; it only makes the htmx
// flows feel like an application.
(function () {
  "use strict";

  var root = document.documentElement;
  var narrow = window.matchMedia("(max-width: 760px)");

  // Rendered and not inside a closed <details> (whose content still has boxes in Chrome).
  function visible(element) {
    var closed = element.closest("details:not([open])");
    if (closed && !closed.querySelector(":scope > summary").contains(element)) return false;
    return element.checkVisibility ? element.checkVisibility() : element.getClientRects().length > 0;
  }

  // The browser's time zone, for the server to show times in until the user picks one.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && /^[A-Za-z0-9_+\-\/]+$/.test(zone) && document.cookie.split("; ").indexOf("console_tz=" + zone) === -1) {
      document.cookie = "console_tz=" + zone + "; path=/; max-age=31536000; samesite=lax" +
        (location.protocol === "https:" ? "; secure" : "");
    }
  } catch (error) { /* no Intl time zone support: the server's zone applies */ }

  // Focus goes back where it was when a modal closes: to the control that opened it, or,
  // when that was an item of a menu (now closed), to the menu's button. If the list it was
  // in is re-rendered meanwhile, the control with the same address is found again.
  var opener = null;

  function rememberOpener(element) {
    var menu = element.closest("details.menu");
    opener = {
      element: element,
      href: element.getAttribute("href") || element.getAttribute("hx-get"),
      summary: menu ? menu.querySelector(":scope > summary") : null,
      until: Date.now() + 3000
    };
  }

  function focusTarget() {
    if (!opener) return null;
    if (opener.element.isConnected && visible(opener.element)) return opener.element;
    if (opener.summary && opener.summary.isConnected) return opener.summary;
    if (opener.href) {
      var again = Array.prototype.find.call(
        document.querySelectorAll("[href], [hx-get]"),
        function (candidate) {
          return (candidate.getAttribute("href") || candidate.getAttribute("hx-get")) === opener.href;
        }
      );
      if (again) {
        var menu = again.closest("details.menu");
        return visible(again) ? again : menu ? menu.querySelector(":scope > summary") : null;
      }
    }
    return null;
  }

  function restoreFocus() {
    var target = focusTarget();
    if (target) target.focus();
  }

  function openModals(container) {
    container = container || document;
    var dialogs = Array.prototype.slice.call(container.querySelectorAll("dialog[data-modal]"));
    if (container.matches && container.matches("dialog[data-modal]")) dialogs.push(container);
    dialogs.forEach(function (dialog) {
      if (!dialog.open) {
        dialog.showModal();
        var first = dialog.querySelector("[autofocus], input:not([type=hidden]), select, button.btn");
        if (first) first.focus();
      }
      if (!dialog.dataset.bound) {
        dialog.dataset.bound = "1";
        // Esc asks to cancel: a dialog showing a secret refuses until it is marked copied.
        dialog.addEventListener("cancel", function (event) {
          if (!mayClose(dialog)) event.preventDefault();
        });
        dialog.addEventListener("close", function () {
          // The browser closes a dialog on a second Esc whatever the page says: open it
          // again until the secret is marked copied.
          if (!mayClose(dialog)) {
            dialog.showModal();
            return;
          }
          dialog.remove();
          restoreFocus();
        });
      }
    });
  }

  // A dialog showing a new key's secret closes only once "I have copied it" is ticked;
  // until then closing it says why and goes to the box.
  function mayClose(dialog) {
    var box = dialog.querySelector("[data-secret-copied]");
    if (!box || box.checked || dialog.dataset.forceClose) return true;
    var why = dialog.querySelector("[data-secret-unconfirmed]");
    if (why) {
      why.hidden = false;
      box.setAttribute("aria-describedby", why.id);
    }
    box.focus();
    return false;
  }

  function closeModals() {
    document.querySelectorAll("dialog[data-modal]").forEach(function (dialog) {
      dialog.dataset.forceClose = "1";
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

  // Phone width: list tables become stacked cards, each cell labelled with its column.
  function labelTables() {
    document.querySelectorAll(".table-wrap > table").forEach(function (table) {
      if (table.closest(".data-table")) return;
      var heads = Array.prototype.map.call(
        table.querySelectorAll(":scope > thead > tr > th"),
        function (th) {
          // What the header says, without its decorations (a sort arrow).
          var text = th.cloneNode(true);
          text.querySelectorAll("[aria-hidden=true]").forEach(function (hidden) { hidden.remove(); });
          return text.textContent.trim();
        }
      );
      table.setAttribute("data-stack", "");
      table.querySelectorAll(":scope > tbody > tr").forEach(function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.children, function (cell) {
          if (cell.tagName === "TD" && !cell.hasAttribute("data-label")) {
            cell.setAttribute("data-label", cell.colSpan > 1 ? "" : heads[column] || "");
          }
          column += cell.colSpan || 1;
        });
      });
    });
  }

  // A box that scrolls sideways (a wide chart or number table on a phone) must be reachable
  // by keyboard, so it takes focus, named after its caption, while it overflows.
  function markScrollables() {
    document.querySelectorAll(".table-wrap, .chart").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      var marked = box.hasAttribute("data-scrolls");
      if (scrolls && !marked && !box.hasAttribute("tabindex")) {
        var caption = box.querySelector("caption, figcaption");
        box.setAttribute("data-scrolls", "");
        box.tabIndex = 0;
        if (box.tagName === "DIV") {
          box.setAttribute("role", "region");
          box.setAttribute("aria-label", caption ? caption.textContent.trim() : "Table");
        }
      } else if (!scrolls && marked) {
        ["data-scrolls", "tabindex", "role", "aria-label"].forEach(function (name) { box.removeAttribute(name); });
      }
    });
  }

  function showCurrentSection() {
    var current = document.querySelector(".sidebar nav [aria-current=page]");
    if (!current) return;
    var nav = current.parentElement;
    if (nav.scrollWidth <= nav.clientWidth) return;
    var offset = current.getBoundingClientRect().left - nav.getBoundingClientRect().left;
    nav.scrollLeft += offset - (nav.clientWidth - current.offsetWidth) / 2;
  }

  // Without script a control that opens a dialog is a link to a page showing it; with
  // script it opens the dialog in place, so it says so to assistive technology.
  function markDialogOpeners(container) {
    container = container || document;
    var openers = Array.prototype.slice.call(container.querySelectorAll('[hx-target="#modal"]'));
    if (container.matches && container.matches('[hx-target="#modal"]')) openers.push(container);
    openers.forEach(function (opener) { opener.setAttribute("aria-haspopup", "dialog"); });
  }

  function layout() {
    labelTables();
    markScrollables();
  }

  var layoutPending = false;
  function layoutSoon() {
    if (layoutPending) return;
    layoutPending = true;
    requestAnimationFrame(function () { layoutPending = false; layout(); });
  }

  function applyTheme(theme) {
    root.setAttribute("data-theme", theme);
    var scheme = document.querySelector('meta[name="color-scheme"]');
    if (scheme) scheme.content = theme === "light" || theme === "dark" ? theme : "light dark";
    document.querySelectorAll(".theme-switch button[name=theme]").forEach(function (button) {
      button.setAttribute("aria-pressed", button.value === theme ? "true" : "false");
    });
  }

  markDialogOpeners();
  layout();
  showCurrentSection();
  window.addEventListener("resize", layoutSoon);
  narrow.addEventListener("change", function () { layoutSoon(); showCurrentSection(); });
  document.addEventListener("toggle", layoutSoon, true);

  document.addEventListener("htmx:load", function (event) {
    markDialogOpeners(event.target);
    openModals(event.target);
  });
  document.addEventListener("htmx:afterSettle", function () {
    layoutSoon();
    // The list the modal was opened from was re-rendered after it closed: focus follows.
    if (opener && Date.now() < opener.until && (!document.activeElement || document.activeElement === document.body)) {
      restoreFocus();
    }
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    var elt = event.detail.elt;
    if (target && target.id === "modal" && !elt.closest("dialog")) rememberOpener(elt);
    if (elt.tagName === "FORM") elt.setAttribute("aria-busy", "true");
  });
  // A list's filters (forms marked data-compact-query) leave out what is empty, so the
  // address they push says only what was chosen (?archived=1, not ?q=&archived=1&sort=).
  document.addEventListener("htmx:configRequest", function (event) {
    var data = event.detail.formData;
    var elt = event.detail.elt;
    if (event.detail.verb !== "get" || !data || !elt.closest || !elt.closest("form[data-compact-query]")) return;
    var empty = [];
    data.forEach(function (value, name) { if (value === "") empty.push(name); });
    empty.forEach(function (name) { data.delete(name); });
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.tagName === "FORM") elt.removeAttribute("aria-busy");
  });
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
  document.body.addEventListener(document.body.dataset.themeEvent, function (event) {
    if (event.detail && event.detail.theme) applyTheme(event.detail.theme);
  });
  document.body.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var status = xhr.status;
    var plain = (xhr.getResponseHeader("Content-Type") || "").indexOf("text/plain") === 0;
    toast(plain && xhr.responseText ? xhr.responseText :
          status === 403 ? "You don't have permission to do that." :
          status === 404 ? "That no longer exists." : "Something went wrong (" + status + ").", "error");
  });

  // Close-buttons inside modals (links to the page behind, for when script is off).
  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-modal]");
    if (closer && closer.closest("dialog[data-modal]")) {
      event.preventDefault();
      if (mayClose(closer.closest("dialog"))) closer.closest("dialog").close();
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

  // The workspace switcher's search: filters its list as one types; Enter opens the first
  // workspace shown (or, when none is, searches Settings > Workspaces).
  function filterSwitcher(input) {
    var panel = input.closest(".menu__panel");
    var query = input.value.trim().toLowerCase();
    var shown = 0;
    panel.querySelectorAll("[data-switcher-list] a.menu__item").forEach(function (item) {
      var match = !query || item.dataset.name.indexOf(query) !== -1;
      item.hidden = !match;
      if (match) shown += 1;
    });
    var none = panel.querySelector("[data-switcher-none]");
    if (none) none.hidden = shown > 0;
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-switcher-search]")) filterSwitcher(event.target);
  });
  document.addEventListener("submit", function (event) {
    var input = event.target.querySelector && event.target.querySelector("[data-switcher-search]");
    if (!input) return;
    var first = Array.prototype.find.call(
      input.closest(".menu__panel").querySelectorAll("[data-switcher-list] a.menu__item"),
      function (item) { return !item.hidden; }
    );
    if (first && input.value.trim()) {
      event.preventDefault();
      first.click();
    }
  });
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("details.menu")) return;
    var input = menu.querySelector("[data-switcher-search]");
    if (!input) return;
    if (menu.open) {
      // Straight to the search, except on touch screens, where it would raise the keyboard.
      // The toggle event comes a task after the menu opens: by then the arrow keys may
      // already have moved into the panel, and that focus is the user's, so it stays.
      var panel = menu.querySelector(".menu__panel");
      var alreadyInside = panel && panel.contains(document.activeElement);
      if (!alreadyInside && window.matchMedia("(pointer: fine)").matches) input.focus();
    } else if (input.value) {
      input.value = "";
      filterSwitcher(input);
    }
  }, true);

  // Menus: arrow keys (and Home, End) move through the items; from the menu's button they
  // open it on the first or the last item. Escape closes it, back on its button.
  function menuItems(menu) {
    return Array.prototype.filter.call(
      menu.querySelectorAll(".menu__panel .menu__item, .menu__panel input:not([type=hidden])"),
      function (item) { return !item.disabled && visible(item); }
    );
  }

  function moveInMenu(event) {
    var menu = event.target.closest && event.target.closest("details.menu");
    if (!menu) return;
    var key = event.key;
    var typing = event.target.matches("input:not([type=hidden]), textarea");
    if (typing && (key === "Home" || key === "End")) return;
    var summary = menu.querySelector(":scope > summary");
    var onButton = event.target === summary;
    var next;
    if (onButton && (key === "ArrowDown" || key === "ArrowUp")) {
      menu.open = true;
      var opened = menuItems(menu);
      next = key === "ArrowDown" ? opened[0] : opened[opened.length - 1];
    } else if (!onButton && menu.open) {
      var items = menuItems(menu);
      var index = items.indexOf(event.target);
      if (key === "ArrowDown") next = items[(index + 1) % items.length];
      else if (key === "ArrowUp") next = items[(index - 1 + items.length) % items.length];
      else if (key === "Home") next = items[0];
      else if (key === "End") next = items[items.length - 1];
    }
    if (next) {
      event.preventDefault();
      next.focus();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      document.querySelectorAll("details.menu[open]").forEach(function (menu) {
        menu.removeAttribute("open");
        var summary = menu.querySelector("summary");
        if (summary) summary.focus();
      });
      return;
    }
    if (["ArrowDown", "ArrowUp", "Home", "End"].indexOf(event.key) !== -1) moveInMenu(event);
  });
})();
