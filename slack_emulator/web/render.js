// Drawing one snapshot of the workspace: sidebar, conversation, thread, App Home and modal.
// Every snapshot redraws the lists (they are small), keeping what the person is typing and
// where they have scrolled to; a modal is redrawn only when the app changed it.

import { escapeHtml, mrkdwn, plain } from "./mrkdwn.js";
import { inputValues, renderBlocks } from "./blocks.js";

const $ = (id) => document.getElementById(id);

export function names(state) {
  const users = new Map(state.users.map((u) => [u.id, u]));
  const channels = new Map(state.channels.map((c) => [c.id, c]));
  const userName = (id) => users.get(id)?.real_name?.split(" (")[0] || id;
  return {
    userName,
    channelName: (id) => channels.get(id)?.name || id,
    // A DM is named after the person in it, as Slack does, never "#alice".
    dmName: (id) => (channels.get(id)?.is_im ? `DM with ${userName(channels.get(id).user)}` : null),
    user: (id) => users.get(id),
    tz: users.get(state.me)?.tz || "UTC",
    people: state.users.filter((u) => !u.is_bot),
  };
}

function time(ts) {
  const d = new Date(parseFloat(ts) * 1000);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function isRoot(m) {
  return !m.thread_ts || m.thread_ts === m.ts;
}

function onlyRichText(blocks) {
  return !blocks?.length || blocks.every((b) => b.type === "rich_text");
}

const TASK_ICONS = { pending: "○", in_progress: "◌", complete: "✓", error: "✗" };

// A streamed answer's task timeline: one row per tool call, its status, title and short output.
function timeline(stream) {
  const node = Object.assign(document.createElement("ol"), { className: `timeline ${stream.state}` });
  node.dataset.state = stream.state;
  for (const task of stream.tasks || []) {
    const row = document.createElement("li");
    row.className = `task ${task.status}`;
    row.dataset.status = task.status;
    row.innerHTML = `<span class="task-icon">${TASK_ICONS[task.status] || "•"}</span>
      <span class="task-title">${escapeHtml(task.title || "")}</span>
      ${task.output ? `<span class="task-output">${escapeHtml(task.output)}</span>` : ""}`;
    node.appendChild(row);
  }
  return node;
}

// "crm-copilot is working on it…" under a thread, with the current loading message.
export function statusNode(status, ctx) {
  const node = Object.assign(document.createElement("div"), { className: "agent-status" });
  const loading = status.loading_messages?.[0] || "";
  node.innerHTML = `<span class="spinner"></span><b>${escapeHtml(ctx.bot.name)}</b> ${escapeHtml(status.status)}
    ${loading ? `<span class="loading">${escapeHtml(loading)}</span>` : ""}`;
  node.dataset.loading = JSON.stringify(status.loading_messages || []);
  return node;
}

function messageNode(m, ctx, { ephemeral = false, inThread = false } = {}) {
  const node = document.createElement("article");
  node.className = `msg${ephemeral ? " ephemeral" : ""}${m.bot_id || ephemeral ? " from-bot" : ""}`;
  node.dataset.ts = m.ts;
  const author = ephemeral ? ctx.bot.name : m.bot_id ? ctx.bot.name : ctx.userName(m.user);
  const badge = m.bot_id || ephemeral ? '<span class="badge">APP</span>' : "";
  const edited = m.edited ? '<span class="edited">(edited)</span>' : "";
  node.innerHTML = `<div class="avatar">${escapeHtml(author.slice(0, 1).toUpperCase())}</div>
    <div class="msg-main"><div class="msg-head"><b class="author">${escapeHtml(author)}</b>${badge}
    <time>${time(m.ts)}</time>${edited}</div></div>`;
  const main = node.querySelector(".msg-main");
  if (ephemeral) {
    main.appendChild(Object.assign(document.createElement("div"), {
      className: "only-you", innerHTML: 'Only visible to you · <button type="button" class="dismiss">Dismiss</button>',
    }));
  }
  if (m.stream?.tasks?.length) main.appendChild(timeline(m.stream));
  const body = onlyRichText(m.blocks)
    ? Object.assign(document.createElement("div"), { className: "msg-text", innerHTML: mrkdwn(m.text, ctx) })
    : renderBlocks(m.blocks, { ...ctx, onAction: (a) => ctx.act(ephemeral ? "ephemeral" : "message", m, a) });
  if (m.stream || m.blocks?.length || m.text) main.appendChild(body);
  if (m.stream?.state === "streaming") main.appendChild(Object.assign(document.createElement("span"), { className: "cursor", textContent: "▍" }));
  const status = !ephemeral && ctx.statuses?.[m.ts];
  if (status && !inThread) main.appendChild(statusNode(status, ctx));
  if (!inThread && !ephemeral && isRoot(m)) {
    const count = m.reply_count || 0;
    const link = document.createElement("button");
    link.type = "button";
    link.className = count ? "replies" : "reply-link";
    link.textContent = count ? `${count} ${count === 1 ? "reply" : "replies"}` : "Reply in thread";
    link.addEventListener("click", () => ctx.openThread(m.ts));
    main.appendChild(link);
  }
  node.querySelector(".dismiss")?.addEventListener("click", () => ctx.dismiss(m.ts));
  return node;
}

function fill(container, items, ctx, inThread) {
  const atBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 40;
  container.replaceChildren(...items.map(([m, eph]) => messageNode(m, ctx, { ephemeral: eph, inThread })));
  if (atBottom || ctx.scrollToEnd) container.scrollTop = container.scrollHeight;
}

function byTs(a, b) {
  return parseFloat(a[0].ts) - parseFloat(b[0].ts);
}

export function renderSidebar(state, ui, ctx) {
  $("team-name").textContent = `${ctx.bot.name} · local workspace`;
  const status = $("bot-status");
  status.dataset.state = state.connected ? "online" : "offline";
  status.textContent = state.connected ? "bot online" : "bot starting…";
  $("bot-handle").textContent = state.bot.handle;
  $("home-label").textContent = `${state.bot.name} Home`;
  $("nav-home").classList.toggle("current", ui.tab === "home");
  const select = $("user-switch");
  const people = state.users.filter((u) => !u.is_bot);
  select.replaceChildren(...people.map((u) => Object.assign(document.createElement("option"), {
    value: u.name, textContent: u.real_name, selected: u.id === state.me,
  })));
  const item = (c, label) => {
    const li = document.createElement("li");
    const b = Object.assign(document.createElement("button"), { type: "button", className: "nav-item", innerHTML: label });
    b.dataset.channel = c.id;
    b.classList.toggle("current", ui.tab === "channel" && ui.channel === c.id);
    b.addEventListener("click", () => ctx.openChannel(c.id));
    li.appendChild(b);
    return li;
  };
  $("channel-list").replaceChildren(...state.channels.filter((c) => !c.is_im).map((c) => item(c, `# ${escapeHtml(c.name)}`)));
  $("dm-list").replaceChildren(...state.channels.filter((c) => c.is_im).map((c) => item(c, `<span class="dot"></span>${escapeHtml(state.bot.name)}`)));
}

export function renderConversation(state, ui, ctx) {
  const channel = state.channels.find((c) => c.id === ui.channel);
  const home = ui.tab === "home";
  $("messages").hidden = home;
  $("composer").hidden = home;
  $("home").hidden = !home;
  if (home) {
    $("prompts").hidden = true;
    $("pane-title").innerHTML = `${escapeHtml(state.bot.name)} · Home`;
    const view = state.home;
    $("home").replaceChildren(view
      ? renderBlocks(view.blocks, { ...ctx, onAction: (a) => ctx.act("home", null, a) })
      : Object.assign(document.createElement("p"), { className: "empty", textContent: "The bot has not published a Home tab yet." }));
    return;
  }
  if (!channel) return;
  $("pane-title").innerHTML = channel.is_im ? escapeHtml(state.bot.name) : `# ${escapeHtml(channel.name)}`;
  $("message-input").placeholder = channel.is_im ? `Message ${state.bot.name}` : `Message #${channel.name}`;
  const messages = (state.messages[channel.id] || []).filter(isRoot).map((m) => [m, false]);
  const whispers = state.ephemerals.filter((e) => e.channel === channel.id && !e.thread_ts).map((e) => [e, true]);
  fill($("messages"), [...messages, ...whispers].sort(byTs), { ...ctx, statuses: state.statuses?.[channel.id] }, false);
  renderPrompts(state, channel, ctx);
}

// The agent DM's suggested prompts, above the composer; a click sends the prompt as my message.
function renderPrompts(state, channel, ctx) {
  const box = $("prompts");
  const set = channel.is_im ? state.prompts?.[channel.id] : null;
  box.hidden = !set;
  if (!set) return;
  box.replaceChildren(Object.assign(document.createElement("div"), { className: "prompts-title", textContent: set.title || "Suggested" }));
  for (const prompt of set.prompts || []) {
    const chip = Object.assign(document.createElement("button"), { type: "button", className: "prompt", textContent: prompt.title });
    chip.title = prompt.message;
    chip.dataset.message = prompt.message;
    chip.addEventListener("click", () => ctx.ask(prompt.message));
    box.appendChild(chip);
  }
}

export function renderThread(state, ui, ctx) {
  const pane = $("thread");
  const all = state.messages[ui.channel] || [];
  const root = ui.tab === "channel" && ui.thread ? all.find((m) => m.ts === ui.thread) : null;
  pane.hidden = !root;
  if (!root) return;
  const replies = all.filter((m) => m.thread_ts === root.ts).map((m) => [m, false]);
  const whispers = state.ephemerals.filter((e) => e.channel === ui.channel && e.thread_ts === root.ts).map((e) => [e, true]);
  fill($("thread-messages"), [...replies, ...whispers].sort(byTs), ctx, true);
  const status = state.statuses?.[ui.channel]?.[root.ts];
  if (status) $("thread-messages").appendChild(statusNode(status, ctx));
}

export function renderModal(state, ui, ctx) {
  const backdrop = $("modal-backdrop");
  const modal = state.modal;
  backdrop.hidden = !modal;
  if (!modal) {
    ui.modalKey = null;
    return;
  }
  const key = `${modal.id}:${modal.hash}:${JSON.stringify(modal.errors)}`;
  if (ui.modalKey === key) return;  // unchanged: keep what is being typed
  const form = $("modal");
  // Only the errors changed (the same view): keep what the person typed, as Slack does.
  const kept = ui.modalKey?.startsWith(`${modal.id}:${modal.hash}:`) ? inputValues(form) : null;
  // A searched list's choice is not among the options drawn anew: keep its label to put it back.
  const labels = Object.fromEntries([...form.querySelectorAll("select[data-block-id]")]
    .map((select) => [select.dataset.blockId, select.selectedOptions[0]?.textContent || ""]));
  ui.modalKey = key;
  form.dataset.viewId = modal.id;
  form.innerHTML = `<header><h2>${plain(modal.title)}</h2></header>`;
  form.appendChild(renderBlocks(modal.blocks, { ...ctx, errors: modal.errors, onAction: (a) => ctx.act("view", null, a) }));
  const buttons = Object.assign(document.createElement("div"), { className: "dialog-buttons" });
  const close = Object.assign(document.createElement("button"), { type: "button", className: "bk-button", textContent: modal.close || "Cancel" });
  close.dataset.role = "close";
  close.addEventListener("click", () => ctx.closeModal(modal.id));
  buttons.appendChild(close);
  if (modal.submit) {
    const submit = Object.assign(document.createElement("button"), { type: "submit", className: "bk-button bk-primary", textContent: modal.submit });
    submit.dataset.role = "submit";
    buttons.appendChild(submit);
  }
  form.appendChild(buttons);
  for (const [blockId, actions] of Object.entries(kept || {})) {
    const field = form.querySelector(`[name="${CSS.escape(blockId)}"]`);
    const value = Object.values(actions)[0];
    if (!field || value === null) continue;
    if (field.tagName === "SELECT" && ![...field.options].some((o) => o.value === value)) {
      field.appendChild(Object.assign(document.createElement("option"), { value, textContent: labels[blockId] || value }));
    }
    field.value = value;
  }
}
