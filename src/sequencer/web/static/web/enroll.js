// The Enroll dialog, opened through htmx from an "Enroll recipients" button: the server
// answers with a <dialog>, shown here as a modal. Focus stays inside it (shell.js wraps
// Tab around) and goes back to the button when it closes. After an enrollment, closing
// it reloads the page so the new recipients show.
"use strict";

(() => {
  let opener = null;

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-enroll-open]");
    if (button) opener = button;
  });

  document.addEventListener("htmx:afterSettle", (event) => {
    const host = event.target;
    if (host.id === "enroll-host") {
      const dialog = host.querySelector("dialog");
      if (!dialog || dialog.open) return;
      const back = opener;
      dialog.addEventListener("close", () => {
        const enrolled = dialog.querySelector("[data-enrolled]");
        dialog.remove();
        if (enrolled) window.location.reload();
        else if (back) back.focus();
      }, { once: true });
      dialog.showModal();
      return;
    }
    // After a preview or an enrollment, focus goes to what appeared (its heading), so a
    // keyboard or screen reader user lands on it; other redraws keep focus where it was.
    const trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (trigger && (trigger.name === "preview" || trigger.id === "enroll-confirm")) {
      const wanted = document.querySelector("#enroll-body [data-focus]");
      if (wanted) wanted.focus();
    }
    // The Recipients tab: a recipient opened from the table, or an action on them (whose
    // button is gone once done), puts focus on their detail, where the outcome is shown.
    if (host.id === "recipients-tab" && trigger && (trigger.hasAttribute("data-recipient-link") || trigger.closest(".recipient-actions"))) {
      const title = document.getElementById("recipient-detail-title");
      if (title && !document.querySelector("dialog[open]")) title.focus();
    }
  });
})();
