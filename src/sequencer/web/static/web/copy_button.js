// "Copy" buttons: data-copy names the field whose value goes to the clipboard; the
// status line it describes says whether it worked (no inline script: strict CSP).
"use strict";

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  const status = document.getElementById(button.getAttribute("aria-describedby"));
  try {
    await navigator.clipboard.writeText(field.value);
    if (status) status.textContent = "Copied to the clipboard.";
  } catch {
    // Without clipboard access (an insecure origin), select the text for Ctrl+C instead.
    field.select();
    if (status) status.textContent = "Selected: press Ctrl+C (⌘C on a Mac) to copy.";
  }
});
