// The confirmation dialog of a button with `confirm`, and a short-lived notice for errors.

import { mrkdwn, plain } from "./mrkdwn.js";

function textOf(obj, ctx) {
  if (!obj) return "";
  return obj.type === "mrkdwn" ? mrkdwn(obj.text, ctx) : plain(obj.text);
}

/** Show Slack's confirm dialog ({title, text, confirm, deny, style}); resolves true on confirm. */
export function confirmDialog(spec, ctx) {
  const backdrop = document.getElementById("confirm-backdrop");
  const box = document.getElementById("confirm");
  box.innerHTML = "";
  const title = document.createElement("h2");
  title.innerHTML = textOf(spec.title, ctx) || "Are you sure?";
  const text = document.createElement("div");
  text.className = "confirm-text";
  text.innerHTML = textOf(spec.text, ctx);
  const buttons = document.createElement("div");
  buttons.className = "dialog-buttons";
  const deny = document.createElement("button");
  deny.type = "button";
  deny.className = "bk-button";
  deny.dataset.role = "deny";
  deny.innerHTML = textOf(spec.deny, ctx) || "Cancel";
  const yes = document.createElement("button");
  yes.type = "button";
  yes.className = `bk-button ${spec.style === "danger" ? "bk-danger" : "bk-primary"}`;
  yes.dataset.role = "confirm";
  yes.innerHTML = textOf(spec.confirm, ctx) || "Yes";
  buttons.append(deny, yes);
  box.append(title, text, buttons);
  backdrop.hidden = false;
  return new Promise((resolve) => {
    const done = (answer) => {
      backdrop.hidden = true;
      resolve(answer);
    };
    deny.addEventListener("click", () => done(false), { once: true });
    yes.addEventListener("click", () => done(true), { once: true });
  });
}

let toastTimer = null;

/** A notice at the bottom of the page, e.g. what the workspace refused and why. */
export function toast(message) {
  const node = document.getElementById("toast");
  node.textContent = message;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, 6000);
}
