// Slack's mrkdwn to HTML, as the Slack client shows it.
// Text arrives Slack-escaped (&amp; &lt; &gt;): a literal "<" only ever opens a link, a user or
// channel mention, or a special mention, so those are found first and everything else is escaped.

const HTML = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const SLACK = { "&amp;": "&", "&lt;": "<", "&gt;": ">" };
// The shortcodes the bot and Slack's own messages commonly use; others stay as typed.
const EMOJI = {
  white_check_mark: "✅", heavy_check_mark: "✔️", x: "❌", warning: "⚠️", hourglass: "⌛",
  hourglass_flowing_sand: "⏳", no_entry_sign: "🚫", no_entry: "⛔", memo: "📝", calendar: "📅",
  chart_with_upwards_trend: "📈", chart_with_downwards_trend: "📉", bell: "🔔", tada: "🎉",
  moneybag: "💰", email: "✉️", envelope: "✉️", wave: "👋", mag: "🔍", rotating_light: "🚨", fire: "🔥",
  eyes: "👀", ticket: "🎫", bust_in_silhouette: "👤", office: "🏢", pushpin: "📌", link: "🔗",
  information_source: "ℹ️", large_green_circle: "🟢", large_yellow_circle: "🟡", red_circle: "🔴",
  clock3: "🕒", robot_face: "🤖", busts_in_silhouette: "👥", handshake: "🤝", zzz: "💤",
};

export function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => HTML[c]);
}

function unslack(text) {
  return text.replace(/&(amp|lt|gt);/g, (m) => SLACK[m]);
}

export function emoji(html) {
  return html.replace(/:([a-z0-9_+-]+):/g, (m, name) => EMOJI[name] ?? m);
}

/** Plain text as Slack shows it: escaped, with emoji shortcodes when `withEmoji`. */
export function plain(text, withEmoji = true) {
  const html = escapeHtml(text);
  return withEmoji ? emoji(html) : html;
}

// *bold*, _italic_, ~strike~: the markers must hug the words, as Slack requires.
function styles(html) {
  return html
    .replace(/(^|[^\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])/g, "$1<b>$2</b>")
    .replace(/(^|[^\w])_(?!\s)([^_\n]+?)_(?!\w)/g, "$1<i>$2</i>")
    .replace(/(^|[^\w~])~(?!\s)([^~\n]+?)~(?![\w~])/g, "$1<s>$2</s>");
}

function textPart(text) {
  return emoji(styles(escapeHtml(unslack(text))));
}

function safeUrl(url) {
  return /^(https?:|mailto:)/i.test(url) ? url : null;
}

// One <…> token: <@U1>, <#C1|name>, <!here>, <https://x|label>.
function token(inner, ctx) {
  const [target, label] = inner.split("|", 2);
  if (target.startsWith("@")) {
    const name = ctx.userName(target.slice(1));
    return `<span class="mention" data-user="${escapeHtml(target.slice(1))}">@${escapeHtml(name)}</span>`;
  }
  if (target.startsWith("#")) {
    const dm = ctx.dmName?.(target.slice(1));
    if (dm) return `<span class="mention channel dm">${escapeHtml(dm)}</span>`;
    const name = label || ctx.channelName(target.slice(1));
    return `<span class="mention channel">#${escapeHtml(unslack(name))}</span>`;
  }
  if (target.startsWith("!date^")) {
    // <!date^1700000000^{date_short} {time}|fallback>: the reader's own time zone, as Slack shows it.
    const seconds = Number(target.split("^")[1]);
    const shown = Number.isFinite(seconds) ? new Date(seconds * 1000).toLocaleString([], { dateStyle: "medium", timeStyle: "short", timeZone: ctx?.tz || undefined }) : unslack(label || "");
    return `<time class="date">${escapeHtml(shown)}</time>`;
  }
  if (target.startsWith("!")) {
    const word = (label || target.slice(1).split("^")[0]).replace(/^subteam\^/, "");
    return `<span class="mention">@${escapeHtml(unslack(word))}</span>`;
  }
  const url = safeUrl(unslack(target));
  const shown = label ? textPart(label) : escapeHtml(unslack(target));
  return url ? `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${shown}</a>` : shown;
}

function line(text, ctx) {
  // Inline code first: nothing inside it is formatted.
  return text.split(/(`[^`\n]+`)/).map((part) => {
    if (/^`[^`\n]+`$/.test(part)) return `<code>${escapeHtml(unslack(part.slice(1, -1)))}</code>`;
    return part.split(/(<[^<>\n]+>)/).map((piece) => (
      /^<[^<>\n]+>$/.test(piece) ? token(piece.slice(1, -1), ctx) : textPart(piece)
    )).join("");
  }).join("");
}

function lines(text, ctx) {
  const out = [];
  let quote = [];
  const flush = () => {
    if (quote.length) out.push(`<blockquote>${quote.join("<br>")}</blockquote>`);
    quote = [];
  };
  for (const raw of text.split("\n")) {
    const quoted = /^&gt; ?/.exec(raw);
    if (quoted) {
      quote.push(line(raw.slice(quoted[0].length), ctx));
      continue;
    }
    flush();
    out.push(line(raw, ctx) + "<br>");
  }
  flush();
  return out.join("").replace(/<br>$/, "");
}

/** mrkdwn text -> HTML; ctx names users and channels: {userName(id), channelName(id)}. */
export function mrkdwn(text, ctx) {
  return String(text ?? "").split("```").map((segment, i) => (
    i % 2 === 1 ? `<pre>${escapeHtml(unslack(segment.replace(/^\n/, "")))}</pre>` : lines(segment, ctx)
  )).join("");
}
