// Slack's text formats rendered as DOM nodes: mrkdwn (bold, italic, strike, code, quotes,
// mentions, links) and plain_text. Every piece of text ends up in a text node.

import { h } from "./dom.js";

const ENTITIES = { "&lt;": "<", "&gt;": ">", "&amp;": "&" };
const MARKS = { "*": "strong", _: "em", "~": "s" };
// The shortcodes a bot is likely to use; others stay as written.
const EMOJI = {
  arrows_counterclockwise: "🔄",
  clock4: "🕓",
  eyes: "👀",
  hourglass_flowing_sand: "⏳",
  information_source: "ℹ️",
  key: "🔑",
  large_green_circle: "🟢",
  large_orange_circle: "🟠",
  lock: "🔒",
  red_circle: "🔴",
  rocket: "🚀",
  stop_button: "⏹️",
  tada: "🎉",
  warning: "⚠️",
  white_check_mark: "✅",
  x: "❌",
};
const SAFE_LINK = /^(https?:|mailto:)/i;

/** `&lt;`, `&gt;` and `&amp;` back to the characters Slack escaped. */
export function decodeEntities(text) {
  return text.replace(/&(lt|gt|amp);/g, (entity) => ENTITIES[entity]);
}

/** Replace known `:shortcode:` emoji. */
export function emojify(text) {
  return text.replace(/:([a-z0-9_+-]+):/g, (match, name) => EMOJI[name] || match);
}

/** A text object (`plain_text` or `mrkdwn`) as nodes. */
export function textObject(object, directory) {
  if (!object || typeof object.text !== "string") return document.createDocumentFragment();
  if (object.type === "mrkdwn") return mrkdwn(object.text, directory);
  const text = object.emoji === false ? object.text : emojify(object.text);
  return document.createTextNode(text);
}

/** A text object's words, for labels and titles. */
export function plainText(object) {
  if (!object || typeof object.text !== "string") return "";
  return object.type === "mrkdwn" ? decodeEntities(object.text) : emojify(object.text);
}

/**
 * mrkdwn as a fragment. `directory` names users, channels and user groups: {user(id),
 * channel(id), usergroup(id), isYou(id), openChannel(id)}.
 */
export function mrkdwn(text, directory) {
  const fragment = document.createDocumentFragment();
  const codeBlock = /```([\s\S]*?)```/g;
  let last = 0;
  for (const match of text.matchAll(codeBlock)) {
    lines(text.slice(last, match.index), directory, fragment);
    fragment.append(h("pre", { class: "mrkdwn-pre" }, decodeEntities(match[1].replace(/^\n/, ""))));
    last = match.index + match[0].length;
  }
  lines(text.slice(last), directory, fragment);
  return fragment;
}

function lines(text, directory, out) {
  if (!text) return;
  let quote = null;
  let first = true;
  for (const line of text.split("\n")) {
    const quoted = /^(&gt;|>) ?/.exec(line);
    if (quoted) {
      if (!quote) {
        quote = h("blockquote", { class: "mrkdwn-quote" });
        out.append(quote);
      } else {
        quote.append(h("br"));
      }
      inline(line.slice(quoted[0].length), directory, quote);
      first = true;
      continue;
    }
    quote = null;
    if (!first) out.append(h("br"));
    inline(line, directory, out);
    first = false;
  }
}

function inline(text, directory, out) {
  let plain = "";
  const flush = () => {
    if (plain) out.append(document.createTextNode(emojify(decodeEntities(plain))));
    plain = "";
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "`") {
      const end = text.indexOf("`", i + 1);
      if (end > i + 1) {
        flush();
        out.append(h("code", { class: "mrkdwn-code" }, decodeEntities(text.slice(i + 1, end))));
        i = end + 1;
        continue;
      }
    } else if (c === "<") {
      const end = text.indexOf(">", i + 1);
      const inner = end > i + 1 ? text.slice(i + 1, end) : "";
      if (inner && !inner.includes("<")) {
        flush();
        out.append(special(inner, directory));
        i = end + 1;
        continue;
      }
    } else if (c in MARKS && opens(text, i)) {
      const end = closing(text, i);
      if (end > 0) {
        flush();
        const styled = h(MARKS[c]);
        inline(text.slice(i + 1, end), directory, styled);
        out.append(styled);
        i = end + 1;
        continue;
      }
    }
    plain += c;
    i += 1;
  }
  flush();
}

const WORD = /[\p{L}\p{N}]/u;

function opens(text, i) {
  const before = i === 0 ? " " : text[i - 1];
  const after = text[i + 1];
  return !WORD.test(before) && after !== undefined && !/\s/.test(after) && after !== text[i];
}

function closing(text, i) {
  const mark = text[i];
  for (let j = i + 2; j < text.length; j += 1) {
    if (text[j] !== mark) continue;
    const after = j + 1 < text.length ? text[j + 1] : " ";
    if (!/\s/.test(text[j - 1]) && !WORD.test(after)) return j;
  }
  return -1;
}

function special(inner, directory) {
  const [target, ...rest] = inner.split("|");
  const label = rest.length ? decodeEntities(rest.join("|")) : null;
  if (target.startsWith("@")) {
    const id = target.slice(1);
    const name = label ? label.replace(/^@/, "") : directory.user(id);
    return h("span", { class: `mention${directory.isYou(id) ? " mention-you" : ""}` }, `@${name}`);
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    const name = label || directory.channel(id);
    return h(
      "button",
      {
        type: "button",
        class: "mention mention-channel",
        onclick: () => directory.openChannel(id),
      },
      `#${name}`,
    );
  }
  if (target.startsWith("!date^")) {
    return document.createTextNode(formatDate(target, label));
  }
  if (target.startsWith("!subteam^")) {
    const name = label ? label.replace(/^@/, "") : directory.usergroup(target.split("^")[1]);
    return h("span", { class: "mention" }, `@${name}`);
  }
  if (target.startsWith("!")) {
    const keyword = target.slice(1).split("^")[0];
    const shown =
      label || (["here", "channel", "everyone"].includes(keyword) ? `@${keyword}` : keyword);
    return h("span", { class: "mention mention-broadcast" }, shown);
  }
  const url = decodeEntities(target);
  if (!SAFE_LINK.test(url)) return document.createTextNode(label || url);
  // Permalinks into the playground itself open in place; other links in a new tab.
  const here = url.startsWith(`${location.origin}/`);
  return h(
    "a",
    { href: url, target: here ? null : "_blank", rel: here ? null : "noopener noreferrer" },
    label || url,
  );
}

/** `<!date^SECONDS^{tokens}|fallback>` in the reader's time zone, as Slack shows it. */
function formatDate(target, fallback) {
  const [, seconds, template] = target.split("^");
  const moment = new Date(Number(seconds) * 1000);
  if (!template || Number.isNaN(moment.getTime())) return fallback || "";
  const day = (options) => moment.toLocaleDateString([], options);
  const pretty = (options) => {
    const days = Math.round((startOfDay(new Date()) - startOfDay(moment)) / 86400000);
    return days === 0
      ? "today"
      : days === 1
        ? "yesterday"
        : days === -1
          ? "tomorrow"
          : day(options);
  };
  const short = { month: "short", day: "numeric", year: "numeric" };
  const long = { weekday: "long", month: "long", day: "numeric", year: "numeric" };
  const tokens = {
    date_num: () => moment.toISOString().slice(0, 10),
    date: () => day({ month: "long", day: "numeric", year: "numeric" }),
    date_short: () => day(short),
    date_long: () => day(long),
    date_pretty: () => pretty({ month: "long", day: "numeric", year: "numeric" }),
    date_short_pretty: () => pretty(short),
    date_long_pretty: () => pretty(long),
    time: () => moment.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" }),
    time_secs: () =>
      moment.toLocaleTimeString([], { hour: "numeric", minute: "2-digit", second: "2-digit" }),
    ago: () => ago(moment),
  };
  return decodeEntities(template).replace(/\{(\w+)\}/g, (match, name) =>
    tokens[name] ? tokens[name]() : match,
  );
}

function startOfDay(moment) {
  return new Date(moment.getFullYear(), moment.getMonth(), moment.getDate()).getTime();
}

function ago(moment) {
  const seconds = Math.round((Date.now() - moment.getTime()) / 1000);
  const steps = [
    [60, "second"],
    [60, "minute"],
    [24, "hour"],
    [Infinity, "day"],
  ];
  let value = Math.abs(seconds);
  for (const [size, unit] of steps) {
    if (value < size) {
      return new Intl.RelativeTimeFormat([], { numeric: "auto" }).format(
        seconds > 0 ? -value : value,
        unit,
      );
    }
    value = Math.round(value / size);
  }
  return "";
}
