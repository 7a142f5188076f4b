// The page's controller: who I am, where I am, the long-poll of the workspace's state, and what
// my clicks and keystrokes send to the emulator (which passes them on to the bot as Slack would).

import { inputValues } from "./blocks.js";
import { toast } from "./dialogs.js";
import { names, renderConversation, renderModal, renderSidebar, renderThread } from "./render.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const ui = {
  user: params.get("user") || localStorage.getItem("workspace-user") || "",
  channel: params.get("channel") || "",
  tab: params.get("tab") === "home" ? "home" : "channel",
  thread: null,
  state: null,
  modalKey: null,
  generation: 0,
  controller: null,
};

async function send(action, body) {
  const response = await fetch(`/ui/${action}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user: ui.user || ui.state?.me, ...body }),
  });
  const answer = await response.json().catch(() => ({ ok: false, error: `HTTP ${response.status}` }));
  if (!answer.ok) toast(answer.error || "the workspace refused that");
  return answer;
}

const ctx = {
  act(where, message, action) {
    const body = { where, ...action };
    if (where === "message") Object.assign(body, { channel: ui.channel, ts: message.ts });
    if (where === "ephemeral") body.ts = message.ts;
    if (where === "view") body.view_id = ui.state?.modal?.id;
    return send("click", body);
  },
  openThread(ts) {
    ui.thread = ts;
    draw({ scrollToEnd: true });
    $("thread-input").focus();
  },
  openPermalink(url) {
    // https://<team>.slack.com/archives/<channel>/p<ts without its dot>[?thread_ts=<ts>&cid=<channel>]
    let parsed;
    try { parsed = new URL(url); } catch { return false; }
    const match = parsed.pathname.match(/^\/archives\/([A-Z0-9]+)\/p(\d{7,})$/);
    if (!match || parsed.hostname !== `${ui.state?.team}.slack.com`) return false;
    const ts = `${match[2].slice(0, -6)}.${match[2].slice(-6)}`;
    Object.assign(ui, { channel: match[1], tab: "channel", thread: parsed.searchParams.get("thread_ts") || ts });
    remember();
    draw({ scrollToEnd: true });
    return true;
  },
  openChannel(id) {
    Object.assign(ui, { channel: id, tab: "channel", thread: null });
    remember();
    draw({ scrollToEnd: true });
    // Opening the agent DM is opening the app's Messages tab: the app may set suggested prompts.
    if (ui.state?.channels.find((c) => c.id === id)?.is_im) send("home", { tab: "messages" });
  },
  ask: (text) => send("post", { channel: ui.channel, text }),
  dismiss: (ts) => send("dismiss", { ts }),
  closeModal: (viewId) => send("close", { view_id: viewId }),
  suggest: (blockId, value) => send("suggest", { view_id: ui.state?.modal?.id, block_id: blockId, value }),
};

function remember() {
  const query = new URLSearchParams({ user: ui.user, channel: ui.channel });
  if (ui.tab === "home") query.set("tab", "home");
  history.replaceState(null, "", `?${query}`);
  localStorage.setItem("workspace-user", ui.user);
}

function draw(extra = {}) {
  const state = ui.state;
  if (!state) return;
  if (!state.channels.some((c) => c.id === ui.channel)) {
    ui.channel = (state.channels.find((c) => !c.is_im) || state.channels[0])?.id || "";
  }
  const full = { ...ctx, ...names(state), bot: state.bot, ...extra };
  renderSidebar(state, ui, full);
  renderConversation(state, ui, full);
  renderThread(state, ui, full);
  renderModal(state, ui, full);
  document.body.dataset.version = state.version;
  document.body.dataset.me = state.me;
}

// One long-poll loop per person shown; switching person starts a new loop and ends the old one.
async function follow() {
  const generation = ++ui.generation;
  ui.controller?.abort();
  ui.controller = new AbortController();
  let after = -1;
  while (generation === ui.generation) {
    try {
      const query = new URLSearchParams({ user: ui.user, after: String(after) });
      const response = await fetch(`/ui/state?${query}`, { signal: ui.controller.signal });
      const state = await response.json();
      if (generation !== ui.generation) return;
      if (!response.ok) {
        toast(state.error || `HTTP ${response.status}`);
        ui.user = "";
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      const first = ui.state === null || ui.state.me !== state.me;
      ui.state = state;
      ui.user = state.users.find((u) => u.id === state.me)?.name || ui.user;
      after = state.version;
      draw({ scrollToEnd: first });
      if (first) {
        remember();
        if (ui.tab === "home") send("home", {});  // opening the tab is what tells the app to publish it
      }
    } catch (error) {
      if (error.name === "AbortError") return;
      $("bot-status").dataset.state = "offline";
      $("bot-status").textContent = "workspace stopped";
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function composer(formId, inputId, thread) {
  const form = $(formId);
  const input = $(inputId);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    const answer = await send("post", { channel: ui.channel, text, thread_ts: thread() });
    if (answer.ok) input.value = "";
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
}

composer("composer", "message-input", () => null);
composer("thread-composer", "thread-input", () => ui.thread);
$("thread-close").addEventListener("click", () => { ui.thread = null; draw(); });
$("nav-home").addEventListener("click", () => {
  Object.assign(ui, { tab: "home", thread: null });
  remember();
  draw();
  send("home", {});
});
$("user-switch").addEventListener("change", (event) => {
  // The open conversation and thread stay: the point is to see the same card as someone else.
  Object.assign(ui, { user: event.target.value, state: null, modalKey: null });
  remember();
  follow();
});
document.addEventListener("keydown", (event) => {
  // Escape closes the open modal, as in Slack (a confirmation dialog on top answers for itself).
  if (event.key === "Escape" && ui.state?.modal && $("confirm-backdrop").hidden) ctx.closeModal(ui.state.modal.id);
});
$("modal").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  send("submit", { view_id: form.dataset.viewId, values: inputValues(form) });
});

follow();
