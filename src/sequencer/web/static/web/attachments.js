// The composer's files. "Attach file" uploads a file and lists it under the body;
// "Insert image" uploads an image and shows it in the body (composer.js stores it as
// <img src="cid:…">). The list is made of steps-<i>-attachment_ids inputs, so the
// autosave stores it with the draft like any other field.
const form = document.getElementById("draft");
const MB = 1024 * 1024;

const parts = (button) => {
  const step = button.closest("article");
  return {
    box: step.querySelector("[data-composer]"),
    block: step.querySelector("[data-attachments]"),
    textarea: step.querySelector("[data-composer] textarea"),
    attach: step.querySelector("[data-attach-file]"),
  };
};

function say(block, error, status = "") {
  const problem = block.querySelector(".field-error");
  problem.textContent = error;
  problem.hidden = !error;
  block.querySelector("[data-files-status]").textContent = status;
}

function saveDraft() {
  form.dispatchEvent(new Event("change", { bubbles: true }));
}

// A file input of its own, outside the form: choosing a file must not trigger an autosave.
function choose(accept, then) {
  const input = Object.assign(document.createElement("input"), { type: "file", accept, hidden: true });
  input.addEventListener("change", () => {
    if (input.files[0]) then(input.files[0]);
    input.remove();
  });
  document.body.append(input);
  input.click();
}

async function upload(button, file, inline) {
  const { block, textarea } = parts(button);
  const max = Number(block.dataset.maxFileBytes);
  // The server refuses it in the same words; saying so first spares a long upload.
  if (file.size > max) {
    say(block, `The file is ${(file.size / MB).toFixed(1)} MB; each file may be at most ${max / MB} MB. Share larger files as a link instead.`);
    return null;
  }
  const data = new FormData();
  data.append("file", file);
  if (inline) data.append("inline", "1");
  for (const input of block.querySelectorAll("input[type=hidden]")) data.append("attachment_ids", input.value);
  data.append("body_html", textarea.value);
  say(block, "", `Uploading ${file.name}…`);
  button.setAttribute("aria-disabled", "true");
  let answer = null;
  try {
    const response = await fetch(block.dataset.uploadUrl, {
      method: "POST",
      body: data,
      headers: { "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value },
      credentials: "same-origin",
    });
    const json = (response.headers.get("content-type") || "").includes("json");
    answer = json ? await response.json() : { error: "The file was not uploaded; reload the page and try again." };
    if (!response.ok && !answer.error) answer = { error: "The file was not uploaded; try again." };
  } catch {
    answer = { error: "The file was not uploaded: the connection failed. Try again." };
  } finally {
    button.removeAttribute("aria-disabled");
  }
  if (answer.error) {
    say(block, answer.error);
    return null;
  }
  return answer;
}

function addRow(block, file) {
  const row = block.querySelector("template[data-attachment-row]").content.firstElementChild.cloneNode(true);
  const link = row.querySelector("a");
  link.href = file.url;
  link.textContent = file.name;
  row.querySelector("[data-size]").textContent = file.size_label;
  Object.assign(row.querySelector("input"), { name: `steps-${block.dataset.step}-attachment_ids`, value: file.id });
  row.querySelector("[data-remove-attachment]").setAttribute("aria-label", `Remove ${file.name}`);
  const list = block.querySelector(".attachment-list");
  list.append(row);
  list.hidden = false;
}

function attach(button) {
  if (button.getAttribute("aria-disabled")) return;
  choose("", async (file) => {
    const answer = await upload(button, file, false);
    if (!answer) return;
    const { block } = parts(button);
    addRow(block, answer);
    say(block, "", `Attached ${answer.name}.`);
    saveDraft();
  });
}

// A template inserted into a step (template_library.js) brings its own files instead.
document.addEventListener("template:inserted", (event) => {
  const { step, template } = event.detail;
  const block = form?.querySelector(`[data-attachments][data-step="${step}"]`);
  if (!block) return;
  const list = block.querySelector(".attachment-list");
  list.replaceChildren();
  list.hidden = true;
  for (const file of template.attachments || []) addRow(block, file);
  saveDraft();
});

function insertImage(button) {
  if (button.getAttribute("aria-disabled")) return;
  choose("image/png,image/jpeg,image/gif,image/webp", async (file) => {
    const answer = await upload(button, file, true);
    if (!answer) return;
    const { box, block, textarea } = parts(button);
    const alt = answer.name.replace(/\.[^.]*$/, "");
    if (box.composerEditor) {
      box.composerEditor.chain().focus().insertContent({ type: "inlineImage", attrs: { cid: answer.content_id, alt } }).run();
    } else {
      // A body edited as HTML: the tag goes in at the caret.
      const tag = `<img src="cid:${answer.content_id}" alt="${alt.replace(/[<>"&]/g, "")}">`;
      textarea.setRangeText(tag, textarea.selectionStart, textarea.selectionEnd, "end");
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    }
    say(block, "", `Inserted ${answer.name} into the body.`);
  });
}

function remove(button) {
  const row = button.closest("li");
  const list = row.parentElement;
  const { attach, block } = parts(button);
  const name = row.querySelector("a").textContent;
  const next = row.nextElementSibling || row.previousElementSibling;
  row.remove();
  list.hidden = !list.children.length;
  (next?.querySelector("[data-remove-attachment]") || attach).focus();
  say(block, "", `Removed ${name}.`);
  saveDraft();
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-attach-file], [data-insert-image], [data-remove-attachment]");
  if (!button || !form?.contains(button)) return;
  if (button.matches("[data-attach-file]")) attach(button);
  else if (button.matches("[data-insert-image]")) insertImage(button);
  else remove(button);
});
