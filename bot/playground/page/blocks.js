// Block Kit rendered as DOM: the blocks of messages, modals and the Home tab, and their
// interactive elements. What the bot sends is shown as Slack shows it, as far as a page can;
// blocks the playground does not draw say so instead of vanishing.

import { h, uniqueId } from "./dom.js";
import { emojify, plainText, textObject } from "./mrkdwn.js";

const SAFE_LINK = /^(https?:|mailto:)/i;
const TEXT_INPUTS = {
  plain_text_input: "text",
  email_text_input: "email",
  url_text_input: "url",
  number_input: "number",
};
const PICKERS = new Set(["datepicker", "timepicker", "checkboxes", "radio_buttons"]);
const SELECTS = new Set([
  "static_select",
  "multi_static_select",
  "users_select",
  "multi_users_select",
  "conversations_select",
  "multi_conversations_select",
  "channels_select",
  "multi_channels_select",
]);

const PICKABLE = new Set([...SELECTS, ...PICKERS, "external_select"]);

/**
 * Render blocks. `context` carries:
 *   directory  — user(id), channel(id), usergroup(id), isYou(id), openChannel(id), users(),
 *                channels()
 *   act(block, element, selection) — an interactive element was used
 *   inputs     — an array the input blocks' readers are pushed onto (modals)
 *   preserved  — {block_id: {action_id: state}} typed before a views.update, to keep
 *   suggest(block, element, value) — an external select's options, as the app answers
 *                `block_suggestion` (a Promise of options)
 */
export function renderBlocks(blocks, context) {
  const container = h("div", { class: "bk-blocks" });
  for (const block of blocks || []) container.append(renderBlock(block, context));
  return container;
}

function renderBlock(block, context) {
  const render = BLOCKS[block.type];
  if (!render) return unsupported(`a ${block.type} block`);
  return render(block, context);
}

const BLOCKS = {
  section(block, context) {
    const body = h("div", { class: "bk-section-body" });
    if (block.text)
      body.append(h("div", { class: "bk-text" }, textObject(block.text, context.directory)));
    if (block.fields?.length) {
      body.append(
        h(
          "div",
          { class: "bk-fields" },
          block.fields.map((field) =>
            h("div", { class: "bk-field" }, textObject(field, context.directory)),
          ),
        ),
      );
    }
    const section = h(
      "div",
      { class: "bk-block bk-section", dataset: { blockId: block.block_id || "" } },
      body,
    );
    if (block.accessory)
      section.append(h("div", { class: "bk-accessory" }, element(block, block.accessory, context)));
    return section;
  },
  header(block) {
    return h("h3", { class: "bk-block bk-header" }, plainText(block.text));
  },
  divider() {
    return h("hr", { class: "bk-block bk-divider" });
  },
  context(block, context) {
    return h(
      "div",
      { class: "bk-block bk-context" },
      (block.elements || []).map((item) =>
        item.type === "image"
          ? image(item)
          : h("span", { class: "bk-context-item" }, textObject(item, context.directory)),
      ),
    );
  },
  actions(block, context) {
    return h(
      "div",
      { class: "bk-block bk-actions", dataset: { blockId: block.block_id || "" } },
      (block.elements || []).map((item) => element(block, item, context)),
    );
  },
  image(block) {
    return h(
      "figure",
      { class: "bk-block bk-image-block" },
      image(block),
      block.title ? h("figcaption", {}, plainText(block.title)) : null,
    );
  },
  input(block, context) {
    return inputBlock(block, context);
  },
  rich_text(block, context) {
    return h(
      "div",
      { class: "bk-block bk-rich-text" },
      (block.elements || []).map((item) => richText(item, context)),
    );
  },
  markdown(block) {
    return h("div", { class: "bk-block bk-markdown" }, block.text || "");
  },
};

// -- interactive elements outside input blocks --------------------------------------------

function element(block, item, context) {
  if (item.type === "button") return button(block, item, context);
  if (item.type === "overflow") return overflow(block, item, context);
  if (item.type === "image") return image(item);
  if (PICKABLE.has(item.type)) {
    // Picking in a message or an actions block sends block_actions at once.
    const control = field(
      item,
      uniqueId("el"),
      undefined,
      { ...context, blockId: block.block_id },
      (selection) => context.act(block, item, selection),
    );
    return h("span", { class: "bk-inline-control" }, control.node);
  }
  return unsupported(`a ${item.type} element`);
}

function button(block, item, context) {
  const style =
    item.style === "primary" || item.style === "danger" ? ` bk-button-${item.style}` : "";
  return h(
    "button",
    {
      type: "button",
      class: `bk-button${style}`,
      dataset: { actionId: item.action_id || "" },
      onclick: () => {
        if (item.url && SAFE_LINK.test(item.url)) window.open(item.url, "_blank", "noopener");
        context.act(block, item, {});
      },
    },
    plainText(item.text),
  );
}

function overflow(block, item, context) {
  const menu = h("div", { class: "bk-overflow-menu", role: "menu", hidden: true });
  const toggle = h(
    "button",
    {
      type: "button",
      class: "bk-button bk-overflow",
      "aria-label": "More actions",
      "aria-haspopup": "menu",
      onclick: () => {
        menu.hidden = !menu.hidden;
      },
    },
    "⋯",
  );
  for (const option of item.options || []) {
    menu.append(
      h(
        "button",
        {
          type: "button",
          role: "menuitem",
          onclick: () => {
            menu.hidden = true;
            if (option.url && SAFE_LINK.test(option.url))
              window.open(option.url, "_blank", "noopener");
            context.act(block, item, { selected_option: option });
          },
        },
        plainText(option.text),
      ),
    );
  }
  return h("span", { class: "bk-overflow-wrap" }, toggle, menu);
}

function image(item) {
  // Images are not fetched: the playground works offline and loads nothing from elsewhere.
  return h(
    "span",
    { class: "bk-image", title: item.alt_text || "" },
    `🖼 ${item.alt_text || "image"}`,
  );
}

function unsupported(what) {
  return h(
    "div",
    { class: "bk-block bk-unsupported" },
    `(${what}: the playground does not draw this yet)`,
  );
}

// -- input blocks --------------------------------------------------------------------------

function inputBlock(block, context) {
  const item = block.element || {};
  const id = uniqueId("input");
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const restored = context.preserved?.[block.block_id]?.[item.action_id];
  const dispatch = block.dispatch_action
    ? (selection) => context.act(block, item, selection)
    : null;
  const control = field(
    item,
    id,
    restored,
    { ...context, blockId: block.block_id },
    dispatch,
    [hintId, errorId],
  );
  const error = h("p", { class: "bk-error", id: errorId, role: "alert", hidden: true });
  const wrapper = h(
    "div",
    { class: "bk-block bk-input", dataset: { blockId: block.block_id || "" } },
    h(
      control.group ? "span" : "label",
      control.group ? { class: "bk-label", id: `${id}-label` } : { class: "bk-label", for: id },
      plainText(block.label),
      block.optional ? h("span", { class: "bk-optional" }, " (optional)") : null,
    ),
    control.node,
    block.hint ? h("p", { class: "bk-hint", id: hintId }, plainText(block.hint)) : null,
    error,
  );
  if (control.group) control.node.setAttribute("aria-labelledby", `${id}-label`);
  context.inputs?.push({
    blockId: block.block_id,
    actionId: item.action_id,
    optional: Boolean(block.optional),
    focusOnLoad: Boolean(item.focus_on_load),
    read: control.read,
    empty: control.empty,
    check: control.check || (() => null),
    focus: () => control.focusable.focus(),
    showError(message) {
      error.textContent = message || "";
      error.hidden = !message;
      wrapper.classList.toggle("bk-input-invalid", Boolean(message));
      control.focusable.setAttribute("aria-invalid", message ? "true" : "false");
    },
  });
  return wrapper;
}

/**
 * One form control for an element: {node, focusable, read() → Slack's state value, empty(),
 * check() → a problem or null, group}. `onPick(selection)` is called when it is used, if given.
 */
function field(item, id, restored, context, onPick, describedBy = []) {
  if (item.type in TEXT_INPUTS) return textInput(item, id, restored, onPick, describedBy);
  if (item.type === "external_select")
    return externalSelect(item, id, restored, context, onPick, describedBy);
  if (SELECTS.has(item.type)) return select(item, id, restored, context, onPick, describedBy);
  if (item.type === "checkboxes" || item.type === "radio_buttons")
    return choices(item, id, restored, context, onPick);
  if (item.type === "datepicker" || item.type === "timepicker")
    return picker(item, id, restored, onPick, describedBy);
  const node = unsupported(`a ${item.type} element`);
  return { node, focusable: node, read: () => ({ type: item.type }), empty: () => false };
}

function textInput(item, id, restored, onPick, describedBy) {
  const value = restored ? (restored.value ?? "") : (item.initial_value ?? "");
  const props = {
    id,
    class: "bk-text-input",
    placeholder: plainText(item.placeholder) || null,
    maxlength: item.max_length ?? null,
    "aria-describedby": describedBy.join(" "),
    value: String(value),
  };
  let node;
  if (item.type === "plain_text_input" && item.multiline) {
    node = h("textarea", { ...props, rows: 3 });
  } else {
    const type = TEXT_INPUTS[item.type];
    node = h("input", {
      ...props,
      type,
      step: type === "number" ? (item.is_decimal_allowed ? "any" : "1") : null,
      min: item.min_value ?? null,
      max: item.max_value ?? null,
    });
  }
  if (onPick) {
    node.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        onPick({ value: node.value });
      }
    });
  }
  return {
    node,
    focusable: node,
    read: () => ({ type: item.type, value: node.value === "" ? null : node.value }),
    empty: () => node.value.trim() === "",
    check: () =>
      item.min_length && node.value.length > 0 && node.value.length < item.min_length
        ? `Please enter at least ${item.min_length} characters.`
        : null,
  };
}

function optionsOf(item, context) {
  const kind = item.type.replace(/^multi_/, "");
  if (kind === "static_select") {
    const groups = item.option_groups || [{ options: item.options || [] }];
    return groups.map((group) => ({
      label: group.label ? plainText(group.label) : null,
      options: group.options || [],
    }));
  }
  if (kind === "users_select") {
    return [
      {
        label: null,
        options: context.directory
          .users()
          .map((user) => ({ value: user.id, text: `@${user.name}` })),
      },
    ];
  }
  const channels = context.directory
    .channels()
    .filter(
      (channel) => kind === "conversations_select" || (!channel.is_private && !channel.is_im),
    );
  return [
    {
      label: null,
      options: channels.map((channel) => ({
        value: channel.id,
        text: channel.is_im ? channel.name : `#${channel.name}`,
      })),
    },
  ];
}

function select(item, id, restored, context, onPick, describedBy) {
  const multi = item.type.startsWith("multi_");
  const kind = item.type.replace(/^multi_/, "");
  const key = {
    static_select: "option",
    users_select: "user",
    conversations_select: "conversation",
    channels_select: "channel",
  }[kind];
  const groups = optionsOf(item, context);
  const picked = restored
    ? [restored[`selected_${key}`], ...(restored[`selected_${key}s`] || [])]
    : [item[`initial_${key}`], ...(item[`initial_${key}s`] || [])];
  const initial = new Set(picked.filter(Boolean).map((v) => (typeof v === "object" ? v.value : v)));
  const label = (option) =>
    typeof option.text === "string" ? option.text : plainText(option.text);
  let node;
  let chosen;
  if (multi) {
    // A list of checkboxes: picking several needs no Ctrl-click, unlike <select multiple>.
    const boxes = [];
    node = h(
      "div",
      { id, class: "bk-multi", role: "group", "aria-describedby": describedBy.join(" ") },
      groups.map((group) => [
        group.label ? h("div", { class: "bk-multi-group" }, group.label) : null,
        group.options.map((option) => {
          const box = h("input", { type: "checkbox", checked: initial.has(option.value) });
          boxes.push([box, option]);
          return h("label", { class: "bk-choice" }, box, h("span", {}, label(option)));
        }),
      ]),
    );
    chosen = () => boxes.filter(([box]) => box.checked).map(([, option]) => option);
  } else {
    node = h("select", { id, class: "bk-select", "aria-describedby": describedBy.join(" ") });
    node.append(h("option", { value: "" }, plainText(item.placeholder) || "Select an option"));
    groups.forEach((group, groupIndex) => {
      const options = group.options.map((option, index) =>
        h(
          "option",
          { value: `${groupIndex}:${index}`, selected: initial.has(option.value) },
          label(option),
        ),
      );
      node.append(...(group.label ? [h("optgroup", { label: group.label }, options)] : options));
    });
    chosen = () =>
      [...node.selectedOptions]
        .filter((option) => option.value)
        .map((option) => {
          const [groupIndex, index] = option.value.split(":").map(Number);
          return groups[groupIndex].options[index];
        });
  }
  const read = () => {
    const picked = chosen();
    if (kind === "static_select") {
      return multi
        ? { type: item.type, selected_options: picked }
        : { type: item.type, selected_option: picked[0] || null };
    }
    const ids = picked.map((option) => option.value);
    return multi
      ? { type: item.type, [`selected_${key}s`]: ids }
      : { type: item.type, [`selected_${key}`]: ids[0] || null };
  };
  if (onPick) node.addEventListener("change", () => onPick(read()));
  const focusable = multi ? node.querySelector("input") || node : node;
  return { node, focusable, read, empty: () => chosen().length === 0, group: multi };
}

/**
 * A select whose options the app serves: asked for at once (the text typed so far is empty),
 * as Slack asks when `min_query_length` is 0; the chosen option is the one Slack would send.
 */
function externalSelect(item, id, restored, context, onPick, describedBy) {
  const chosen = restored ? restored.selected_option : item.initial_option;
  const node = h("select", { id, class: "bk-select", "aria-describedby": describedBy.join(" ") });
  let options = chosen ? [chosen] : [];
  const label = (option) =>
    typeof option.text === "string" ? option.text : plainText(option.text);
  const draw = () => {
    const current = node.value || (chosen ? chosen.value : "");
    node.replaceChildren(
      h("option", { value: "" }, plainText(item.placeholder) || "Select an option"),
      ...options.map((option) =>
        h("option", { value: option.value, selected: option.value === current }, label(option)),
      ),
    );
  };
  draw();
  if (context.suggest) {
    node.setAttribute("aria-busy", "true");
    context.suggest({ block_id: context.blockId }, item, "").then((offered) => {
      const kept = options.filter((o) => !offered.some((other) => other.value === o.value));
      options = [...kept, ...offered];
      draw();
      node.removeAttribute("aria-busy");
    });
  }
  const read = () => ({
    type: item.type,
    selected_option: options.find((option) => option.value === node.value) || null,
  });
  if (onPick) node.addEventListener("change", () => onPick(read()));
  return { node, focusable: node, read, empty: () => !node.value };
}

function choices(item, id, restored, context, onPick) {
  const multi = item.type === "checkboxes";
  const initial = new Set(
    (restored
      ? multi
        ? restored.selected_options
        : [restored.selected_option]
      : multi
        ? item.initial_options
        : [item.initial_option]
    )
      ?.filter(Boolean)
      .map((option) => option.value) || [],
  );
  const inputs = [];
  const node = h(
    "fieldset",
    { id, class: "bk-choices", role: multi ? "group" : "radiogroup" },
    (item.options || []).map((option) => {
      const input = h("input", {
        type: multi ? "checkbox" : "radio",
        name: id,
        checked: initial.has(option.value),
      });
      inputs.push([input, option]);
      return h(
        "label",
        { class: "bk-choice" },
        input,
        h("span", {}, textObject(option.text, context.directory)),
        option.description
          ? h(
              "span",
              { class: "bk-choice-description" },
              textObject(option.description, context.directory),
            )
          : null,
      );
    }),
  );
  const picked = () => inputs.filter(([input]) => input.checked).map(([, option]) => option);
  const read = () =>
    multi
      ? { type: item.type, selected_options: picked() }
      : { type: item.type, selected_option: picked()[0] || null };
  if (onPick) node.addEventListener("change", () => onPick(read()));
  return {
    node,
    focusable: inputs[0]?.[0] || node,
    read,
    empty: () => picked().length === 0,
    group: true,
  };
}

function picker(item, id, restored, onPick, describedBy) {
  const date = item.type === "datepicker";
  const key = date ? "selected_date" : "selected_time";
  const value = restored
    ? (restored[key] ?? "")
    : ((date ? item.initial_date : item.initial_time) ?? "");
  const node = h("input", {
    id,
    type: date ? "date" : "time",
    class: "bk-text-input",
    value,
    "aria-describedby": describedBy.join(" "),
  });
  const read = () => ({ type: item.type, [key]: node.value || null });
  if (onPick) node.addEventListener("change", () => onPick(read()));
  return { node, focusable: node, read, empty: () => !node.value };
}

// -- rich text -----------------------------------------------------------------------------

function richText(item, context) {
  switch (item.type) {
    case "rich_text_section":
      return h(
        "p",
        { class: "bk-rich-section" },
        (item.elements || []).map((part) => richPart(part, context)),
      );
    case "rich_text_list": {
      const tag = item.style === "ordered" ? "ol" : "ul";
      return h(
        tag,
        {},
        (item.elements || []).map((section) =>
          h(
            "li",
            {},
            (section.elements || []).map((part) => richPart(part, context)),
          ),
        ),
      );
    }
    case "rich_text_preformatted":
      return h(
        "pre",
        { class: "mrkdwn-pre" },
        (item.elements || []).map((part) => part.text || ""),
      );
    case "rich_text_quote":
      return h(
        "blockquote",
        { class: "mrkdwn-quote" },
        (item.elements || []).map((part) => richPart(part, context)),
      );
    default:
      return unsupported(`a ${item.type} element`);
  }
}

function richPart(part, context) {
  const directory = context.directory;
  let node;
  if (part.type === "text") node = document.createTextNode(part.text || "");
  else if (part.type === "link")
    node = SAFE_LINK.test(part.url || "")
      ? h(
          "a",
          { href: part.url, target: "_blank", rel: "noopener noreferrer" },
          part.text || part.url,
        )
      : document.createTextNode(part.text || part.url || "");
  else if (part.type === "user")
    node = h("span", { class: "mention" }, `@${directory.user(part.user_id)}`);
  else if (part.type === "channel")
    node = h("span", { class: "mention" }, `#${directory.channel(part.channel_id)}`);
  else if (part.type === "emoji")
    node = document.createTextNode(
      part.unicode
        ? String.fromCodePoint(...part.unicode.split("-").map((hex) => parseInt(hex, 16)))
        : emojify(`:${part.name}:`),
    );
  else if (part.type === "broadcast")
    node = h("span", { class: "mention mention-broadcast" }, `@${part.range}`);
  else node = document.createTextNode("");
  const style = part.style || {};
  if (style.code) node = h("code", { class: "mrkdwn-code" }, node);
  if (style.bold) node = h("strong", {}, node);
  if (style.italic) node = h("em", {}, node);
  if (style.strike) node = h("s", {}, node);
  return node;
}
