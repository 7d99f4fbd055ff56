// The playground page: a small chat client for the local workspace. It shows what the stand-in
// Slack holds, kept current by Server-Sent Events, and posts what you do to the playground's API,
// which turns it into the signed request Slack would send the bot.

import { h, replaceChildren, uniqueId } from "./dom.js";
import { renderBlocks } from "./blocks.js";
import { mrkdwn, plainText, textObject } from "./mrkdwn.js";

const state = {
  workspace: null,
  command: null,
  appHome: {
    home_tab_enabled: true,
    messages_tab_enabled: true,
    messages_tab_read_only_enabled: false,
  },
  magicMachines: [],
  shortcuts: [], // the app's shortcuts, from its manifest: {callback_id, name, type}
  steps: [], // the app's Workflow Builder steps: {callback_id, title, inputs}
  messages: {},
  ephemerals: {},
  views: [],
  home: null,
  channel: null, // the conversation shown
  tab: "messages", // in the app's conversation: "home" or "messages"
  thread: null, // ts of the parent whose thread is open
  unread: new Map(), // channel id → count of new messages
  changed: new Set(), // ts of messages that changed since the last render, to highlight
  modal: null, // the modal on screen: {id, hash, inputs, banner}
  typed: new Map(), // view id → what was typed, kept while a pushed view covers it
  homeInputs: [],
  connected: false,
};

const $ = (id) => document.getElementById(id);

const directory = {
  user: (id) => state.workspace?.users.find((user) => user.id === id)?.name || id,
  channel: (id) => channelById(id)?.name || id,
  usergroup: (id) => state.workspace?.usergroups.find((group) => group.id === id)?.handle || id,
  isYou: (id) => id === state.workspace?.you,
  openChannel: (id) => show(id),
  users: () => state.workspace?.users || [],
  channels: () => state.workspace?.channels || [],
};

function channelById(id) {
  return state.workspace?.channels.find((channel) => channel.id === id);
}

// -- talking to the playground --------------------------------------------------------------

async function api(path, body) {
  let answer = { ok: false, error: "The playground did not answer. Is `make run` still running?" };
  try {
    const response = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    answer = await response.json();
  } catch (error) {
    console.warn("playground request failed", path, error);
  }
  return answer;
}

function connect() {
  const source = new EventSource("/playground/events");
  source.addEventListener("open", () => setConnected(true));
  source.addEventListener("error", () => setConnected(false));
  source.addEventListener("message", (event) => apply(JSON.parse(event.data)));
}

function setConnected(connected) {
  state.connected = connected;
  $("connection").hidden = connected;
  document.body.dataset.connected = String(connected);
}

// -- applying changes -----------------------------------------------------------------------

function apply(event) {
  switch (event.type) {
    case "snapshot":
      state.workspace = event.workspace;
      state.command = event.command;
      state.appHome = event.app_home;
      state.magicMachines = event.magic_machines;
      state.shortcuts = event.shortcuts || [];
      state.steps = event.steps || [];
      state.messages = event.messages;
      state.ephemerals = event.ephemerals;
      state.views = event.views;
      state.home = event.home;
      if (!state.channel || !channelById(state.channel)) state.channel = fromLocation().channel;
      renderAll();
      document.body.dataset.ready = "true";
      return;
    case "message":
    case "ephemeral":
      upsert(
        event.type === "message" ? state.messages : state.ephemerals,
        event.channel,
        event.message,
      );
      noteUnread(event.channel, event.message);
      break;
    case "deleted":
      for (const store of [state.messages, state.ephemerals]) {
        store[event.channel] = (store[event.channel] || []).filter((m) => m.ts !== event.ts);
      }
      break;
    case "channel": {
      const channels = state.workspace.channels;
      channels[channels.findIndex((c) => c.id === event.channel.id)] = event.channel;
      break;
    }
    case "views":
      state.views = event.views;
      renderModal();
      return;
    case "identity":
      // You chose to be a colleague (or yourself again): their modals, Home tab and
      // private messages from now on.
      state.workspace.you = event.you;
      state.views = event.views;
      state.home = event.home;
      renderAll();
      return;
    case "home":
      state.home = event.view;
      if (showingHome()) renderHome();
      return;
    case "workflow":
      toast(
        event.error
          ? `Workflow step failed: ${event.error}`
          : `Workflow step completed: ${Object.entries(event.outputs || {})
              .map(([name, value]) => `${name} ${value}`)
              .join(", ")}`,
      );
      return;
    default:
      return;
  }
  renderSidebar();
  renderHeader();
  if (event.channel === state.channel) renderConversation();
  if (state.thread && event.channel === state.channel) renderThread();
  state.changed.clear();
}

function upsert(store, channel, message) {
  const list = store[channel] || (store[channel] = []);
  const index = list.findIndex((m) => m.ts === message.ts);
  if (index >= 0) list[index] = message;
  else list.push(message);
  list.sort((a, b) => Number(a.ts) - Number(b.ts));
  state.changed.add(message.ts);
}

function noteUnread(channel, message) {
  if (channel === state.channel || message.user === state.workspace.you || !isTopLevel(message))
    return;
  state.unread.set(channel, (state.unread.get(channel) || 0) + 1);
}

// Private messages are shown to whom they were for (whoever is at the page, when unknown).
function visibleEphemerals(channel) {
  return (state.ephemerals[channel] || []).filter(
    (message) => !message.reader || message.reader === state.workspace.you,
  );
}

function isTopLevel(message) {
  return (
    !message.thread_ts || message.thread_ts === message.ts || message.subtype === "thread_broadcast"
  );
}

// -- navigation -----------------------------------------------------------------------------

function fromLocation() {
  const [channel, ts] = decodeURIComponent(location.hash.slice(1)).split("/");
  const fallback = state.workspace.channels.find((c) => !c.is_im && !c.is_private)?.id;
  return { channel: channelById(channel) ? channel : fallback, ts: ts || null, fallback };
}

function show(channel, { thread = null, tab = null } = {}) {
  state.channel = channel;
  state.thread = thread;
  state.unread.delete(channel);
  const conversation = channelById(channel);
  const firstTab = state.appHome.home_tab_enabled ? "home" : "messages";
  state.tab = conversation?.is_im ? tab || firstTab : "messages";
  const hash = `#${channel}${thread ? `/${thread}` : ""}`;
  if (location.hash !== hash) history.replaceState(null, "", hash);
  renderAll();
  if (showingHome()) api("/playground/home", {});
  $("message-input").focus();
}

function showingHome() {
  return Boolean(channelById(state.channel)?.is_im) && state.tab === "home";
}

// -- rendering ------------------------------------------------------------------------------

function renderAll() {
  renderSidebar();
  renderHeader();
  renderConversation({ toEnd: true });
  renderThread();
  renderModal();
  if (showingHome()) renderHome();
}

function renderSidebar() {
  renderIdentity();
  const channels = state.workspace.channels.filter((c) => !c.is_im);
  const apps = state.workspace.channels.filter((c) => c.is_im);
  replaceChildren(
    $("channel-list"),
    channels.map((channel) => sidebarItem(channel, channel.is_private ? "🔒" : "#", channel.name)),
  );
  replaceChildren(
    $("app-list"),
    apps.map((channel) => sidebarItem(channel, "🚀", channel.name)),
  );
  replaceChildren(
    $("workflow-list"),
    state.steps.map((step) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            class: "sidebar-item",
            title: `A workflow whose one step is “${step.title}”`,
            onclick: () => workflowDialog(step),
          },
          h("span", { class: "sidebar-mark", "aria-hidden": "true" }, "▶"),
          h("span", { class: "sidebar-name" }, `Run workflow: ${step.title}`),
        ),
      ),
    ),
  );
  $("workflows-title").parentElement.hidden = state.steps.length === 0;
  const command = state.command?.name || "/deploy";
  replaceChildren(
    $("magic-machines"),
    state.magicMachines.map((machine) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            class: "magic",
            title: `Fill the message box with ${command} … machine=${machine.machine_id}`,
            onclick: () =>
              prefill(
                `${command} nginx:latest machine=${machine.machine_id} price=price-1 ports=80`,
              ),
          },
          h("code", {}, machine.machine_id),
          h("span", {}, machine.outcome),
        ),
      ),
    ),
  );
}

// Who is at the page: you, or a colleague you chose to be (a second person, for approvals).
function renderIdentity() {
  const select = $("acting-as");
  const people = state.workspace.users.filter((user) => !user.is_bot);
  replaceChildren(
    select,
    people.map((user) =>
      h(
        "option",
        { value: user.id, selected: user.id === state.workspace.you },
        `${user.real_name}${user.is_admin ? " (admin)" : ""}`,
      ),
    ),
  );
  select.value = state.workspace.you;
  select.onchange = async () => {
    const answer = await api("/playground/identity", { user: select.value });
    if (!answer.ok) {
      toast(answer.error || "The playground could not switch.");
      select.value = state.workspace.you;
    }
  };
}

function sidebarItem(channel, mark, name) {
  const unread = state.unread.get(channel.id) || 0;
  const current = channel.id === state.channel;
  return h(
    "li",
    {},
    h(
      "button",
      {
        type: "button",
        class: `sidebar-item${current ? " current" : ""}${unread ? " unread" : ""}`,
        "aria-current": current ? "page" : null,
        onclick: () => show(channel.id),
      },
      h("span", { class: "sidebar-mark", "aria-hidden": "true" }, mark),
      h("span", { class: "sidebar-name" }, name),
      unread ? h("span", { class: "badge", "aria-label": `${unread} new` }, String(unread)) : null,
    ),
  );
}

function renderHeader() {
  const channel = channelById(state.channel);
  const title = channel.is_im
    ? channel.name
    : `${channel.is_private ? "🔒 " : "# "}${channel.name}`;
  replaceChildren(
    $("conversation-title"),
    title,
    channel.is_im ? h("span", { class: "app-badge" }, "APP") : null,
  );
  replaceChildren($("conversation-topic"), channel.topic?.value || "");
  const tabs = $("tabs");
  const shownTabs = [
    state.appHome.home_tab_enabled ? "home" : null,
    state.appHome.messages_tab_enabled ? "messages" : null,
  ].filter(Boolean);
  tabs.hidden = !channel.is_im;
  replaceChildren(
    tabs,
    shownTabs.map((tab) =>
      h(
        "button",
        {
          type: "button",
          role: "tab",
          class: `tab${state.tab === tab ? " current" : ""}`,
          "aria-selected": String(state.tab === tab),
          onclick: () => show(channel.id, { tab }),
        },
        tab === "home" ? "Home" : "Messages",
      ),
    ),
  );
  const home = showingHome();
  const readOnly = channel.is_im && state.appHome.messages_tab_read_only_enabled;
  $("messages").hidden = home;
  $("composer").hidden = home || readOnly;
  $("read-only").hidden = home || !readOnly;
  $("home").hidden = !home;
  $("message-input").placeholder = `Message ${channel.is_im ? channel.name : `#${channel.name}`}`;
}

function renderConversation({ toEnd = false } = {}) {
  const list = $("messages");
  const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const channel = channelById(state.channel);
  const shown = [...(state.messages[channel.id] || []), ...visibleEphemerals(channel.id)]
    .filter(isTopLevel)
    .sort((a, b) => Number(a.ts) - Number(b.ts));
  replaceChildren(
    list,
    intro(channel),
    shown.map((message) => messageNode(message, channel, { inThread: false })),
  );
  if (toEnd || atEnd) list.scrollTop = list.scrollHeight;
}

function intro(channel) {
  const command = state.command?.name || "/deploy";
  return h(
    "section",
    { class: "intro" },
    h(
      "h2",
      {},
      channel.is_im
        ? `This is your conversation with ${channel.name}`
        : `This is the beginning of #${channel.name}`,
    ),
    h("p", {}, channel.topic?.value || ""),
    h(
      "p",
      { class: "intro-tip" },
      "Type ",
      h("code", {}, command),
      " to open the deploy form, or ",
      h("code", {}, `${command} help`),
      " for everything else. The vendor is a sandbox: nothing real is deployed, and the machine IDs on the left reproduce every outcome.",
    ),
  );
}

function messageNode(message, channel, { inThread }) {
  if (message.subtype === "channel_join") {
    return h(
      "div",
      { class: "message system", dataset: { ts: message.ts } },
      `${directory.user(message.user)} joined #${channel.name}.`,
    );
  }
  const author = authorOf(message);
  const ephemeral = message.subtype === "ephemeral";
  const onMessage = state.shortcuts.filter((shortcut) => shortcut.type === "message");
  const classes = [
    "message",
    ephemeral ? "ephemeral" : "",
    state.changed.has(message.ts) ? "flash" : "",
  ];
  return h(
    "article",
    {
      class: classes.join(" ").trim(),
      dataset: { ts: message.ts },
      "aria-label": `Message from ${author.name}`,
    },
    h("div", { class: `avatar avatar-${author.kind}`, "aria-hidden": "true" }, author.initials),
    h(
      "div",
      { class: "message-main" },
      h(
        "div",
        { class: "message-meta" },
        h("span", { class: "author" }, author.name),
        author.kind === "bot" ? h("span", { class: "app-badge" }, "APP") : null,
        h(
          "time",
          { datetime: new Date(Number(message.ts) * 1000).toISOString() },
          clock(message.ts),
        ),
      ),
      content(message, channel),
      ephemeral
        ? h(
            "div",
            { class: "ephemeral-note" },
            "Only visible to you · ",
            h(
              "button",
              { type: "button", class: "link", onclick: () => dismiss(channel.id, message.ts) },
              "Dismiss",
            ),
          )
        : null,
      !inThread && message.reply_count
        ? h(
            "div",
            { class: "replies" },
            h(
              "button",
              {
                type: "button",
                class: "link replies-link",
                onclick: () => show(channel.id, { thread: message.ts }),
              },
              `${message.reply_count} ${message.reply_count === 1 ? "reply" : "replies"}`,
            ),
            h("span", { class: "replies-last" }, `Last reply at ${clock(message.latest_reply)}`),
          )
        : null,
    ),
    !ephemeral && onMessage.length ? messageActions(onMessage, channel, message) : null,
  );
}

/** A message's "More actions" menu: the app's message shortcuts, as Slack lists them. */
function messageActions(shortcuts, channel, message) {
  const menu = h("div", { class: "menu", role: "menu", hidden: true });
  const toggle = h(
    "button",
    {
      type: "button",
      class: "icon-button",
      "aria-label": "More actions",
      "aria-haspopup": "menu",
      onclick: () => {
        menu.hidden = !menu.hidden;
      },
    },
    "⋯",
  );
  for (const shortcut of shortcuts) {
    menu.append(
      h(
        "button",
        {
          type: "button",
          role: "menuitem",
          onclick: async () => {
            menu.hidden = true;
            const answer = await api("/playground/shortcuts", {
              callback_id: shortcut.callback_id,
              message: { channel: channel.id, ts: message.ts },
            });
            if (!answer.ok) toast(answer.error || "deploybot did not answer.");
          },
        },
        shortcut.name,
      ),
    );
  }
  return h("div", { class: "message-actions" }, toggle, menu);
}

function authorOf(message) {
  if (message.user === "USLACKBOT") return { name: "Slackbot", kind: "slackbot", initials: "S" };
  if (message.bot_id || message.user === state.workspace.bot.user_id) {
    return { name: state.workspace.bot.name, kind: "bot", initials: "db" };
  }
  const name = directory.user(message.user);
  return {
    name,
    kind: message.user === state.workspace.you ? "you" : "user",
    initials: name.slice(0, 1).toUpperCase(),
  };
}

function content(message, channel) {
  if (message.blocks?.length) {
    return renderBlocks(message.blocks, {
      directory,
      act: (block, element, selection) =>
        act({ type: "message", channel: channel.id, ts: message.ts }, block, element, selection),
    });
  }
  return h("div", { class: "message-text" }, mrkdwn(message.text || "", directory));
}

function clock(ts) {
  if (!ts) return "";
  return new Date(Number(ts) * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function renderThread() {
  const pane = $("thread");
  const channel = channelById(state.channel);
  const parent =
    state.thread && (state.messages[channel.id] || []).find((m) => m.ts === state.thread);
  pane.hidden = !parent;
  document.body.dataset.thread = String(Boolean(parent));
  if (!parent) return;
  const list = $("thread-messages");
  const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const replies = [...(state.messages[channel.id] || []), ...visibleEphemerals(channel.id)]
    .filter((m) => m.thread_ts === parent.ts && m.ts !== parent.ts)
    .sort((a, b) => Number(a.ts) - Number(b.ts));
  replaceChildren($("thread-channel"), channel.is_im ? channel.name : `#${channel.name}`);
  replaceChildren(
    list,
    messageNode(parent, channel, { inThread: true }),
    h(
      "div",
      { class: "thread-divider" },
      `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`,
    ),
    replies.map((reply) => messageNode(reply, channel, { inThread: true })),
  );
  if (atEnd || state.changed.size) list.scrollTop = list.scrollHeight;
}

function renderHome() {
  const pane = $("home");
  state.homeInputs = [];
  if (!state.home) {
    replaceChildren(
      pane,
      h(
        "div",
        { class: "home-empty" },
        h("h2", {}, "Nothing here yet"),
        h(
          "p",
          {},
          "deploybot has not published a Home tab. Slack shows one once the app calls views.publish.",
        ),
      ),
    );
    return;
  }
  const view = state.home;
  replaceChildren(
    pane,
    renderBlocks(view.blocks, {
      directory,
      inputs: state.homeInputs,
      act: (block, element, selection) =>
        act({ type: "view", view_id: view.id }, block, element, selection),
    }),
  );
}

// -- modals ---------------------------------------------------------------------------------

function renderModal() {
  const layer = $("modal-layer");
  const top = state.views.at(-1);
  const current = state.modal;
  if (current && (!top || current.id !== top.id))
    state.typed.set(current.id, readValues(current.inputs));
  setInert(Boolean(top));
  if (!top) {
    state.modal = null;
    layer.hidden = true;
    replaceChildren(layer);
    state.typed.clear();
    return;
  }
  if (current && current.id === top.id && current.hash === top.hash) return;
  // A views.update keeps what was typed in inputs whose block_id and action_id stay the same.
  const preserved =
    current && current.id === top.id ? readValues(current.inputs) : state.typed.get(top.id) || {};
  const inputs = [];
  const titleId = uniqueId("modal-title");
  const banner = h("p", { class: "modal-banner", role: "alert", hidden: true });
  const submit = top.submit
    ? h("button", { type: "submit", class: "button primary" }, plainText(top.submit))
    : null;
  const close = () => api(`/playground/views/${encodeURIComponent(top.id)}/close`, {});
  const form = h(
    "form",
    {
      class: "modal",
      role: "dialog",
      "aria-modal": "true",
      "aria-labelledby": titleId,
      novalidate: true,
      onsubmit: (event) => {
        event.preventDefault();
        submitView(top, inputs, submit, banner);
      },
      onkeydown: (event) => {
        // Enter in a one-line field does not submit a Slack modal; only the button does.
        if (event.key === "Enter" && event.target.tagName === "INPUT") event.preventDefault();
        if (event.key === "Escape") close();
      },
    },
    h(
      "header",
      { class: "modal-header" },
      state.views.length > 1
        ? h(
            "button",
            { type: "button", class: "icon-button", "aria-label": "Back", onclick: close },
            "‹",
          )
        : null,
      h("h2", { id: titleId }, plainText(top.title)),
      h(
        "button",
        { type: "button", class: "icon-button", "aria-label": "Close modal", onclick: close },
        "✕",
      ),
    ),
    h(
      "div",
      { class: "modal-body" },
      renderBlocks(top.blocks, {
        directory,
        inputs,
        preserved,
        act: (block, element, selection) =>
          act({ type: "view", view_id: top.id }, block, element, selection),
        suggest: async (block, element, value) => {
          const answer = await api(`/playground/views/${encodeURIComponent(top.id)}/suggestions`, {
            block_id: block.block_id,
            action_id: element.action_id,
            value,
          });
          if (!answer.ok) toast(answer.error || "deploybot sent no options.");
          return answer.ok ? answer.options : [];
        },
      }),
    ),
    banner,
    h(
      "footer",
      { class: "modal-footer" },
      h(
        "button",
        { type: "button", class: "button", onclick: close },
        plainText(top.close) || "Cancel",
      ),
      submit,
    ),
  );
  state.modal = { id: top.id, hash: top.hash, inputs, banner };
  layer.hidden = false;
  replaceChildren(layer, form);
  (inputs.find((input) => input.focusOnLoad) || inputs[0])?.focus();
}

/** While a modal or dialog is open, what is behind it cannot be reached. */
function setInert(inert) {
  document.querySelector(".app").inert = inert;
}

function readValues(inputs) {
  const values = {};
  for (const input of inputs) values[input.blockId] = { [input.actionId]: input.read() };
  return values;
}

async function submitView(view, inputs, submit, banner) {
  // Slack's client checks required fields itself: the app hears nothing until they are filled.
  let first = null;
  for (const input of inputs) {
    const problem =
      !input.optional && input.empty() ? "Please complete this required field." : input.check();
    input.showError(problem);
    if (problem && !first) first = input;
  }
  if (first) {
    first.focus();
    return;
  }
  banner.hidden = true;
  submit.disabled = true;
  submit.setAttribute("aria-busy", "true");
  const answer = await api(`/playground/views/${encodeURIComponent(view.id)}/submit`, {
    values: readValues(inputs),
  });
  submit.disabled = false;
  submit.removeAttribute("aria-busy");
  if (!answer.ok) {
    banner.textContent = answer.error || "Something went wrong.";
    banner.hidden = false;
    return;
  }
  const errors = answer.errors || {};
  for (const input of inputs) input.showError(errors[input.blockId] || null);
  inputs.find((input) => errors[input.blockId])?.focus();
}

// -- interactions ---------------------------------------------------------------------------

async function act(container, block, element, selection) {
  if (element.confirm && !(await confirmDialog(element.confirm))) return;
  const withState = { ...container };
  if (container.type === "view") {
    const inputs = state.modal?.id === container.view_id ? state.modal.inputs : state.homeInputs;
    withState.values = readValues(inputs);
  }
  const answer = await api("/playground/actions", {
    container: withState,
    action: { block_id: block.block_id, action_id: element.action_id, ...selection },
  });
  if (!answer.ok) toast(answer.error || "deploybot did not answer.");
}

function confirmDialog(confirm) {
  return new Promise((resolve) => {
    const layer = $("confirm-layer");
    const titleId = uniqueId("confirm-title");
    const textId = uniqueId("confirm-text");
    const finish = (answer) => {
      layer.hidden = true;
      replaceChildren(layer);
      setInert(Boolean(state.modal));
      $("modal-layer").inert = false;
      resolve(answer);
    };
    const style = confirm.style === "danger" ? " danger" : " primary";
    const yes = h(
      "button",
      { type: "button", class: `button${style}`, onclick: () => finish(true) },
      plainText(confirm.confirm) || "Yes",
    );
    const dialog = h(
      "div",
      {
        class: "dialog",
        role: "alertdialog",
        "aria-modal": "true",
        "aria-labelledby": titleId,
        "aria-describedby": textId,
        onkeydown: (event) => event.key === "Escape" && finish(false),
      },
      h("h2", { id: titleId }, plainText(confirm.title) || "Are you sure?"),
      h("p", { id: textId }, textObject(confirm.text, directory)),
      h(
        "div",
        { class: "dialog-buttons" },
        h(
          "button",
          { type: "button", class: "button", onclick: () => finish(false) },
          plainText(confirm.deny) || "Cancel",
        ),
        yes,
      ),
    );
    layer.hidden = false;
    replaceChildren(layer, dialog);
    setInert(true);
    $("modal-layer").inert = true;
    yes.focus();
  });
}

async function dismiss(channel, ts) {
  await api("/playground/ephemerals/dismiss", { channel, ts });
}

let toastTimer = null;
function toast(text) {
  const node = $("toast");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    node.hidden = true;
  }, 6000);
}

// -- shortcuts and workflows ----------------------------------------------------------------

function renderShortcutsMenu() {
  const menu = $("shortcuts-menu");
  const global = state.shortcuts.filter((shortcut) => shortcut.type === "global");
  replaceChildren(
    menu,
    global.length
      ? global.map((shortcut) =>
          h(
            "button",
            {
              type: "button",
              role: "menuitem",
              onclick: async () => {
                closeShortcutsMenu();
                const answer = await api("/playground/shortcuts", {
                  callback_id: shortcut.callback_id,
                });
                if (!answer.ok) toast(answer.error || "deploybot did not answer.");
              },
            },
            shortcut.name,
          ),
        )
      : h("p", { class: "menu-note" }, "The app has no global shortcuts."),
  );
}

function closeShortcutsMenu() {
  $("shortcuts-menu").hidden = true;
  $("shortcuts-button").setAttribute("aria-expanded", "false");
}

/** Workflow Builder, reduced to one step: its inputs, then a run. */
function workflowDialog(step) {
  const layer = $("workflow-layer");
  const titleId = uniqueId("workflow-title");
  const fields = step.inputs.map((input) => {
    const id = uniqueId("workflow-input");
    let control;
    if (input.type === "slack#/types/channel_id") {
      const channels = state.workspace.channels.filter((channel) => !channel.is_im);
      control = h(
        "select",
        { id },
        channels.map((channel) =>
          h(
            "option",
            { value: channel.id, selected: channel.id === state.channel },
            `#${channel.name}`,
          ),
        ),
      );
    } else if (input.type === "slack#/types/user_id") {
      const people = state.workspace.users.filter((user) => !user.is_bot);
      control = h(
        "select",
        { id },
        people.map((user) =>
          h("option", { value: user.id, selected: user.id === state.workspace.you }, `@${user.name}`),
        ),
      );
    } else if (input.name === "environment_variables") {
      control = h("textarea", { id, rows: 3 });
    } else {
      control = h("input", { id, type: "text", autocomplete: "off" });
    }
    return { input, control, node: [h("label", { for: id }, input.title), control] };
  });
  const finish = () => {
    layer.hidden = true;
    replaceChildren(layer);
    setInert(Boolean(state.modal));
  };
  const form = h(
    "form",
    {
      class: "dialog workflow-form",
      role: "dialog",
      "aria-modal": "true",
      "aria-labelledby": titleId,
      onsubmit: async (event) => {
        event.preventDefault();
        const inputs = Object.fromEntries(fields.map((f) => [f.input.name, f.control.value]));
        finish();
        const answer = await api("/playground/workflows", {
          callback_id: step.callback_id,
          inputs,
        });
        // Workflow Builder says nothing while a step runs; its completion is shown when it comes.
        if (!answer.ok) toast(answer.error || "deploybot did not answer.");
      },
      onkeydown: (event) => event.key === "Escape" && finish(),
    },
    h("h2", { id: titleId }, `Run workflow: ${step.title}`),
    h(
      "p",
      { class: "topic" },
      "A workflow whose one step is the app's. Empty inputs are left out, as Workflow Builder leaves them.",
    ),
    fields.map((field) => field.node),
    h(
      "div",
      { class: "dialog-buttons" },
      h("button", { type: "button", class: "button", onclick: finish }, "Cancel"),
      h("button", { type: "submit", class: "button primary" }, "Run"),
    ),
  );
  layer.hidden = false;
  replaceChildren(layer, form);
  setInert(true);
  fields[0]?.control.focus();
}

// -- the message boxes ----------------------------------------------------------------------

function prefill(text) {
  // The app's own conversation may have no message box (a read-only Messages tab).
  if (channelById(state.channel)?.is_im) show(fromLocation().fallback);
  const input = $("message-input");
  input.value = text;
  input.focus();
  autosize(input);
  renderHints();
}

function autosize(input) {
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
}

function renderHints() {
  const input = $("message-input");
  const hints = $("command-hints");
  const typed = input.value;
  const command = state.command;
  const matches =
    command && typed.startsWith("/") && !typed.includes(" ") && command.name.startsWith(typed);
  hints.hidden = !matches;
  if (!matches) return;
  replaceChildren(
    hints,
    h(
      "button",
      {
        type: "button",
        class: "hint",
        onclick: () => {
          input.value = `${command.name} `;
          input.focus();
          renderHints();
        },
      },
      h("strong", {}, command.name),
      command.usage_hint ? h("span", { class: "hint-usage" }, ` ${command.usage_hint}`) : null,
      command.description ? h("span", { class: "hint-description" }, command.description) : null,
    ),
  );
}

function wireComposer(form, input, threadOf) {
  const send = async () => {
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    autosize(input);
    $("command-hints").hidden = true;
    const answer = await api("/playground/messages", {
      channel: state.channel,
      text,
      thread_ts: threadOf(),
    });
    if (
      !answer.ok &&
      answer.error &&
      !["unknown_command", "operation_timeout", "dispatch_failed", "not_in_thread"].includes(
        answer.error,
      )
    ) {
      toast(answer.error);
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
    if (event.key === "Tab" && input === $("message-input") && !$("command-hints").hidden) {
      event.preventDefault();
      input.value = `${state.command.name} `;
      renderHints();
    }
  });
  input.addEventListener("input", () => {
    autosize(input);
    if (input === $("message-input")) renderHints();
  });
}

function start() {
  wireComposer($("composer"), $("message-input"), () => null);
  wireComposer($("thread-composer"), $("thread-input"), () => state.thread);
  $("thread-close").addEventListener("click", () => show(state.channel));
  $("shortcuts-button").addEventListener("click", () => {
    const menu = $("shortcuts-menu");
    if (!menu.hidden) {
      closeShortcutsMenu();
      return;
    }
    renderShortcutsMenu();
    menu.hidden = false;
    $("shortcuts-button").setAttribute("aria-expanded", "true");
    menu.querySelector("button")?.focus();
  });
  window.addEventListener("hashchange", () => {
    if (!state.workspace) return;
    const { channel, ts } = fromLocation();
    if (channel !== state.channel || ts !== state.thread) show(channel, { thread: ts });
  });
  connect();
}

start();
