// Small DOM helpers: elements are built with textContent, never from HTML strings, so that text
// from the registry (samples, policy messages) can never become markup.

/** Creates an element: h("a", {href: "#/x", class: "c"}, "text", child, …). */
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, "");
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** A definition list of [term, value] pairs; values may be nodes. */
export function dl(pairs) {
  const d = h("dl", { class: "facts" });
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === "") continue;
    d.append(h("dt", {}, k), h("dd", {}, v));
  }
  return d;
}

/** A table with column headers and rows of cells (strings or nodes). */
export function table(headers, rows, attrs = {}) {
  const t = h("table", attrs);
  const hr = t.createTHead().insertRow();
  for (const c of headers) hr.append(h("th", { scope: "col" }, c));
  const b = t.createTBody();
  for (const r of rows) {
    const tr = b.insertRow();
    for (const c of r) tr.insertCell().append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  }
  return t;
}

/** A link inside the console. */
export function link(hash, text, attrs = {}) {
  return h("a", { href: hash, ...attrs }, text);
}

/** A labelled form field: label, then the control. */
export function field(labelText, control) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, labelText), control);
}

/** A short form of an id for tables, with the whole id as its title. */
export function shortId(id) {
  return h("code", { title: id }, id.length > 13 ? `…${id.slice(-12)}` : id);
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** Creates an SVG element with attributes, appended to parent when one is given. */
export function svg(name, attrs = {}, parent) {
  const e = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (parent) parent.append(e);
  return e;
}
