// The composer: each step's body textarea becomes a Tiptap editor (django-prose-editor's
// bundle) with bold, italic, links, lists and variable chips. The textarea stays the
// form field: it keeps the stored HTML + Liquid, and is only rewritten after an edit,
// so a body opened and saved unchanged stays byte for byte what it was.
const script = document.querySelector("script[data-prose-editor]");
const P = await import(script.dataset.proseEditor);

const catalog = JSON.parse(document.getElementById("variables-data")?.textContent || "[]");
// Each variable shows the group it belongs to, as the picker's second column.
const GROUPS = { person: "Person", company: "Company", sender: "Sender" };
const labelOf = (path) => catalog.find((v) => v.path === path)?.label || path;

// The Liquid a chip stands for: a plain variable, with an optional string fallback.
const CHIP = /\{\{-?\s*((?:person|company|sender)\.[A-Za-z_\u0080-\uFFFF][\w\u0080-\uFFFF-]*)\s*(?:\|\s*default:\s*(?:"([^"{}]*)"|'([^'{}]*)')\s*)?-?\}\}/g;

function liquid(path, fallback) {
  if (fallback === null || fallback === undefined) return `{{ ${path} }}`;
  const text = fallback.replace(/[{}]/g, "");
  const quote = text.includes('"') ? "'" : '"';
  return `{{ ${path} | default: ${quote}${quote === "'" ? text.replaceAll("'", "") : text}${quote} }}`;
}

// The Liquid an AI chip stands for (templating.py's AiTag): {% ai %}prompt{% endai %}, with
// an optional fallback: "text". The prompt is kept as written, its variables included:
// they are part of the prompt, never chips of their own. A tag ends at its first "%}".
const AI = /\{%-?\s*ai(?:\s+fallback:\s*(?:"((?:[^"%]|%(?!\}))*)"|'((?:[^'%]|%(?!\}))*)'))?\s*-?%\}((?:(?!\{%-?\s*(?:end)?ai\b)[\s\S])*?)\{%-?\s*endai\s*-?%\}/;
// One pass finds both kinds, so a variable inside an AI prompt stays in the prompt.
const LIQUID = new RegExp(`${AI.source}|${CHIP.source}`, "g");
const NESTED_AI = /\{%-?\s*(?:end)?ai\b/;

// Liquid strings have no escapes (python-liquid refuses "it\"s"): a fallback is quoted
// with the quote it does not hold, and one holding both has its apostrophes made ’.
function aiFallbackText(text) {
  const t = text.trim().replaceAll("%}", "% }");
  return t.includes('"') ? t.replaceAll("'", "\u2019") : t;
}
function aiLiquid(prompt, fallback) {
  if (!fallback) return `{% ai %}${prompt}{% endai %}`;
  const quote = fallback.includes('"') ? "'" : '"';
  return `{% ai fallback: ${quote}${fallback}${quote} %}${prompt}{% endai %}`;
}
// The chip's short label: the prompt's first words, its variables by their names.
function aiLabel(prompt) {
  const text = prompt
    .replace(CHIP, (_, path) => `[${labelOf(path)}]`)
    .replace(/\s+/g, " ")
    .trim();
  if (!text) return "AI: no prompt yet";
  if (text.length <= 32) return `AI: ${text}`;
  const cut = text.slice(0, 32);
  const space = cut.lastIndexOf(" ");
  return `AI: ${(space > 16 ? cut.slice(0, space) : cut).replace(/[\s,.;:]+$/, "")}…`;
}
// Variables of a prompt that the workspace does not have (publishing refuses them).
const unknownIn = (prompt) =>
  catalog.length ? [...new Set([...prompt.matchAll(CHIP)].map((m) => m[1]))].filter((p) => !catalog.some((v) => v.path === p)) : [];
// The sparkle of the toolbar's AI button, reused in every AI chip.
const sparkle = () => document.querySelector("[data-insert-ai] svg")?.cloneNode(true);

// Only what the editor's schema holds exactly; anything else is edited as HTML.
const INLINE = new Set(["STRONG", "B", "EM", "I", "A", "BR", "IMG"]);
const BLOCK = new Set(["P", "UL", "OL"]);
function representable(root, top = true) {
  for (const node of root.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      if (top && node.data.trim()) return false;
      continue;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) return false;
    const tag = node.tagName;
    const allowed = top ? BLOCK.has(tag) : INLINE.has(tag) || tag === "LI" || BLOCK.has(tag);
    if (!allowed) return false;
    for (const attr of node.attributes) {
      const ok = (tag === "A" && (attr.name === "href" || attr.name === "rel")) || imageAttribute(tag, attr);
      if (!ok) return false;
    }
    if (tag === "A" && !/^(https?:|mailto:)/i.test(node.getAttribute("href") || "")) return false;
    if (!representable(node, false)) return false;
  }
  return true;
}

// Stored HTML to the editor's: every chip-shaped Liquid output becomes a chip element.
function toEditor(html) {
  const template = document.createElement("template");
  template.innerHTML = html;
  if (!representable(template.content)) return null;
  const walker = document.createTreeWalker(template.content, NodeFilter.SHOW_TEXT);
  const texts = [];
  while (walker.nextNode()) texts.push(walker.currentNode);
  for (const text of texts) {
    const parts = [];
    let done = 0;
    for (const match of text.data.matchAll(LIQUID)) {
      parts.push(text.data.slice(done, match.index));
      const chip = document.createElement("span");
      if (match[3] !== undefined) {
        chip.dataset.ai = "";
        chip.dataset.prompt = match[3];
        const fallback = match[1] ?? match[2];
        if (fallback !== undefined) chip.dataset.fallback = fallback;
      } else {
        chip.dataset.variable = match[4];
        const fallback = match[5] ?? match[6];
        if (fallback !== undefined) chip.dataset.fallback = fallback;
      }
      chip.dataset.source = match[0];
      parts.push(chip);
      done = match.index + match[0].length;
    }
    if (!done) continue;
    parts.push(text.data.slice(done));
    text.replaceWith(...parts.filter((p) => p !== ""));
  }
  return template.innerHTML;
}

// The editor's HTML to what is stored: each chip becomes its Liquid, as text.
function fromEditor(html) {
  if (html === "<p></p>") return "";
  const template = document.createElement("template");
  template.innerHTML = html;
  for (const span of template.content.querySelectorAll("span[data-liquid]")) {
    span.replaceWith(span.textContent);
  }
  return template.innerHTML;
}

const Variable = P.Node.create({
  name: "variable",
  group: "inline",
  inline: true,
  atom: true,
  selectable: true,
  addAttributes() {
    return { path: { default: null }, fallback: { default: null }, source: { default: null } };
  },
  parseHTML() {
    return [
      {
        tag: "span[data-variable]",
        getAttrs: (el) => ({
          path: el.dataset.variable,
          fallback: el.dataset.fallback ?? null,
          source: el.dataset.source || null,
        }),
      },
    ];
  },
  // Serialised as a marked span holding the Liquid; fromEditor() unwraps it to plain text.
  renderHTML({ node }) {
    return ["span", { "data-liquid": "" }, node.attrs.source || liquid(node.attrs.path, node.attrs.fallback)];
  },
  addNodeView() {
    return ({ node }) => {
      const dom = document.createElement("span");
      dom.className = "variable-chip";
      dom.contentEditable = "false";
      const draw = (n) => {
        const fallback = n.attrs.fallback;
        dom.textContent = labelOf(n.attrs.path) + (fallback ? ` · fallback: ${fallback}` : "");
        dom.title = liquid(n.attrs.path, fallback);
      };
      draw(node);
      return {
        dom,
        update: (n) => n.type.name === "variable" && (draw(n), true),
      };
    };
  },
});

// An AI variable: text written per recipient from its prompt (see AI above). Shown as a
// sparkle and the prompt's first words; a screen reader hears the whole prompt.
const AiVariable = P.Node.create({
  name: "aiVariable",
  group: "inline",
  inline: true,
  atom: true,
  selectable: true,
  addAttributes() {
    return { prompt: { default: "" }, fallback: { default: null }, source: { default: null } };
  },
  parseHTML() {
    return [
      {
        tag: "span[data-ai]",
        getAttrs: (el) => ({
          prompt: el.dataset.prompt ?? "",
          fallback: el.dataset.fallback ?? null,
          source: el.dataset.source || null,
        }),
      },
    ];
  },
  renderHTML({ node }) {
    return ["span", { "data-liquid": "" }, node.attrs.source || aiLiquid(node.attrs.prompt, node.attrs.fallback)];
  },
  addNodeView() {
    return ({ node }) => {
      const dom = document.createElement("span");
      dom.className = "ai-chip";
      dom.contentEditable = "false";
      const shown = document.createElement("span");
      shown.setAttribute("aria-hidden", "true");
      const spoken = document.createElement("span");
      spoken.className = "visually-hidden";
      const icon = sparkle();
      if (icon) dom.append(icon);
      dom.append(shown, spoken);
      const draw = (n) => {
        const { prompt, fallback } = n.attrs;
        const unknown = unknownIn(prompt);
        shown.textContent = aiLabel(prompt);
        spoken.textContent =
          `AI variable: ${prompt}` +
          (fallback ? ` (fallback: ${fallback})` : "") +
          (unknown.length ? ` (unknown variable: ${unknown.join(", ")})` : "");
        dom.classList.toggle("unknown", unknown.length > 0);
        dom.title = n.attrs.source || aiLiquid(prompt, fallback);
      };
      draw(node);
      return {
        dom,
        update: (n) => n.type.name === "aiVariable" && (draw(n), true),
      };
    };
  },
});

// An inline image is stored as <img src="cid:…"> (the image travels with the email) and
// shown from the app's access-checked URL for it; the cid: address is never loaded here.
const CID = /^cid:([^"'\s>]+)$/i;
const imageAttribute = (tag, attr) => tag === "IMG" && (attr.name === "alt" || (attr.name === "src" && CID.test(attr.value)));
const imageUrl = (cid) =>
  (document.querySelector("script[data-inline-images]")?.dataset.inlineImages || "").replace("CID", encodeURIComponent(cid));
const InlineImage = P.Node.create({
  name: "inlineImage",
  group: "inline",
  inline: true,
  atom: true,
  selectable: true,
  draggable: false,
  addAttributes() {
    return { cid: { default: null }, alt: { default: null } };
  },
  parseHTML() {
    const getAttrs = (el) => {
      const match = CID.exec(el.getAttribute("src") || "");
      return match ? { cid: match[1], alt: el.getAttribute("alt") } : false;
    };
    return [{ tag: "img[src]", getAttrs }];
  },
  renderHTML({ node }) {
    const attrs = { src: `cid:${node.attrs.cid}` };
    if (node.attrs.alt !== null) attrs.alt = node.attrs.alt;
    return ["img", attrs];
  },
  addNodeView() {
    return ({ node }) => {
      const dom = Object.assign(document.createElement("img"), { className: "inline-image", alt: node.attrs.alt ?? "" });
      dom.src = imageUrl(node.attrs.cid);
      return { dom };
    };
  },
});

function setUp(textarea) {
  const box = textarea.closest("[data-composer]");
  if (!box || box.dataset.ready) return;
  box.dataset.ready = "1";
  const content = toEditor(textarea.value);
  if (content === null) {
    box.querySelector(".composer-raw-note").hidden = false;
    // Files can still be attached (attachments.js); variables are typed as Liquid.
    if (!textarea.matches(":disabled")) {
      box.querySelector(".composer-foot").hidden = false;
      box.querySelector("[data-insert-variable]").hidden = true;
    }
    return;
  }
  const label = document.getElementById(`${textarea.id}-label`);
  const toolbar = box.querySelector(".composer-toolbar");
  const foot = box.querySelector(".composer-foot");
  const panel = box.querySelector("[data-panel]");
  const host = document.createElement("div");
  host.className = "composer-editor";
  textarea.before(host);
  textarea.hidden = true;
  textarea.id += "-source";
  const attributes = {
    role: "textbox",
    "aria-multiline": "true",
    "aria-labelledby": label.id,
    class: "composer-body",
  };
  for (const name of ["aria-invalid", "aria-describedby"]) {
    if (textarea.hasAttribute(name)) attributes[name] = textarea.getAttribute(name);
  }
  const editable = !textarea.matches(":disabled");
  // A read-only member's body is disabled like every other field of the form.
  if (!editable) attributes["aria-disabled"] = "true";
  const editor = new P.Editor({
    element: host,
    injectCSS: false, // the page's CSP allows no inline <style>; composer.css has the rules
    editable,
    content,
    extensions: [
      P.Document,
      P.Paragraph,
      P.Text,
      P.HardBreak,
      P.Bold,
      P.Italic,
      P.Link.configure({
        openOnClick: false,
        autolink: false,
        protocols: ["mailto"],
        // What the server's sanitiser writes, so an edited link is stored as it was.
        HTMLAttributes: { target: null, rel: "noopener noreferrer", class: null },
      }),
      P.BulletList,
      P.OrderedList,
      P.ListItem,
      P.UndoRedo || P.History,
      Variable,
      AiVariable,
      InlineImage,
    ],
    editorProps: { attributes },
    onUpdate() {
      textarea.value = fromEditor(editor.getHTML());
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    },
    onTransaction: () => refresh(),
  });
  // A new step's body takes the focus, unless the member has already moved on elsewhere.
  const idle = !document.activeElement || document.activeElement === document.body;
  if (textarea.autofocus && idle) editor.view.focus();
  if (!editable) return;
  box.composerEditor = editor; // for attachments.js, which inserts inline images
  toolbar.hidden = false;
  // A signature's editor has no variables, so no foot with the variable button.
  if (foot) foot.hidden = false;

  // Inserting a template (template_library.js) replaces the whole body: it is read as on
  // page load, so its variables become chips the same way, and the textarea keeps the
  // template's HTML as it is. A body the editor cannot show is edited as HTML instead.
  textarea.addEventListener("composer:replace", (event) => {
    if (editor.isDestroyed) return;
    event.preventDefault();
    const html = event.detail.html;
    const next = toEditor(html);
    if (next === null) {
      editor.destroy();
      host.remove();
      textarea.id = textarea.id.replace(/-source$/, "");
      textarea.hidden = false;
      for (const tool of toolbar.querySelectorAll("[data-command], [data-insert-ai]")) tool.hidden = true;
      foot.hidden = true;
      box.querySelector(".composer-raw-note").hidden = false;
    } else {
      editor.commands.setContent(next);
    }
    textarea.value = html;
  });

  const commands = {
    bold: () => editor.chain().focus().toggleBold().run(),
    italic: () => editor.chain().focus().toggleItalic().run(),
    bulletList: () => editor.chain().focus().toggleBulletList().run(),
    orderedList: () => editor.chain().focus().toggleOrderedList().run(),
    link: () => openLink(),
  };
  function refresh() {
    for (const button of toolbar.querySelectorAll("[data-command]")) {
      button.setAttribute("aria-pressed", String(editor.isActive(button.dataset.command)));
    }
  }
  toolbar.addEventListener("click", (event) => {
    const button = event.target.closest("[data-command]");
    if (button) commands[button.dataset.command]();
  });

  // One panel under the composer shows the picker, the chip popover or the link form.
  // Its inputs are not part of the draft: their typing must not trigger an autosave.
  for (const type of ["input", "change"]) panel.addEventListener(type, (e) => e.stopPropagation());
  const variableButton = foot?.querySelector("[data-insert-variable]");
  // Only a step's body has AI variables (the sparkle button); a signature has none.
  const aiButton = toolbar.querySelector("[data-insert-ai]");
  let back = null;
  function close(focusEditor = true) {
    panel.hidden = true;
    panel.replaceChildren();
    variableButton?.setAttribute("aria-expanded", "false");
    aiButton?.setAttribute("aria-expanded", "false");
    if (focusEditor) editor.commands.focus();
    back = null;
  }
  function open(title, children, onEscape) {
    panel.replaceChildren(...children);
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", title);
    panel.hidden = false;
    back = onEscape;
  }
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      (back || close)();
    }
  });
  const el = (tag, props = {}, children = []) => {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children);
    return node;
  };
  let uid = 0;
  const nextId = (what) => `${textarea.id}-${what}-${++uid}`;

  // The picker: a combobox filtering a listbox; arrows move, Enter picks, Escape closes.
  function openPicker(onPick, title, onEscape = null) {
    const inputId = nextId("search");
    const listId = nextId("options");
    const input = el("input", {
      id: inputId,
      type: "text",
      autocomplete: "off",
      spellcheck: false,
      placeholder: "First name, company…",
    });
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-expanded", "true");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("aria-autocomplete", "list");
    const list = el("ul", { id: listId, className: "picker-options" });
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Variables");
    let shown = [];
    let active = 0;
    function draw() {
      const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      shown = catalog.filter((v) => {
        const text = `${v.label} ${v.path} ${v.group}`.toLowerCase();
        return words.every((w) => text.includes(w));
      });
      active = Math.min(active, Math.max(shown.length - 1, 0));
      list.replaceChildren(
        ...shown.map((v, i) => {
          const option = el("li", { id: `${listId}-${i}`, className: "picker-option" }, [
            el("span", { textContent: v.label }),
            el("span", { className: "muted", textContent: GROUPS[v.group] || v.group }),
          ]);
          option.setAttribute("role", "option");
          option.setAttribute("aria-selected", String(i === active));
          option.addEventListener("mousedown", (e) => e.preventDefault());
          option.addEventListener("click", () => onPick(v.path));
          return option;
        }),
      );
      if (!shown.length) list.append(el("li", { className: "muted", textContent: "No variable matches." }));
      if (shown.length) input.setAttribute("aria-activedescendant", `${listId}-${active}`);
      else input.removeAttribute("aria-activedescendant");
      list.children[active]?.scrollIntoView?.({ block: "nearest" });
    }
    input.addEventListener("input", () => {
      active = 0;
      draw();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        active = (active + step + shown.length) % Math.max(shown.length, 1);
        draw();
      } else if (event.key === "Enter") {
        event.preventDefault();
        if (shown[active]) onPick(shown[active].path);
      }
    });
    open(
      title,
      [el("label", { htmlFor: inputId, textContent: "Search variables" }), input, list],
      onEscape,
    );
    if (!onEscape) variableButton?.setAttribute("aria-expanded", "true");
    draw();
    input.focus();
  }

  // The chip popover: its fallback text, or another variable in its place.
  function openChip(pos) {
    const node = editor.state.doc.nodeAt(pos);
    if (!node || node.type.name !== "variable") return;
    const inputId = nextId("fallback");
    const hintId = nextId("fallback-hint");
    const input = el("input", { id: inputId, type: "text", value: node.attrs.fallback ?? "" });
    input.setAttribute("aria-describedby", hintId);
    const apply = () => {
      const fallback = input.value.trim() || null;
      const attrs = { ...node.attrs, fallback, source: null };
      if (fallback === node.attrs.fallback) attrs.source = node.attrs.source;
      editor.chain().setNodeSelection(pos).updateAttributes("variable", attrs).setTextSelection(pos + 1).run();
      close();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        apply();
      }
    });
    const done = el("button", { type: "button", className: "button primary", textContent: "Apply" });
    done.addEventListener("click", apply);
    const change = el("button", { type: "button", className: "button", textContent: "Change variable" });
    change.addEventListener("click", () =>
      openPicker((path) => {
        const attrs = { path, fallback: input.value.trim() || null, source: null };
        editor.chain().setNodeSelection(pos).updateAttributes("variable", attrs).setTextSelection(pos + 1).run();
        close();
      }, "Change variable"),
    );
    open(`Variable: ${labelOf(node.attrs.path)}`, [
      el("p", { className: "panel-title", textContent: labelOf(node.attrs.path) }),
      el("label", { htmlFor: inputId, textContent: "Fallback" }),
      input,
      el("p", { id: hintId, className: "hint", textContent: "Sent when this value is empty for a recipient." }),
      el("div", { className: "panel-actions" }, [done, change]),
    ]);
    input.focus();
    input.select();
  }

  function insertVariable(path) {
    const { from } = editor.state.selection;
    // No focus() here: Tiptap focuses later, which would take focus from the popover.
    editor.chain().insertContent({ type: "variable", attrs: { path } }).run();
    openChip(from);
  }

  variableButton?.addEventListener("click", () => {
    if (!panel.hidden) return close();
    openPicker(insertVariable, "Insert variable");
  });

  // The AI prompt box: the prompt (variables allowed, from the same picker) and an
  // optional fallback. `pos` is an AI chip being edited; otherwise a chip is inserted
  // over `range`. Escape goes back to `returnTo` (the sparkle button) or the editor.
  function openAi({ pos = null, range = null, returnTo = null, draft = null }) {
    const node = pos === null ? null : editor.state.doc.nodeAt(pos);
    if (pos !== null && node?.type.name !== "aiVariable") return;
    const shownPrompt = node ? node.attrs.prompt : "";
    const shownFallback = node ? (node.attrs.fallback ?? "") : "";
    const promptId = nextId("ai-prompt");
    const hintId = nextId("ai-prompt-hint");
    const errorId = nextId("ai-prompt-error");
    const fallbackId = nextId("ai-fallback");
    const fallbackHintId = nextId("ai-fallback-hint");
    const prompt = el("textarea", { id: promptId, rows: 3, value: draft?.prompt ?? shownPrompt });
    prompt.setAttribute("aria-describedby", hintId);
    const error = el("p", { id: errorId, className: "field-error", hidden: true });
    const fallback = el("input", { id: fallbackId, type: "text", value: draft?.fallback ?? shownFallback });
    fallback.setAttribute("aria-describedby", fallbackHintId);
    const leave = () => {
      if (returnTo) {
        close(false);
        returnTo.focus();
      } else close();
    };
    const refuse = (message) => {
      error.textContent = message;
      error.hidden = false;
      prompt.setAttribute("aria-invalid", "true");
      prompt.setAttribute("aria-describedby", `${hintId} ${errorId}`);
      prompt.focus();
    };
    const apply = () => {
      if (!prompt.value.trim()) return refuse("Write a prompt: what the AI should write for each recipient.");
      if (NESTED_AI.test(prompt.value)) return refuse("A prompt cannot hold another AI variable.");
      const unknown = unknownIn(prompt.value);
      if (unknown.length) {
        return refuse(`${unknown.map((p) => `{{ ${p} }}`).join(", ")}: no such variable. Insert one from the list instead.`);
      }
      // Applied unchanged, the chip keeps its Liquid as written and the body stays as is.
      if (node && prompt.value === shownPrompt && fallback.value === shownFallback) {
        editor.commands.setTextSelection(pos + 1);
        return close();
      }
      const attrs = { prompt: prompt.value.trim(), fallback: aiFallbackText(fallback.value) || null, source: null };
      if (node) {
        editor.chain().setNodeSelection(pos).updateAttributes("aiVariable", attrs).setTextSelection(pos + 1).run();
      } else {
        const size = editor.state.doc.content.size;
        const at = { from: Math.min(range.from, size), to: Math.min(range.to, size) };
        editor.chain().insertContentAt(at, { type: "aiVariable", attrs }).run();
      }
      close();
    };
    prompt.addEventListener("input", () => {
      if (error.hidden) return;
      error.hidden = true;
      prompt.removeAttribute("aria-invalid");
      prompt.setAttribute("aria-describedby", hintId);
    });
    prompt.addEventListener("keydown", (event) => {
      // Enter writes a new line in the prompt; Ctrl+Enter (⌘+Enter) inserts, as in forms.
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        apply();
      }
    });
    fallback.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        apply();
      }
    });
    const withVariable = el("button", { type: "button", className: "button small", textContent: "Insert variable in prompt" });
    withVariable.addEventListener("click", () => {
      const [start, end] = [prompt.selectionStart, prompt.selectionEnd];
      const state = { pos, range, returnTo };
      const again = (text, caret) => {
        openAi({ ...state, draft: { prompt: text, fallback: fallback.value } });
        const box = panel.querySelector("textarea");
        box.setSelectionRange(caret, caret);
      };
      openPicker(
        (path) => {
          const tag = `{{ ${path} }}`;
          again(prompt.value.slice(0, start) + tag + prompt.value.slice(end), start + tag.length);
        },
        "Variable for the prompt",
        () => again(prompt.value, end),
      );
    });
    const done = el("button", { type: "button", className: "button primary", textContent: node ? "Apply" : "Insert" });
    done.addEventListener("click", apply);
    const cancel = el("button", { type: "button", className: "button", textContent: "Cancel" });
    cancel.addEventListener("click", leave);
    const example = "One sentence about {{ company.name }}'s recent news";
    open(
      node ? "Edit AI variable" : "AI variable",
      [
        el("p", { className: "panel-title ai-title" }, [sparkle() || "", node ? "Edit AI variable" : "AI variable"]),
        el("label", { htmlFor: promptId, textContent: "Prompt" }),
        prompt,
        el("p", {
          id: hintId,
          className: "hint",
          textContent: `What to write for each recipient, e.g. “${example}”. Variables in {{ }} are filled in first.`,
        }),
        error,
        el("div", { className: "panel-actions" }, [withVariable]),
        el("label", { htmlFor: fallbackId, textContent: "Fallback" }),
        fallback,
        el("p", { id: fallbackHintId, className: "hint", textContent: "Optional. Used when no text can be written." }),
        el("div", { className: "panel-actions" }, [done, cancel]),
      ],
      leave,
    );
    if (returnTo === aiButton) aiButton?.setAttribute("aria-expanded", "true");
    prompt.focus();
  }

  aiButton?.addEventListener("click", () => {
    if (!panel.hidden) return close();
    const { from, to, node } = editor.state.selection;
    // With an AI chip selected, the button opens it rather than replacing it.
    if (node?.type.name === "aiVariable") return openAi({ pos: from, returnTo: aiButton });
    openAi({ range: { from, to }, returnTo: aiButton });
  });

  function openLink() {
    const inputId = nextId("link");
    const current = editor.getAttributes("link").href || "";
    const input = el("input", { id: inputId, type: "url", value: current, placeholder: "https://" });
    const apply = () => {
      const href = input.value.trim();
      const chain = editor.chain().focus().extendMarkRange("link");
      if (!href) chain.unsetLink().run();
      else if (/^(https?:\/\/|mailto:)/i.test(href)) chain.setLink({ href }).run();
      else return input.setAttribute("aria-invalid", "true");
      close();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        apply();
      }
    });
    const done = el("button", { type: "button", className: "button primary", textContent: "Apply" });
    done.addEventListener("click", apply);
    open("Link", [
      el("label", { htmlFor: inputId, textContent: "Link address (https:// or mailto:)" }),
      input,
      el("div", { className: "panel-actions" }, [done]),
    ]);
    input.focus();
  }

  // A chip opens its popover when clicked, or with Enter once arrowed onto.
  host.addEventListener("click", (event) => {
    const chip = event.target.closest(".variable-chip, .ai-chip");
    if (!chip) return;
    const pos = editor.view.posAtDOM(chip, 0);
    editor.commands.setNodeSelection(pos);
    if (chip.matches(".ai-chip")) openAi({ pos });
    else openChip(pos);
  });
  host.addEventListener("keydown", (event) => {
    const selection = editor.state.selection;
    const chip = selection.node?.type.name;
    if (event.key === "Enter" && (chip === "variable" || chip === "aiVariable")) {
      event.preventDefault();
      event.stopPropagation();
      if (chip === "aiVariable") openAi({ pos: selection.from });
      else openChip(selection.from);
    } else if ((event.key === " " || event.key === "Enter") && aiButton && !event.isComposing && slashAi(selection)) {
      // "/ai" then Space or Enter: the typed command becomes the AI prompt box.
      event.preventDefault();
      event.stopPropagation();
      const from = selection.from - 3;
      editor.chain().deleteRange({ from, to: selection.from }).run();
      openAi({ range: { from, to: from } });
    }
  }, true);
  // Whether "/ai" was just typed, as a word of its own.
  function slashAi(selection) {
    if (!selection.empty || !selection.$from.parent.isTextblock) return false;
    const offset = selection.$from.parentOffset;
    const before = selection.$from.parent.textBetween(Math.max(0, offset - 4), offset, null, "\ufffc");
    return /(?:^|[\s\ufffc])\/ai$/.test(before);
  }
}

function setUpAll(root) {
  for (const textarea of root.querySelectorAll("[data-composer] textarea")) setUp(textarea);
}
setUpAll(document);
// The canvas is redrawn by htmx when steps are added or removed. After the settle, as
// htmx puts attributes of the swapped-in elements back then (the textarea's id included).
document.addEventListener("htmx:afterSettle", () => setUpAll(document));
