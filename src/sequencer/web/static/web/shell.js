// Small behaviours of the signed-in pages. Everything works without this file except
// the menus and dialogs; there is no inline script, so the page keeps a strict CSP.
"use strict";

(() => {
  // The server shows send times in the viewer's zone: tell it which one this browser is in.
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone) document.cookie = `viewer_tz=${encodeURIComponent(zone)}; path=/; max-age=31536000; SameSite=Lax`;

  // --- Menu buttons (WAI-ARIA "menu button" pattern) -----------------------------------
  const items = (menu) => [...menu.querySelectorAll('[role="menuitem"]:not([disabled])')];

  function openMenu(button, focusLast = false) {
    closeMenus(button);
    const menu = document.getElementById(button.getAttribute("aria-controls"));
    button.setAttribute("aria-expanded", "true");
    menu.hidden = false;
    const list = items(menu);
    if (list.length) list[focusLast ? list.length - 1 : 0].focus();
  }

  function closeMenu(button, returnFocus = false) {
    const menu = document.getElementById(button.getAttribute("aria-controls"));
    button.setAttribute("aria-expanded", "false");
    if (menu) menu.hidden = true;
    if (returnFocus) button.focus();
  }

  function closeMenus(except = null) {
    document.querySelectorAll('[data-menu-button][aria-expanded="true"]').forEach((b) => {
      if (b !== except) closeMenu(b);
    });
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-menu-button]");
    if (button) {
      if (button.getAttribute("aria-expanded") === "true") closeMenu(button);
      else openMenu(button);
      return;
    }
    if (!event.target.closest('[role="menu"]')) closeMenus();
  });

  document.addEventListener("keydown", (event) => {
    const button = event.target.closest("[data-menu-button]");
    if (button && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      openMenu(button, event.key === "ArrowUp");
      return;
    }
    const menu = event.target.closest('[role="menu"]');
    if (!menu) return;
    const owner = document.querySelector(`[aria-controls="${menu.id}"]`);
    const list = items(menu);
    const at = list.indexOf(document.activeElement);
    const moves = {
      ArrowDown: (at + 1) % list.length,
      ArrowUp: (at - 1 + list.length) % list.length,
      Home: 0,
      End: list.length - 1,
    };
    if (event.key in moves) {
      event.preventDefault();
      list[moves[event.key]].focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      closeMenu(owner, true);
    } else if (event.key === "Tab") {
      closeMenu(owner);
    }
  });

  // --- Sidebar on narrow screens, disclosures, dialogs ---------------------------------
  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-sidebar-toggle], [data-disclosure]");
    if (toggle) {
      const target = document.getElementById(toggle.getAttribute("aria-controls"));
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      if (toggle.hasAttribute("data-sidebar-toggle")) target.classList.toggle("open", open);
      else {
        target.hidden = !open;
        if (open) target.querySelector("input, select, textarea, button")?.focus();
      }
    }
    const opener = event.target.closest("[data-dialog-open]");
    if (opener) openDialog(document.getElementById(opener.dataset.dialogOpen), opener);
    const closer = event.target.closest("[data-dialog-close]");
    if (closer) closer.closest("dialog").close();
  });

  // A modal <dialog> keeps focus inside itself (the page behind is inert); when it
  // closes, by a button or Escape, focus goes back to the control that opened it.
  function openDialog(dialog, opener) {
    dialog.addEventListener("close", () => opener.focus(), { once: true });
    dialog.showModal();
  }

  // The page behind a modal dialog is inert, but Tab past its last control would still
  // leave for the browser's own toolbar: wrap around inside the dialog instead.
  const FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";
  document.addEventListener("keydown", (event) => {
    const dialog = event.key === "Tab" && document.querySelector("dialog[open]");
    if (!dialog) return;
    const controls = [...dialog.querySelectorAll(FOCUSABLE)].filter((el) => el.offsetParent !== null);
    if (!controls.length) return;
    const first = controls[0];
    const last = controls[controls.length - 1];
    if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      first.focus();
    }
  });

  // A dialog whose content htmx redrew keeps focus inside it even when the focused
  // control went away (a removed row): the dialog's first control takes it.
  document.addEventListener("htmx:afterSettle", (event) => {
    const dialog = event.target.closest && event.target.closest("dialog[open]");
    if (dialog && !dialog.contains(document.activeElement)) {
      dialog.querySelector("select, input, button")?.focus();
    }
  });

  // --- Notifications: a disclosure whose content loads (and is marked read) on opening ---
  function closeNotifications(returnFocus = false) {
    const button = document.getElementById("notifications-button");
    if (!button || button.getAttribute("aria-expanded") !== "true") return;
    button.setAttribute("aria-expanded", "false");
    document.getElementById("notifications-panel").hidden = true;
    if (returnFocus) button.focus();
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-notifications]");
    if (button) {
      if (button.getAttribute("aria-expanded") === "true") return closeNotifications();
      const panel = document.getElementById(button.getAttribute("aria-controls"));
      button.setAttribute("aria-expanded", "true");
      panel.hidden = false;
      // htmx loads the panel's content on this event (hx-trigger="notificationsopen").
      button.dispatchEvent(new CustomEvent("notificationsopen"));
      panel.focus();
    } else if (!event.target.closest("#notifications-panel")) {
      closeNotifications();
    }
  });

  // Escape closes the open panel wherever focus is: after Accept or Decline the pressed
  // button is gone and focus may not be back in the panel yet.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !document.querySelector("dialog[open]")) {
      closeNotifications(true);
    }
  });

  // After Accept or Decline the pressed button is gone: keep focus in the panel, where
  // the status line says what happened.
  document.addEventListener("htmx:afterSettle", (event) => {
    const panel = document.getElementById("notifications-panel");
    if (panel && !panel.hidden && panel.contains(event.target) && !panel.contains(document.activeElement)) {
      panel.focus();
    }
  });

  // --- Errors go away as soon as the field they describe is edited ---------------------
  document.addEventListener("input", (event) => {
    const field = event.target;
    if (field.getAttribute && field.getAttribute("aria-invalid") === "true") {
      field.removeAttribute("aria-invalid");
      const message = document.getElementById(`${field.id}-error`);
      if (message) message.hidden = true;
    }
    // Threaded replies take the first subject: "RE: <first subject>" (as the server does).
    if (field.matches && field.matches("[data-first-subject]")) {
      const first = field.value.trim();
      const reply = /^re:/i.test(first) ? first : `RE: ${first}`.trimEnd();
      document.querySelectorAll("[data-re-subject]").forEach((el) => {
        if (el.tagName === "INPUT") el.value = reply;
        else el.textContent = reply;
      });
    }
  });

  // --- Search boxes inside a form ------------------------------------------------------
  // Enter in a search box (the Share dialog's) searches at once (htmx) instead of
  // submitting the form around it with whatever happened to be chosen.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.matches && event.target.matches("[data-search-box]")) {
      event.preventDefault();
    }
  });
})();
