// The record pages' small behaviours: "select all" and the count in the selection bar,
// and adding or removing address rows in the person form. Delegated from the document,
// so rows htmx swaps in work too. Without this file the bar still shows (CSS) and the
// form still takes the rows it has.
"use strict";

(() => {
  const boxes = (form) => [...form.querySelectorAll('.pick input[name]')];

  function refresh(form) {
    const all = boxes(form);
    const ticked = all.filter((box) => box.checked).length;
    const count = form.querySelector("[data-selection-count]");
    if (count) count.textContent = `${ticked} selected`;
    const master = form.querySelector("[data-select-all]");
    if (master) {
      master.checked = ticked > 0 && ticked === all.length;
      master.indeterminate = ticked > 0 && ticked < all.length;
    }
  }

  document.addEventListener("change", (event) => {
    const form = event.target.closest && event.target.closest(".selection-form");
    if (!form) return;
    if (event.target.matches("[data-select-all]")) {
      boxes(form).forEach((box) => { box.checked = event.target.checked; });
    }
    refresh(form);
  });

  document.addEventListener("click", (event) => {
    const clear = event.target.closest("[data-selection-clear]");
    if (clear) {
      const form = clear.closest(".selection-form");
      boxes(form).forEach((box) => { box.checked = false; });
      refresh(form);
      form.querySelector("[data-select-all]")?.focus();
    }

    const add = event.target.closest("[data-email-add]");
    if (add) {
      const rows = add.closest("[data-email-rows]");
      const last = [...rows.querySelectorAll("[data-email-row]")].pop();
      const row = last.cloneNode(true);
      const index = rows.querySelectorAll("[data-email-row]").length;
      row.querySelector(".field-error")?.remove();
      row.querySelector(".badge")?.remove();
      const input = row.querySelector('input[type="email"]');
      input.value = "";
      input.id = `email-${index}`;
      input.removeAttribute("aria-invalid");
      input.setAttribute("aria-describedby", "emails-hint");
      row.querySelector('label[for^="email-"]').htmlFor = input.id;
      row.querySelector('label[for^="email-"]').textContent = `Email address ${index + 1}`;
      const radio = row.querySelector('input[type="radio"]');
      radio.id = `primary-${index}`;
      radio.value = String(index);
      radio.checked = false;
      const radioLabel = row.querySelector('label[for^="primary-"]');
      radioLabel.htmlFor = radio.id;
      radioLabel.querySelector(".visually-hidden").textContent = ` (address ${index + 1})`;
      row.querySelector("[data-email-remove]").setAttribute("aria-label", `Remove address ${index + 1}`);
      row.hidden = false;
      last.after(row);
      input.focus();
    }

    // A removed row is emptied and hidden rather than deleted, so the "primary" radio
    // values keep pointing at the right rows; the server ignores empty rows.
    const remove = event.target.closest("[data-email-remove]");
    if (remove) {
      const row = remove.closest("[data-email-row]");
      const rows = row.closest("[data-email-rows]");
      row.querySelector('input[type="email"]').value = "";
      const radio = row.querySelector('input[type="radio"]');
      const wasPrimary = radio.checked;
      radio.checked = false;
      row.hidden = true;
      const visible = [...rows.querySelectorAll("[data-email-row]:not([hidden])")];
      if (wasPrimary && visible.length) visible[0].querySelector('input[type="radio"]').checked = true;
      (visible[0]?.querySelector('input[type="email"]') || rows.querySelector("[data-email-add]")).focus();
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(".selection-form").forEach(refresh);
  });
  document.addEventListener("htmx:afterSettle", () => {
    document.querySelectorAll(".selection-form").forEach(refresh);
  });
})();
