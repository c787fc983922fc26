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

  // -- The report's API key picker ----------------------------------------------------------
  // Without script it is a select of the keys (and, past the number listed, a search box).
  // With script the select stays the form's field, hidden, and a combobox stands for it:
  // typing filters the keys by name, hint, workspace or ID (asking the server when the page
  // lists only some), arrows move through them, Enter chooses, Escape closes. Choosing sets
  // the select and fires its change, which submits the filters as before.

  var pickers = 0;
  var refocusPicker = false;

  function keyLabel(key) {
    return key.value ? key.name + " · " + key.hint : "";
  }

  function keysOf(select) {
    return Array.prototype.filter.call(select.options, function (option) { return option.value; })
      .map(function (option) {
        return {
          value: option.value,
          name: option.dataset.name || option.textContent,
          hint: option.dataset.hint || "",
          workspace: option.dataset.workspace || "",
          status: option.dataset.status || ""
        };
      });
  }

  function matches(key, query) {
    if (!query) return true;
    return [key.name, key.hint, key.workspace, key.value].some(function (text) {
      return text.toLowerCase().indexOf(query) !== -1;
    });
  }

  function buildPicker(field) {
    field.setAttribute("data-enhanced", "");
    var select = field.querySelector("select");
    var label = field.querySelector('label[for="' + select.id + '"]');
    var form = select.form;
    var id = "key-picker-" + (++pickers);
    var known = keysOf(select);
    var partial = select.hasAttribute("data-more");
    var everyKey = { value: "", name: "All API keys", hint: "", workspace: "", status: "" };
    var shown = [];
    var active = -1;
    var fetchTimer = null;
    var asked = 0;

    var box = document.createElement("div");
    box.className = "combobox";
    var input = document.createElement("input");
    input.type = "text";
    input.id = id + "-input";
    input.className = "combobox__input";
    input.autocomplete = "off";
    input.spellcheck = false;
    input.placeholder = "All API keys";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id + "-list");
    var list = document.createElement("ul");
    list.id = id + "-list";
    list.className = "combobox__list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "API keys");
    list.hidden = true;
    var empty = document.createElement("div");
    empty.className = "combobox__empty";
    empty.hidden = true;
    var status = document.createElement("div");
    status.className = "sr-only";
    status.setAttribute("role", "status");
    box.appendChild(input);
    box.appendChild(list);
    box.appendChild(empty);
    box.appendChild(status);
    select.insertAdjacentElement("afterend", box);
    select.hidden = true;
    select.tabIndex = -1;
    if (label) label.htmlFor = input.id;
    field.querySelectorAll("[data-key-search]").forEach(function (element) {
      element.hidden = true;
      if (element.tagName === "INPUT") element.disabled = true; // not sent: the picker searches
    });

    function current() {
      var value = select.value;
      return known.filter(function (key) { return key.value === value; })[0] || everyKey;
    }

    function showSelection() {
      input.value = keyLabel(current());
    }

    function setActive(index) {
      var items = list.children;
      if (active >= 0 && items[active]) items[active].classList.remove("is-active");
      active = index;
      if (index >= 0 && items[index]) {
        items[index].classList.add("is-active");
        input.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function render(keys, query) {
      shown = query ? keys : [everyKey].concat(keys);
      list.textContent = "";
      shown.forEach(function (key, index) {
        var item = document.createElement("li");
        item.id = id + "-option-" + index;
        item.className = "combobox__option";
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", key.value === select.value ? "true" : "false");
        var name = document.createElement("span");
        name.className = "combobox__name";
        name.textContent = key.name;
        item.appendChild(name);
        var about = [key.hint, key.workspace, key.status.toLowerCase()].filter(Boolean).join(" · ");
        if (about) {
          var meta = document.createElement("span");
          meta.className = "combobox__meta";
          meta.textContent = about;
          item.appendChild(meta);
        }
        list.appendChild(item);
      });
      active = -1;
      input.removeAttribute("aria-activedescendant");
      var none = query && !keys.length;
      empty.textContent = none ? "No API key matches “" + query + "”." : "";
      empty.hidden = !none;
      list.hidden = none || input.getAttribute("aria-expanded") !== "true";
      status.textContent = none ? empty.textContent :
        query ? keys.length + " key" + (keys.length === 1 ? "" : "s") + " found" : "";
    }

    function open() {
      input.setAttribute("aria-expanded", "true");
      box.classList.add("is-open");
      list.hidden = !shown.length;
    }

    function close() {
      input.setAttribute("aria-expanded", "false");
      box.classList.remove("is-open");
      list.hidden = true;
      empty.hidden = true;
      setActive(-1);
    }

    function workspaceChosen() {
      var workspace = form && form.querySelector("select[name=workspace]");
      return workspace ? workspace.value : "";
    }

    function filter() {
      var query = input.value.trim().toLowerCase();
      render(known.filter(function (key) { return matches(key, query); }), query);
      if (!partial || !query) return;
      // The page lists only some keys: ask for the others that match.
      clearTimeout(fetchTimer);
      fetchTimer = setTimeout(function () {
        var ask = ++asked;
        var params = new URLSearchParams({ q: input.value.trim(), workspace: workspaceChosen() });
        fetch(field.dataset.choicesUrl + "?" + params.toString(), {
          credentials: "same-origin", headers: { Accept: "application/json" }
        }).then(function (response) {
          return response.ok ? response.json() : null;
        }).then(function (found) {
          if (!found || ask !== asked) return;
          var keys = found.keys.map(function (key) {
            return { value: key.id, name: key.name, hint: key.hint, workspace: key.workspace, status: key.status };
          });
          keys.forEach(function (key) {
            if (!known.some(function (other) { return other.value === key.value; })) known.push(key);
          });
          render(keys, input.value.trim().toLowerCase());
        }).catch(function () { /* offline: the keys the page listed still filter */ });
      }, 200);
    }

    function choose(key) {
      close();
      var changed = key.value !== select.value;
      if (key.value && !Array.prototype.some.call(select.options, function (o) { return o.value === key.value; })) {
        select.add(new Option(key.name, key.value));
      }
      select.value = key.value;
      showSelection();
      if (changed) {
        refocusPicker = true;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }

    input.addEventListener("input", function () {
      open();
      filter();
    });
    // The text typed is not a filter value of its own: only choosing one changes the report.
    input.addEventListener("change", function (event) { event.stopPropagation(); });
    input.addEventListener("click", function () {
      if (input.getAttribute("aria-expanded") === "true") return;
      input.select();
      render(known, "");
      open();
    });
    input.addEventListener("keydown", function (event) {
      var expanded = input.getAttribute("aria-expanded") === "true";
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!expanded) {
          if (!shown.length || !input.value || input.value === keyLabel(current())) render(known, "");
          open();
        }
        var count = list.children.length;
        if (!count) return;
        var next = event.key === "ArrowDown" ? active + 1 : active - 1;
        if (event.altKey && event.key === "ArrowDown") next = Math.max(active, 0);
        setActive((next + count) % count);
      } else if (event.key === "Enter") {
        event.preventDefault(); // never submit the whole form from here
        if (expanded && active >= 0) choose(shown[active]);
        else if (expanded && shown.length === 1) choose(shown[0]);
      } else if (event.key === "Escape") {
        if (expanded || input.value !== keyLabel(current())) {
          event.preventDefault();
          event.stopPropagation();
          close();
          showSelection();
        }
      } else if (event.key === "Tab") {
        close();
        showSelection();
      }
    });
    // A click on an option must not take focus from the input before it is chosen.
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
    list.addEventListener("click", function (event) {
      var item = event.target.closest("[role=option]");
      if (item) choose(shown[Array.prototype.indexOf.call(list.children, item)]);
    });
    input.addEventListener("blur", function () {
      close();
      showSelection();
    });

    showSelection();
    render(known, "");
    if (refocusPicker) {
      refocusPicker = false;
      input.focus();
    }
  }

  function enhanceKeyPickers(root) {
    var scope = root && root.querySelectorAll ? root : document;
    scope.querySelectorAll("[data-key-picker]:not([data-enhanced])").forEach(buildPicker);
  }

  // Another workspace has other keys: choosing it clears the key before the filters go.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.matches || !target.matches("select[name=workspace]") || !target.form) return;
    var key = target.form.querySelector("[data-key-picker] select[name=key]");
    if (key) key.value = "";
  }, true);

  enhanceKeyPickers(document);
  document.addEventListener("htmx:load", function (event) { enhanceKeyPickers(event.target); });
})();
