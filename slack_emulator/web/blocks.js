// Block Kit to DOM: header, section (text, fields, accessory), context, divider, actions, image,
// rich_text, markdown (a streamed answer's text), context_actions (feedback buttons under an
// answer) and, in modals, input blocks. Buttons carry their action_id, block_id and value, and
// ask for confirmation first when the button has a `confirm` dialog, as Slack does.

import { escapeHtml, mrkdwn, plain } from "./mrkdwn.js";
import { confirmDialog } from "./dialogs.js";

function el(tag, className, html) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (html !== undefined) node.innerHTML = html;
  return node;
}

/** A text object ({type: mrkdwn | plain_text, text}) as HTML. */
export function textHtml(obj, ctx) {
  if (!obj) return "";
  if (typeof obj === "string") return plain(obj);
  return obj.type === "mrkdwn" ? mrkdwn(obj.text, ctx) : plain(obj.text, obj.emoji !== false);
}

function button(element, block, ctx) {
  const node = el("button", `bk-button${element.style ? ` bk-${element.style}` : ""}`, textHtml(element.text, ctx));
  node.type = "button";
  node.dataset.actionId = element.action_id || "";
  node.dataset.blockId = block.block_id || "";
  if (element.value !== undefined) node.dataset.value = element.value;
  node.addEventListener("click", async () => {
    // A permalink into this workspace opens in place, as in Slack's own client; other URLs in a new tab.
    if (element.url && ctx.openPermalink?.(element.url)) { /* opened here */ }
    else if (element.url && /^https?:/i.test(element.url)) window.open(element.url, "_blank", "noopener");
    if (element.confirm && !(await confirmDialog(element.confirm, ctx))) return;
    ctx.onAction({ action_id: element.action_id, block_id: block.block_id, value: element.value });
  });
  return node;
}

function element(elementObj, block, ctx) {
  switch (elementObj.type) {
    case "button":
      return button(elementObj, block, ctx);
    case "image":
      return image(elementObj);
    case "feedback_buttons":
      return feedbackButtons(elementObj, block, ctx);
    case "mrkdwn":
    case "plain_text":
      return el("span", "bk-text", textHtml(elementObj, ctx));
    default: {
      // Selects, overflow menus and date pickers outside modals: shown, not interactive here.
      const label = elementObj.placeholder ? textHtml(elementObj.placeholder, ctx) : escapeHtml(elementObj.type);
      return el("span", "bk-unsupported", label);
    }
  }
}

/** Markdown as streamed answers carry it, shown through the mrkdwn renderer: **bold** and
 * [label](url) become their mrkdwn forms first. */
export function markdownHtml(text, ctx) {
  const converted = String(text || "")
    .replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, "<$2|$1>")
    .replace(/\*\*(?!\s)([^*\n]+?)\*\*/g, "*$1*");
  return mrkdwn(converted, ctx);
}

// The thumbs under an answer: two buttons; the clicked one's value says which.
function feedbackButtons(elementObj, block, ctx) {
  const node = el("span", "bk-feedback");
  for (const [side, icon] of [["positive_button", "👍"], ["negative_button", "👎"]]) {
    const spec = elementObj[side] || {};
    const b = el("button", "bk-button bk-thumb", `${icon} ${textHtml(spec.text, ctx)}`);
    b.type = "button";
    b.title = spec.accessibility_label || "";
    b.dataset.actionId = elementObj.action_id || "";
    b.dataset.blockId = block.block_id || "";
    b.dataset.value = spec.value || "";
    b.dataset.side = side;
    b.addEventListener("click", () => {
      node.querySelectorAll("button").forEach((other) => other.classList.toggle("chosen", other === b));
      ctx.onAction({ action_id: elementObj.action_id, block_id: block.block_id, value: spec.value });
    });
    node.appendChild(b);
  }
  return node;
}

function image(obj) {
  const node = el("img", "bk-image");
  node.src = obj.image_url || "";
  node.alt = obj.alt_text || "";
  node.title = obj.alt_text || "";
  return node;
}

function richText(block, ctx) {
  // What people type arrives as rich_text; render its sections as mrkdwn-like inline text.
  const node = el("div", "bk-rich");
  const inline = (items) => (items || []).map((item) => {
    if (item.type === "user") return mrkdwn(`<@${item.user_id}>`, ctx);
    if (item.type === "channel") return mrkdwn(`<#${item.channel_id}>`, ctx);
    if (item.type === "link") return mrkdwn(`<${item.url}|${item.text || item.url}>`, ctx);
    if (item.type === "emoji") return plain(`:${item.name}:`);
    return escapeHtml(item.text || "").replace(/\n/g, "<br>");
  }).join("");
  for (const part of block.elements || []) {
    const tag = { rich_text_preformatted: "pre", rich_text_quote: "blockquote", rich_text_list: "ul" }[part.type] || "div";
    const html = part.type === "rich_text_list"
      ? (part.elements || []).map((item) => `<li>${inline(item.elements)}</li>`).join("")
      : inline(part.elements);
    node.appendChild(el(tag, "", html));
  }
  return node;
}

function input(block, ctx) {
  const node = el("div", "bk-input");
  const id = `input-${block.block_id}`;
  const label = el("label", "bk-label", textHtml(block.label, ctx) + (block.optional ? ' <span class="optional">(optional)</span>' : ""));
  label.htmlFor = id;
  node.appendChild(label);
  const spec = block.element || {};
  let field;
  if (spec.type === "static_select") {
    field = el("select");
    field.appendChild(el("option", "", ""));
    for (const option of spec.options || []) field.appendChild(optionNode(option, spec.initial_option, ctx));
  } else if (spec.type === "users_select") {
    // Slack's person picker: everyone of the workspace who is a person, by name.
    field = el("select");
    field.appendChild(el("option", "", ""));
    for (const person of ctx.people || []) {
      const opt = el("option", "", escapeHtml(person.real_name || person.name));
      opt.value = person.id;
      opt.selected = spec.initial_user === person.id;
      field.appendChild(opt);
    }
  } else if (spec.type === "external_select") {
    field = externalSelect(block, spec, ctx, node);
  } else if (spec.multiline) {
    field = el("textarea");
    field.rows = 4;
  } else {
    field = el("input");
    field.type = { datepicker: "date", timepicker: "time", datetimepicker: "datetime-local", number_input: "number",
      email_text_input: "email", url_text_input: "url" }[spec.type] || "text";
    if (spec.type === "number_input") field.step = spec.is_decimal_allowed ? "any" : "1";
  }
  field.id = id;
  field.name = block.block_id;
  field.dataset.blockId = block.block_id;
  field.dataset.actionId = spec.action_id || "";
  field.dataset.kind = spec.type || "plain_text_input";
  const initial = spec.initial_value ?? spec.initial_date ?? spec.initial_time
    ?? (spec.initial_date_time !== undefined ? localDateTime(spec.initial_date_time, ctx.tz) : "");
  if (field.tagName !== "SELECT") field.value = initial;
  if (spec.placeholder) field.placeholder = spec.placeholder.text || "";
  if (spec.max_length) field.maxLength = spec.max_length;
  node.appendChild(field);
  if (block.hint) node.appendChild(el("div", "bk-hint", textHtml(block.hint, ctx)));
  const error = ctx.errors?.[block.block_id];
  if (error) node.appendChild(el("div", "bk-error", escapeHtml(error)));
  return node;
}

function optionNode(option, initial, ctx) {
  const opt = el("option", "", textHtml(option.text, ctx));
  opt.value = option.value;
  opt.selected = initial?.value === option.value;
  return opt;
}

/** UNIX seconds as the "YYYY-MM-DDTHH:MM" a date-time input shows, in the person's time zone. */
function localDateTime(seconds, tz) {
  const parts = new Intl.DateTimeFormat("sv-SE", { timeZone: tz || "UTC", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(seconds * 1000));
  return parts.replace(" ", "T");
}

/** An external_select: a search box above a list the app fills (block_suggestion) as the person types. */
function externalSelect(block, spec, ctx, node) {
  const search = el("input", "bk-search");
  search.type = "search";
  search.placeholder = spec.placeholder?.text || "Search…";
  search.dataset.searchFor = block.block_id;
  node.appendChild(search);
  const field = el("select");
  field.appendChild(el("option", "", ""));
  if (spec.initial_option) field.appendChild(optionNode(spec.initial_option, spec.initial_option, ctx));
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (search.value.trim().length < (spec.min_query_length ?? 3)) return;
      const answer = await ctx.suggest(block.block_id, search.value);
      const chosen = field.value;
      field.innerHTML = "";
      field.appendChild(el("option", "", ""));
      for (const option of answer.options || []) field.appendChild(optionNode(option, { value: chosen }, ctx));
      if ((answer.options || []).length && !chosen) field.value = answer.options[0].value;
      field.dataset.loaded = String((answer.options || []).length);
    }, 200);
  });
  return field;
}

function block(b, ctx) {
  switch (b.type) {
    case "header":
      return el("h2", "bk-header", textHtml(b.text, ctx));
    case "divider":
      return el("hr", "bk-divider");
    case "image":
      return image(b);
    case "rich_text":
      return richText(b, ctx);
    case "input":
      return input(b, ctx);
    case "context": {
      const node = el("div", "bk-context");
      for (const item of b.elements || []) node.appendChild(element(item, b, ctx));
      return node;
    }
    case "markdown":
      return el("div", "bk-markdown msg-text", markdownHtml(b.text, ctx));
    case "context_actions": {
      const node = el("div", "bk-context-actions");
      for (const item of b.elements || []) node.appendChild(element(item, b, ctx));
      return node;
    }
    case "actions": {
      const node = el("div", "bk-actions");
      for (const item of b.elements || []) node.appendChild(element(item, b, ctx));
      return node;
    }
    case "section": {
      const node = el("div", "bk-section");
      const body = el("div", "bk-section-body");
      if (b.text) body.appendChild(el("div", "bk-section-text", textHtml(b.text, ctx)));
      if (b.fields?.length) {
        const grid = el("div", "bk-fields");
        for (const field of b.fields) grid.appendChild(el("div", "bk-field", textHtml(field, ctx)));
        body.appendChild(grid);
      }
      node.appendChild(body);
      if (b.accessory) node.appendChild(el("div", "bk-accessory")).appendChild(element(b.accessory, b, ctx));
      return node;
    }
    default:
      return el("div", "bk-unsupported", `[${escapeHtml(b.type)} block]`);
  }
}

/** Blocks as one element. ctx: {userName, channelName, onAction({action_id, block_id, value}), errors}. */
export function renderBlocks(blocks, ctx) {
  const node = el("div", "blocks");
  for (const b of blocks || []) {
    const rendered = block(b, ctx);
    if (b.block_id) rendered.dataset.blockId = b.block_id;
    node.appendChild(rendered);
  }
  return node;
}

/** The values of a modal's inputs, as {block_id: {action_id: value}} (null when empty). */
export function inputValues(form) {
  const values = {};
  for (const field of form.querySelectorAll("[data-block-id][data-action-id]")) {
    if (!["INPUT", "TEXTAREA", "SELECT"].includes(field.tagName)) continue;
    const value = field.value === "" ? null : field.value;
    values[field.dataset.blockId] = { [field.dataset.actionId]: value };
  }
  return values;
}
