// Building DOM nodes. Text is only ever added as text nodes, never parsed as HTML, so nothing
// the bot or a user writes can become markup or script.

const PROPERTIES = new Set(["value", "checked", "selected", "disabled", "multiple"]);

/**
 * Create an element: h("button", {class: "x", onclick: fn, "aria-label": "Close"}, "text", node).
 * Props starting with "on" become event listeners; `false`/`null` props are left out; children
 * may be strings (added as text), nodes, arrays of either, or null (skipped).
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      element.className = value;
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (PROPERTIES.has(name)) {
      element[name] = value; // live state, not the attribute (a textarea has no value attribute)
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

/** Append children (strings become text nodes) to a node. */
export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replace a node's children. */
export function replaceChildren(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

let counter = 0;
/** A document-unique id for labels and aria references. */
export function uniqueId(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}
