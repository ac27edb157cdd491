// The template library from each step's composer toolbar.
// Insert template: a dialog searches the library; the chosen template fills the step's
// subject (unless it is a threaded reply's), body and files, then the draft autosaves
// as after any edit. Save as template: a dialog asks for a name and saves the step.
"use strict";

(() => {
  const form = document.getElementById("draft");
  const picker = document.getElementById("template-picker");
  const saver = document.getElementById("template-save");
  if (!form || !picker || !saver) return;

  let step = 0; // the step whose button opened a dialog
  let opener = null;

  function openDialog(dialog, button) {
    opener = button;
    step = Number(button.dataset.templateInsert ?? button.dataset.templateSave);
    dialog.showModal();
  }
  for (const dialog of [picker, saver]) {
    // Focus goes back to the button that opened the dialog, however it was closed.
    dialog.addEventListener("close", () => opener?.isConnected && opener.focus());
  }
  document.addEventListener("click", (event) => {
    const insert = event.target.closest("[data-template-insert]");
    if (insert) openPicker(insert);
    const save = event.target.closest("[data-template-save]");
    if (save) openSaver(save);
  });

  const field = (name) => form.elements.namedItem(`steps-${step}-${name}`);
  const emailLabel = () => `email ${step + 1}`;

  // --- Insert template -----------------------------------------------------------------

  const search = picker.querySelector("#template-search");
  const results = picker.querySelector("#template-results");
  const choose = picker.querySelector("[data-choose]");
  const confirm = picker.querySelector("[data-confirm]");
  const question = picker.querySelector("#template-replace-question");
  const replace = picker.querySelector("[data-replace]");
  const back = picker.querySelector("[data-back]");
  const pickerProblem = picker.querySelector("[data-problem]");
  let active = 0;
  let asked = 0; // answers to an older search are dropped
  let chosen = null;
  let timer = null;
  // Enter right after typing waits for the list of what was typed, not the one before.
  let pending = Promise.resolve();

  const options = () => [...results.querySelectorAll("[role=option]")];

  function mark() {
    const all = options();
    active = Math.min(Math.max(active, 0), Math.max(all.length - 1, 0));
    all.forEach((option, i) => option.setAttribute("aria-selected", String(i === active)));
    if (all.length) {
      search.setAttribute("aria-controls", "template-options");
      search.setAttribute("aria-expanded", "true");
      search.setAttribute("aria-activedescendant", all[active].id);
      all[active].scrollIntoView({ block: "nearest" });
    } else {
      search.removeAttribute("aria-controls");
      search.setAttribute("aria-expanded", "false");
      search.removeAttribute("aria-activedescendant");
    }
  }

  async function load() {
    const ask = ++asked;
    const url = `${picker.dataset.optionsUrl}?q=${encodeURIComponent(search.value)}`;
    const response = await fetch(url, { headers: { Accept: "text/html" } }).catch(() => null);
    if (ask !== asked) return;
    if (!response?.ok) return showProblem(pickerProblem, "The templates could not be loaded; try again.");
    results.innerHTML = await response.text();
    active = 0;
    mark();
  }

  function showProblem(where, message) {
    where.textContent = message;
    where.hidden = !message;
  }

  function showList() {
    chosen = null;
    choose.hidden = false;
    confirm.hidden = true;
    replace.hidden = true;
    back.hidden = true;
    search.focus();
  }

  function openPicker(button) {
    search.value = "";
    results.replaceChildren();
    showProblem(pickerProblem, "");
    openDialog(picker, button);
    showList();
    pending = load();
  }

  search.addEventListener("input", () => {
    clearTimeout(timer);
    pending = new Promise((resolve) => {
      timer = setTimeout(() => load().finally(resolve), 200);
    });
  });
  search.addEventListener("keydown", (event) => {
    const count = options().length;
    if ((event.key === "ArrowDown" || event.key === "ArrowUp") && count) {
      event.preventDefault();
      active = (active + (event.key === "ArrowDown" ? 1 : -1) + count) % count;
      mark();
    } else if (event.key === "Enter") {
      event.preventDefault();
      const typed = search.value;
      pending.then(() => {
        const option = options()[active];
        if (option && search.value === typed) pick(option);
      });
    }
  });
  results.addEventListener("click", (event) => {
    const option = event.target.closest("[role=option]");
    if (option) pick(option);
  });

  function bodyIsEmpty() {
    const body = field("body_html");
    const text = body.value.replace(/<[^>]*>/g, "").trim();
    return !text && !/<img/i.test(body.value);
  }

  async function pick(option) {
    showProblem(pickerProblem, "");
    const url = picker.dataset.contentUrl.replace(/\/0\/$/, `/${option.dataset.templateId}/`);
    const response = await fetch(url, { headers: { Accept: "application/json" } }).catch(() => null);
    if (!response?.ok) return showProblem(pickerProblem, "This template could not be loaded; it may have been deleted.");
    chosen = await response.json();
    if (bodyIsEmpty()) return fill(chosen);
    question.textContent = `Replace the body of ${emailLabel()} with the template “${chosen.name}”?`;
    choose.hidden = true;
    confirm.hidden = false;
    replace.hidden = false;
    back.hidden = false;
    replace.focus();
  }
  replace.addEventListener("click", () => chosen && fill(chosen));
  back.addEventListener("click", showList);

  function fill(template) {
    // A threaded reply is sent with the first email's subject: its own is left alone.
    const subject = form.querySelector(`input[type=text][name="steps-${step}-subject"]`);
    if (subject) subject.value = template.subject;
    const body = field("body_html");
    const handled = !body.dispatchEvent(
      new CustomEvent("composer:replace", { detail: { html: template.body_html }, cancelable: true }),
    );
    if (!handled) body.value = template.body_html; // no formatting editor on this body
    // The step's attachment list (attachments.js) is redrawn from template:inserted below.
    picker.close();
    // The same event as typing: the draft autosaves as after any edit.
    body.dispatchEvent(new Event("input", { bubbles: true }));
    document.dispatchEvent(new CustomEvent("template:inserted", { detail: { step, template } }));
  }

  // --- Save as template ----------------------------------------------------------------

  const slot = saver.querySelector("[data-save-slot]");
  const blank = saver.querySelector("#template-save-form");
  const saved = saver.querySelector("[data-saved]");
  const done = saver.querySelector("[data-done]");
  let saveForm, name, nameError, saveProblem;
  saver.addEventListener("close", () => slot.replaceChildren());

  function setNameError(message) {
    showProblem(nameError, message);
    if (message) {
      name.setAttribute("aria-invalid", "true");
      name.setAttribute("aria-describedby", "template-save-hint template-name-error");
    } else {
      name.removeAttribute("aria-invalid");
      name.setAttribute("aria-describedby", "template-save-hint");
    }
  }

  function openSaver(button) {
    slot.replaceChildren(blank.content.cloneNode(true));
    saveForm = slot.querySelector("[data-save-form]");
    name = saveForm.querySelector("#template-name");
    nameError = saveForm.querySelector("#template-name-error");
    saveProblem = saveForm.querySelector("[data-problem]");
    saveForm.addEventListener("submit", submitSaver);
    openDialog(saver, button);
    // The subject as the step is sent: a threaded reply's is the "RE:" one shown.
    const shown = document.getElementById(`steps-${step}-subject`) || document.getElementById(`steps-${step}-subject-shown`);
    name.value = shown ? shown.value.trim() : "";
    saveForm.querySelector("#template-save-hint").textContent = `Saves the subject, body and attachments of ${emailLabel()} to the template library, for everyone in the workspace.`;
    setNameError("");
    showProblem(saveProblem, "");
    saved.textContent = "";
    done.hidden = true;
    name.focus();
    name.select();
  }

  async function submitSaver(event) {
    event.preventDefault();
    const data = new FormData(form);
    data.set("template_name", name.value);
    const url = saver.dataset.url.replace(/\/steps\/0\//, `/steps/${step}/`);
    const submit = saveForm.querySelector("[type=submit]");
    submit.disabled = true;
    let answer;
    try {
      const response = await fetch(url, { method: "POST", body: data, headers: { Accept: "application/json" } });
      answer = await response.json().catch(() => ({ message: "The template could not be saved; try again." }));
      if (!response.ok && !answer.message) answer.message = "The template could not be saved; try again.";
      answer.ok = response.ok;
    } catch {
      answer = { ok: false, message: "The template could not be saved: the server could not be reached." };
    } finally {
      submit.disabled = false;
    }
    if (!answer.ok) {
      setNameError(answer.field === "template_name" ? answer.message : "");
      showProblem(saveProblem, answer.field === "template_name" ? "" : answer.message);
      name.focus();
      return;
    }
    slot.replaceChildren();
    done.hidden = false;
    saved.textContent = answer.message;
    done.querySelector("button").focus();
  }
})();
