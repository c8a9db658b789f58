// The playground page: renders what the bot sent (Block Kit, mrkdwn, views) and sends what a person does.
// Every piece of text from Slack or from users goes into the page as text (textContent), never as HTML, so a
// title such as "<script>…" shows as those characters; the Content-Security-Policy runs no inline script either.
"use strict";

const ui = { person: "U0MARIA", conv: "C0GENERAL", tab: "messages", state: null, modalKey: null, busy: false };
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

// ---- talking to the playground -------------------------------------------------------------------------

async function post(path, body) {
  ui.busy = true;
  try {
    const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
                                          body: JSON.stringify({ user: ui.person, ...body }) });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || response.statusText);
    render(answer);
    $("said").textContent = answer.said || "";
    return answer;
  } finally {
    ui.busy = false;
  }
}

async function poll() {
  if (!ui.busy) {
    try {
      const response = await fetch(`/api/state?user=${encodeURIComponent(ui.person)}`);
      if (response.ok) render(await response.json());
    } catch (error) { /* the playground stopped; the next poll tries again */ }
  }
  setTimeout(poll, 700);
}

// ---- mrkdwn --------------------------------------------------------------------------------------------

const INLINE = [
  [/```([\s\S]+?)```/, (m) => el("pre", { text: m[1] })],
  [/`([^`\n]+)`/, (m) => el("code", { text: m[1] })],
  [/(^|[^\w*])\*(\S(?:[^*\n]*?\S)?)\*(?![\w*])/, (m, parts) => el("b", {}, inline(m[2], parts)), 1],
  [/(^|[^\w_])_(\S(?:[^_\n]*?\S)?)_(?![\w_])/, (m, parts) => el("i", {}, inline(m[2], parts)), 1],
  [/(^|[^\w~])~(\S(?:[^~\n]*?\S)?)~(?![\w~])/, (m, parts) => el("s", {}, inline(m[2], parts)), 1],
];

function unescape(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function mrkdwn(text) {
  // Angle tokens (<@U1>, <#C1|name>, <url|label>, <!date^…|fallback>) first, as placeholders, so that an
  // underscore in a link does not start italics.
  const parts = [];
  const masked = String(text).replace(/<([^<>\n]+)>/g, (_, inside) => `\u0000${parts.push(inside) - 1}\u0000`);
  const fragment = document.createDocumentFragment();
  masked.split("\n").forEach((line, index) => {
    if (index) fragment.append(el("br"));
    const quote = line.match(/^&gt; ?(.*)$/);
    if (quote) fragment.append(el("blockquote", {}, inline(quote[1], parts)));
    else fragment.append(inline(line, parts));
  });
  return fragment;
}

function inline(text, parts) {
  const fragment = document.createDocumentFragment();
  let rest = text;
  while (rest) {
    let best = null;
    for (const [pattern, make, lead] of INLINE) {
      const m = rest.match(pattern);
      if (m && (best === null || m.index + (lead ? m[1].length : 0) < best.start)) {
        best = { m, make, start: m.index + (lead ? m[1].length : 0), end: m.index + m[0].length };
      }
    }
    if (!best) { fragment.append(leaf(rest, parts)); break; }
    fragment.append(leaf(rest.slice(0, best.start), parts), best.make(best.m, parts));
    rest = rest.slice(best.end);
  }
  return fragment;
}

function leaf(text, parts) {
  const fragment = document.createDocumentFragment();
  text.split(/\u0000(\d+)\u0000/).forEach((piece, index) => {
    if (index % 2) fragment.append(angle(parts[Number(piece)]));
    else if (piece) fragment.append(document.createTextNode(emoji(unescape(piece))));
  });
  return fragment;
}

function angle(inside) {
  const [target, label] = splitOnce(inside, "|");
  if (target.startsWith("@")) return personMention(target.slice(1), label);
  if (target.startsWith("#")) return channelMention(target.slice(1), label);
  if (target.startsWith("!date")) return document.createTextNode(unescape(label || ""));
  if (target.startsWith("!")) return mention(`@${(label || target.slice(1)).replace(/^@/, "")}`);  // @here, groups
  return link(target, unescape(label || target));
}

// Mentions, in mrkdwn (<@U1>) and in rich text ({type: "user"}) alike: people by the name Slack shows for them.
function mention(text) { return el("span", { class: "mention", text }); }
function names() { return (ui.state && ui.state.names) || {}; }
function personMention(id, label) { return mention(`@${names()[id] || label || id}`); }
function channelMention(id, label) { return mention(`#${label || names()[id] || id}`); }

function link(url, label) {
  // Only web and mail links open; anything else (javascript:, data:) stays its text.
  if (/^(https?:|mailto:)/.test(url)) return el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: label });
  return document.createTextNode(label);
}

function splitOnce(text, separator) {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
}

function emoji(text) {
  const known = (ui.state && ui.state.emoji) || {};
  return text.replace(/:([a-z0-9_+-]+):/g, (whole, name) => known[name] || whole);
}

// The text objects the page draws; tests/playground/test_elements.py holds the bot's views to this table too.
const TEXT_OBJECTS = {
  plain_text: (t) => document.createTextNode(emoji(t.text)),
  mrkdwn: (t) => mrkdwn(t.text),
};

function textObject(object) {
  if (!object) return document.createTextNode("");
  if (typeof object === "string") return document.createTextNode(object);
  return (TEXT_OBJECTS[object.type] || TEXT_OBJECTS.plain_text)(object);
}

// ---- Block Kit -----------------------------------------------------------------------------------------

// Every element type the page renders, and how; tests/playground/test_elements.py holds the bot's views to it.
const ELEMENTS = {
  button: (e, where) => el("button", {
    type: "button", class: `el ${e.style || ""}`, "data-action-id": e.action_id,
    onclick: () => { if (e.url) window.open(e.url, "_blank", "noopener"); act(where, { ...base(e, where), value: e.value }); },
  }, textObject(e.text)),
  overflow: (e, where) => {
    const select = el("select", { class: "el", "aria-label": "More actions", "data-action-id": e.action_id },
      el("option", { value: "", text: "⋯" }), ...e.options.map((o, i) => el("option", { value: i, text: o.text.text })));
    select.addEventListener("change", () => {
      if (select.value !== "") act(where, { ...base(e, where), selected_option: e.options[Number(select.value)] });
    });
    return select;
  },
  plain_text_input: (e, where) => stateful(e, where, e.multiline
    ? el("textarea", { rows: 4, placeholder: e.placeholder && e.placeholder.text, maxlength: e.max_length },
        document.createTextNode(e.initial_value || ""))
    : el("input", { type: "text", value: e.initial_value || "", placeholder: e.placeholder && e.placeholder.text,
                    maxlength: e.max_length }),
    (node) => ({ value: node.value || null })),
  rich_text_input: (e, where) => stateful(e, where,
    el("textarea", { rows: 4, placeholder: e.placeholder && e.placeholder.text },
      document.createTextNode(e.initial_value ? richTextAsTyped(e.initial_value) : "")),
    (node) => ({ rich_text_value: richTextValue(node.value) })),
  number_input: (e, where) => stateful(e, where, el("input", { type: "number", value: e.initial_value || "",
      step: e.is_decimal_allowed ? "any" : "1", min: e.min_value, max: e.max_value }), (node) => ({ value: node.value || null })),
  url_text_input: (e, where) => stateful(e, where, el("input", { type: "url", value: e.initial_value || "" }),
    (node) => ({ value: node.value || null })),
  email_text_input: (e, where) => stateful(e, where, el("input", { type: "email", value: e.initial_value || "" }),
    (node) => ({ value: node.value || null })),
  datepicker: (e, where) => stateful(e, where, el("input", { type: "date", value: e.initial_date || "" }),
    (node) => ({ selected_date: node.value || null })),
  timepicker: (e, where) => stateful(e, where, el("input", { type: "time", value: e.initial_time || "" }),
    (node) => ({ selected_time: node.value || null })),
  checkboxes: (e, where) => choices(e, where, "checkbox", e.initial_options || [],
    (picked) => ({ selected_options: picked })),
  radio_buttons: (e, where) => choices(e, where, "radio", e.initial_option ? [e.initial_option] : [],
    (picked) => ({ selected_option: picked[0] || null })),
  static_select: (e, where) => select(e, where, allOptions(e), false, e.initial_option ? [e.initial_option.value] : [],
    (picked, options) => ({ selected_option: options.find((o) => o.value === picked[0]) || null })),
  multi_static_select: (e, where) => select(e, where, allOptions(e), true, (e.initial_options || []).map((o) => o.value),
    (picked, options) => ({ selected_options: options.filter((o) => picked.includes(o.value)) })),
  users_select: (e, where) => select(e, where, people(), false, [e.initial_user].filter(Boolean),
    (picked) => ({ selected_user: picked[0] || null })),
  multi_users_select: (e, where) => select(e, where, people(), true, e.initial_users || [],
    (picked) => ({ selected_users: picked })),
  conversations_select: (e, where) => select(e, where, conversations(), false, [e.initial_conversation].filter(Boolean),
    (picked) => ({ selected_conversation: picked[0] || null })),
  multi_conversations_select: (e, where) => select(e, where, conversations(), true, e.initial_conversations || [],
    (picked) => ({ selected_conversations: picked })),
  channels_select: (e, where) => select(e, where, conversations(), false, [e.initial_channel].filter(Boolean),
    (picked) => ({ selected_channel: picked[0] || null })),
  multi_channels_select: (e, where) => select(e, where, conversations(), true, e.initial_channels || [],
    (picked) => ({ selected_channels: picked })),
  image: (e) => image(e.image_url, e.alt_text, "icon"),
};

const BLOCKS = {
  header: (b) => el("div", { class: "block header" }, textObject(b.text)),
  section: (b, where) => el("div", { class: "block section" },
    el("div", { class: "text" }, b.text ? textObject(b.text) : null,
      b.fields ? el("div", { class: "fields" }, ...b.fields.map((f) => el("div", { class: "text" }, textObject(f)))) : null),
    b.accessory ? element(b.accessory, { ...where, block_id: b.block_id }) : null),
  context: (b) => el("div", { class: "block context" },
    ...b.elements.map((e) => e.type === "image" ? image(e.image_url, e.alt_text, "icon") : el("span", {}, textObject(e)))),
  divider: () => el("hr", { class: "block divider" }),
  image: (b) => el("div", { class: "block" }, b.title ? el("div", {}, textObject(b.title)) : null,
    image(b.image_url, b.alt_text, "image")),
  actions: (b, where) => el("div", { class: "block actions", "data-block-id": b.block_id },
    ...b.elements.map((e) => element(e, { ...where, block_id: b.block_id, inActions: true }))),
  input: (b, where) => el("div", { class: "block input", "data-block-id": b.block_id },
    el("label", {}, textObject(b.label), b.optional ? el("span", { class: "hint", text: " (optional)" }) : null),
    element(b.element, { ...where, block_id: b.block_id }),
    b.hint ? el("div", { class: "hint" }, textObject(b.hint)) : null,
    el("div", { class: "error" })),
  rich_text: (b) => el("div", { class: "block text" }, ...richText(b.elements)),
};

function base(e, where) { return { action_id: e.action_id, block_id: where.block_id, type: e.type }; }

function element(e, where) {
  const make = ELEMENTS[e.type];
  return make ? make(e, where) : el("span", { class: "error", text: `[${e.type} is not rendered]` });
}

function blocks(list, where) {
  return (list || []).map((b) => (BLOCKS[b.type] || (() => el("div", { text: `[${b.type} block]` })))(b, where));
}

// A rich_text block's parts, as Slack draws them: its sections, lists, quotes and code, and in them text in its
// style, links, mentions of people, channels and groups (named as in mrkdwn), @here and the like, emoji and dates
// (written out in the reader's zone by the playground, as it does <!date^…>).
const RICH_TEXT = {
  rich_text_section: (e) => el("div", {}, ...richText(e.elements)),
  rich_text_list: (e) => el(e.style === "ordered" ? "ol" : "ul", {},
    ...(e.elements || []).map((item) => el("li", {}, ...richText(item.elements)))),
  rich_text_quote: (e) => el("blockquote", {}, ...richText(e.elements)),
  rich_text_preformatted: (e) => el("pre", {}, ...richText(e.elements)),
  text: (e) => styled(e.style, document.createTextNode(e.text || "")),
  link: (e) => styled(e.style, link(e.url || "", e.text || e.url || "")),
  user: (e) => styled(e.style, personMention(e.user_id)),
  channel: (e) => styled(e.style, channelMention(e.channel_id)),
  usergroup: (e) => styled(e.style, mention(`@${names()[e.usergroup_id] || e.usergroup_id}`)),
  broadcast: (e) => styled(e.style, mention(`@${e.range}`)),
  emoji: (e) => styled(e.style, document.createTextNode(e.unicode
    ? String.fromCodePoint(...e.unicode.split("-").map((hex) => parseInt(hex, 16))) : emoji(`:${e.name}:`))),
  date: (e) => styled(e.style, document.createTextNode(e.text || e.fallback || "")),
};

function richText(elements) {
  return (elements || []).map((e) => RICH_TEXT[e.type] ? RICH_TEXT[e.type](e)
    : el("span", { class: "error", text: `[${e.type} is not rendered]` }));
}

function styled(style, node) {
  let wrapped = node;
  for (const [flag, tag] of [["code", "code"], ["strike", "s"], ["italic", "i"], ["bold", "b"]]) {
    if (style && style[flag]) wrapped = el(tag, {}, wrapped);
  }
  return wrapped;
}

// What Slack's rich-text composer sends for what was typed: one rich_text_section per line, and each "@name" of a
// person in the playground (as the person switcher shows them, or their first name) a real mention, a `user`
// element, as when one picks a person from Slack's @-menu; the bot tells such a mention from a typed "@name".
function richTextValue(typed) {
  const byName = (ui.state.people || []).flatMap((p) => [[p.name, p.id], [p.name.split(" ")[0], p.id]])
    .sort((a, b) => b[0].length - a[0].length);  // "@Maria (Head of Claims)" before "@Maria"
  const lines = typed.trim() ? typed.replace(/\s+$/, "").split("\n") : [];  // nothing typed: no sections
  const sections = lines.map((line) => {
    const elements = [];
    let text = "";
    for (let at = 0; at < line.length;) {
      const rest = line.slice(at + 1).toLowerCase();
      const hit = line[at] === "@" && byName.find(([name]) =>
        rest.startsWith(name.toLowerCase()) && !/[\w]/.test(rest.charAt(name.length)));
      if (hit) {
        if (text) elements.push({ type: "text", text });
        text = "";
        elements.push({ type: "user", user_id: hit[1] });
        at += 1 + hit[0].length;
      } else {
        text += line[at];
        at += 1;
      }
    }
    if (text) elements.push({ type: "text", text });
    return { type: "rich_text_section", elements };
  });
  return { type: "rich_text", elements: sections };
}

// A rich_text value back as the text a person would type: each section a line, mentions as "@name".
function richTextAsTyped(value) {
  return richText(value.elements).map((part) => part.textContent).join("\n");
}

function image(url, alt, kind) {
  // Only the playground's own files: the page never loads anything from the network.
  if (typeof url === "string" && url.startsWith("/")) return el("img", { class: kind, src: url, alt: alt || "" });
  return el("span", { class: "context", text: `[image: ${alt || ""}]` });
}

function stateful(e, where, control, read) {
  control.dataset.actionId = e.action_id;
  control.dataset.blockId = where.block_id;
  control.slackRead = () => ({ type: e.type, ...read(control) });
  // Slack sends block_actions for elements outside input blocks, also in a modal (e.g. the checklist's ticks).
  if (where.surface !== "modal" || where.inActions) control.addEventListener("change", () => act(where, { ...base(e, where), ...read(control) }));
  return control;
}

function choices(e, where, kind, initial, read) {
  const group = el("div", { role: kind === "radio" ? "radiogroup" : "group" });
  const name = `${where.block_id}.${e.action_id}`;
  e.options.forEach((option, index) => {
    const input = el("input", { type: kind, name, value: index,
                                checked: initial.some((o) => o.value === option.value) });
    group.append(el("label", { class: "choice" }, input, " ", textObject(option.text),
      option.description ? el("span", { class: "desc" }, textObject(option.description)) : null));
  });
  group.slackOptions = e.options;
  const picked = () => [...group.querySelectorAll("input")].filter((i) => i.checked).map((i) => e.options[Number(i.value)]);
  return stateful(e, where, group, () => read(picked()));
}

function select(e, where, options, multiple, initial, read) {
  const control = el("select", { multiple, "aria-label": e.placeholder ? e.placeholder.text : e.action_id });
  if (!multiple) control.append(el("option", { value: "", text: e.placeholder ? e.placeholder.text : "Select…" }));
  for (const option of options) {
    control.append(el("option", { value: option.value, text: option.text.text, selected: initial.includes(option.value) }));
  }
  return stateful(e, where, control, () => read([...control.selectedOptions].map((o) => o.value).filter(Boolean), options));
}

function allOptions(e) {
  return e.options || (e.option_groups || []).flatMap((group) => group.options);
}

function people() {
  return ui.state.people.map((p) => ({ value: p.id, text: { type: "plain_text", text: p.name } }));
}

function conversations() {
  return ui.state.channels.map((c) => ({ value: c.id, text: { type: "plain_text", text: `#${c.name}` } }));
}

function collectState(root) {
  const values = {};
  for (const node of root.querySelectorAll("[data-action-id]")) {
    if (!node.slackRead) continue;
    (values[node.dataset.blockId] ||= {})[node.dataset.actionId] = node.slackRead();
  }
  return values;
}

function applyState(root, values) {
  for (const node of root.querySelectorAll("[data-action-id]")) {
    const value = (values[node.dataset.blockId] || {})[node.dataset.actionId];
    if (!value || !node.slackRead) continue;
    const picked = [value.selected_option, ...(value.selected_options || [])].filter(Boolean).map((o) => o.value);
    if ("value" in value && "value" in node) node.value = value.value || "";
    if (value.rich_text_value) node.value = richTextAsTyped(value.rich_text_value);
    for (const key of ["selected_date", "selected_time", "selected_user", "selected_conversation", "selected_channel"]) {
      if (value[key]) node.value = value[key];
    }
    for (const key of ["selected_users", "selected_conversations", "selected_channels"]) {
      if (value[key]) picked.push(...value[key]);
    }
    for (const choice of node.querySelectorAll("input[type=checkbox], input[type=radio]")) {
      choice.checked = picked.includes(node.slackOptions[Number(choice.value)].value);
    }
    for (const option of node.tagName === "SELECT" ? node.options : []) {
      if (picked.length) option.selected = picked.includes(option.value);
    }
  }
}

async function act(where, action) {
  const root = where.surface === "modal" ? $("modal-body") : where.surface === "home" ? $("home") : document.body;
  await post("/api/action", { action, entry: where.entry, surface: where.surface, state: collectState(root) });
}

// ---- the page ------------------------------------------------------------------------------------------

function render(state) {
  ui.state = state;
  renderSidebar();
  renderNotices();
  $("clock").textContent = state.clock;
  renderMessages();
  renderHome();
  renderModal();
}

function renderSidebar() {
  const select = $("person");
  if (!select.options.length) {
    for (const p of ui.state.people) select.append(el("option", { value: p.id, text: `${p.name} — ${p.role}` }));
    select.value = ui.person;
  }
  const list = $("channels");
  list.replaceChildren(...ui.state.channels.map((c) => el("li", {}, el("button", {
    class: `conv ${ui.conv === c.id ? "active" : ""}`, "data-conv": c.id, text: `# ${c.name}`,
    onclick: () => openConversation(c.id),
  }))));
  $("open-dm").classList.toggle("active", ui.conv === "dm");
}

function renderNotices() {
  $("notices").replaceChildren(...ui.state.notices.slice(-5).map((n) => el("div", { class: "notice",
    text: `Slack refused ${n.where}: ${n.error}${n.messages.length ? "\n" + n.messages.join("\n") : ""}` })));
}

function renderMessages() {
  const channel = ui.state.channels.find((c) => c.id === ui.conv);
  $("conv-title").textContent = channel ? `# ${channel.name}` : "Initiative Bot";
  $("tabs").hidden = ui.conv !== "dm";
  const shown = ui.state.messages.filter((m) => m.channel === ui.conv);
  const key = JSON.stringify(shown);
  if (key === ui.messagesKey) return;
  ui.messagesKey = key;
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.replaceChildren(...shown.map(message));
  if (atBottom || ui.jump) { box.scrollTop = box.scrollHeight; ui.jump = false; }
}

function message(m) {
  const where = { surface: "message", entry: m.seq };
  const inThread = m.thread_ts && m.thread_ts !== m.ts;
  const body = m.blocks && m.blocks.length ? blocks(m.blocks, where) : [el("div", { class: "text" }, mrkdwn(m.text || ""))];
  return el("div", { class: `message ${m.ephemeral ? "ephemeral" : ""} ${inThread ? "thread" : ""}`, "data-seq": m.seq },
    el("div", {}, el("span", { class: "who", text: "Initiative Bot " }), el("span", { class: "app", text: "APP" }),
      m.ephemeral ? el("span", { class: "only", text: "  Only visible to you" }) : null,
      inThread ? el("span", { class: "only", text: "  in thread" }) : null,
      m.edited ? el("span", { class: "only", text: "  (edited)" }) : null),
    ...body,
    m.file ? el("div", {}, el("div", { class: "only", text: m.file.title }),
      image(`/files/${encodeURIComponent(m.file.id)}`, m.file.title, "file")) : null);
}

function renderHome() {
  const showHome = ui.conv === "dm" && ui.tab === "home";
  $("home").hidden = !showHome;
  $("messages").hidden = showHome;
  $("composer").hidden = showHome;
  $("tab-home").classList.toggle("active", showHome);
  $("tab-messages").classList.toggle("active", !showHome);
  const home = ui.state.home;
  const key = showHome && home ? `${home.id}:${home.hash}` : "";
  if (key === ui.homeKey) return;
  ui.homeKey = key;
  $("home").replaceChildren(...(home ? blocks(home.blocks, { surface: "home" }) : [el("p", { text: "Loading…" })]));
}

function renderModal() {
  const modal = ui.state.modal;
  $("modal-backdrop").hidden = !modal;
  const key = modal ? `${modal.id}:${modal.hash}` : null;
  if (key === ui.modalKey) return;
  ui.modalKey = key;
  if (!modal) {  // nothing of a closed modal stays in the page
    $("modal-title").textContent = "";
    $("modal-body").replaceChildren();
    return;
  }
  // Slack keeps what was typed in an input across views.update when its block_id and action_id stay the same.
  const kept = ui.modalId === modal.id ? collectState($("modal-body")) : {};
  ui.modalId = modal.id;
  $("modal-title").textContent = modal.title ? modal.title.text : "";
  $("modal-body").replaceChildren(...blocks(modal.blocks, { surface: "modal" }));
  applyState($("modal-body"), kept);
  $("modal-submit").hidden = !modal.submit;
  $("modal-submit").textContent = modal.submit ? modal.submit.text : "";
  $("modal-close").textContent = modal.close ? modal.close.text : "Cancel";
}

function showErrors(errors) {
  for (const block of $("modal-body").querySelectorAll(".input")) {
    const error = errors[block.dataset.blockId];
    block.classList.toggle("invalid", Boolean(error));
    block.querySelector(".error").textContent = error || "";
  }
}

function openConversation(conv) {
  ui.conv = conv;
  ui.tab = "messages";
  ui.jump = true;
  ui.messagesKey = null;
  render(ui.state);
}

document.addEventListener("DOMContentLoaded", () => {
  $("person").addEventListener("change", async (event) => {
    ui.person = event.target.value;
    ui.messagesKey = ui.homeKey = ui.modalKey = null;
    ui.tab = "messages";
    const response = await fetch(`/api/state?user=${encodeURIComponent(ui.person)}`);
    render(await response.json());
  });
  $("open-dm").addEventListener("click", () => openConversation("dm"));
  $("tab-messages").addEventListener("click", () => { ui.tab = "messages"; render(ui.state); });
  $("tab-home").addEventListener("click", async () => { ui.tab = "home"; ui.homeKey = null; await post("/api/home", {}); });
  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("composer-input");
    const typed = input.value.trim();
    const command = typed.match(/^\/initiative(?:\s+([\s\S]*))?$/);
    if (!command) { $("said").textContent = "Only /initiative commands reach the bot here, e.g. /initiative help"; return; }
    input.value = "";
    await post("/api/command", { channel: ui.conv, text: command[1] || "" });
  });
  $("modal-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const answer = await post("/api/submit", { values: collectState($("modal-body")) });
    showErrors(answer.errors || {});
  });
  for (const id of ["modal-close", "modal-x"]) $(id).addEventListener("click", () => post("/api/close", {}));
  $("run-nudges").addEventListener("click", () => post("/api/jobs", { job: "nudges" }));
  $("post-digest").addEventListener("click", () => post("/api/jobs", { job: "digest" }));
  $("next-morning").addEventListener("click", () => post("/api/jobs", { job: "morning" }));
  $("reset").addEventListener("click", () => post("/api/reset", {}));
  poll();
});
