// The editor's form autosaves through htmx; Publish submits the same form normally.
// A publish must not race an autosave of the same draft: it waits for the requests in
// flight, and no autosave starts once the form is being submitted.
"use strict";

(() => {
  const form = document.getElementById("draft");
  if (!form) return;
  let inFlight = 0;
  let submitting = false;
  let waiting = null;

  document.addEventListener("htmx:beforeSend", () => {
    inFlight += 1;
  });
  document.addEventListener("htmx:afterRequest", () => {
    inFlight = Math.max(0, inFlight - 1);
    if (inFlight === 0 && waiting) {
      // The save's answer may have replaced the button that was clicked, so post the
      // form to that button's address directly (submit() fires no second submit event).
      const action = waiting;
      waiting = null;
      submitting = true;
      form.action = action;
      form.submit();
    }
  });

  form.addEventListener("submit", (event) => {
    if (inFlight > 0) {
      event.preventDefault();
      waiting = event.submitter ? event.submitter.formAction : form.action;
      return;
    }
    submitting = true;
  });

  // "+ Meeting booked": the exit criterion is listed, chosen and autosaved in one click.
  for (const add of form.querySelectorAll("[data-add-exit]")) {
    add.addEventListener("click", () => {
      const box = document.getElementById(add.dataset.addExit);
      const row = document.getElementById(add.getAttribute("aria-controls"));
      if (!box || !row) return;
      row.hidden = false;
      box.checked = true;
      box.dispatchEvent(new Event("change", { bubbles: true }));
      add.remove();
      box.focus();
    });
  }

  document.addEventListener("htmx:confirm", (event) => {
    if (submitting) event.preventDefault();
  });
})();
