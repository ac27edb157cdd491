// The workflow builder's redraws ("Add condition", "Remove", another field or sequence)
// swap the form in place through htmx; focus then goes to the control the server marked
// with autofocus, as it does on a full page load without JavaScript.
"use strict";

document.addEventListener("htmx:afterSettle", () => {
  const marked = document.querySelector("#builder [autofocus]");
  if (marked && document.activeElement !== marked) marked.focus();
});
