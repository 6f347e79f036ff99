// SVG charts of a mix's composition. Every chart carries its numbers twice: on the marks
// (data-label, data-value) and in a table after it, which is also what a screen reader reads.

import { svg as svgEl } from "./dom.js";

// Minimum and maximum without spreading: a mix's metric arrays can be longer than the argument limit.
const minOf = (a) => a.reduce((m, v) => (v < m ? v : m), Infinity);
const maxOf = (a) => a.reduce((m, v) => (v > m ? v : m), -Infinity);

function fmt(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}

function figure(id, title) {
  const f = document.createElement("figure");
  f.className = "chart";
  f.dataset.chart = id;
  const c = document.createElement("figcaption");
  c.textContent = title;
  f.append(c);
  return f;
}

function dataTable(headers, rows) {
  const t = document.createElement("table");
  t.className = "chart-data";
  const hr = t.createTHead().insertRow();
  for (const h of headers) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = h;
    hr.append(th);
  }
  const body = t.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    r.forEach((v) => (tr.insertCell().textContent = v));
  }
  return t;
}

/** A vertical bar chart of [{label, value}] (a histogram by generation, for instance). */
export function barChart(id, title, items, { xLabel = "", yLabel = "samples", colour = "var(--accent)" } = {}) {
  const f = figure(id, title);
  const W = 420;
  const H = 200;
  const L = 44;
  const B = 36;
  const max = Math.max(1, ...items.map((i) => i.value));
  const bw = Math.max(8, Math.min(48, (W - L - 10) / Math.max(1, items.length) - 6));
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${title}: ${items.map((i) => `${i.label} ${fmt(i.value)}`).join(", ")}` }, f);
  svgEl("line", { x1: L, y1: H - B, x2: W - 4, y2: H - B, class: "axis" }, svg);
  svgEl("text", { x: 4, y: 12, class: "axis-label" }, svg).textContent = yLabel;
  svgEl("text", { x: W - 4, y: H - 4, "text-anchor": "end", class: "axis-label" }, svg).textContent = xLabel;
  items.forEach((it, i) => {
    const h = ((H - B - 20) * it.value) / max;
    const x = L + i * (bw + 6) + 3;
    const r = svgEl("rect", { x, y: H - B - h, width: bw, height: h, fill: colour, class: "bar", "data-label": it.label, "data-value": it.value }, svg);
    svgEl("title", {}, r).textContent = `${it.label}: ${fmt(it.value)}`;
    svgEl("text", { x: x + bw / 2, y: H - B + 14, "text-anchor": "middle", class: "tick" }, svg).textContent = it.label;
    svgEl("text", { x: x + bw / 2, y: H - B - h - 4, "text-anchor": "middle", class: "value" }, svg).textContent = fmt(it.value);
  });
  f.append(dataTable([xLabel || "label", yLabel], items.map((i) => [i.label, fmt(i.value)])));
  return f;
}

/**
 * Horizontal share bars in [0, 1], each against a cap: [{label, value, cap}] (cap may be null). A
 * bar over its cap is marked "over".
 */
export function shareChart(id, title, items) {
  const f = figure(id, title);
  const W = 420;
  const rowH = 30;
  const L = 120;
  const R = 60;
  const H = items.length * rowH + 24;
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": `${title}: ${items.map((i) => `${i.label} ${fmt(i.value)}${i.cap != null ? ` of cap ${fmt(i.cap)}` : ""}`).join(", ")}` }, f);
  const scale = (v) => L + (W - L - R) * Math.min(1, v);
  items.forEach((it, k) => {
    const y = 8 + k * rowH;
    const over = it.cap != null && it.value > it.cap + 1e-12;
    svgEl("text", { x: L - 6, y: y + 15, "text-anchor": "end", class: "tick" }, svg).textContent = it.label;
    svgEl("rect", { x: L, y, width: W - L - R, height: 20, class: "track" }, svg);
    const bar = svgEl("rect", { x: L, y, width: scale(it.value) - L, height: 20, class: `bar share${over ? " over" : ""}`,
      "data-label": it.label, "data-value": it.value, "data-cap": it.cap ?? "" }, svg);
    svgEl("title", {}, bar).textContent = `${it.label}: ${fmt(it.value)}${it.cap != null ? ` (cap ${fmt(it.cap)})` : ""}`;
    if (it.cap != null) {
      const cx = scale(it.cap);
      svgEl("line", { x1: cx, y1: y - 3, x2: cx, y2: y + 23, class: "cap" }, svg);
    }
    svgEl("text", { x: W - R + 6, y: y + 15, class: "value" }, svg).textContent = `${(100 * it.value).toFixed(1)}%${over ? " over" : ""}`;
  });
  svgEl("text", { x: L, y: H - 2, class: "axis-label" }, svg).textContent = "0";
  svgEl("text", { x: W - R, y: H - 2, "text-anchor": "end", class: "axis-label" }, svg).textContent = "1 — line: the policy's cap";
  f.append(dataTable(["", "share", "cap"], items.map((i) => [i.label, fmt(i.value), i.cap != null ? fmt(i.cap) : "none"])));
  return f;
}

/** Bins values into n equal bins over [lo, hi]; returns counts. */
export function bin(values, lo, hi, n) {
  const counts = new Array(n).fill(0);
  const span = hi - lo || 1;
  for (const v of values) {
    let i = Math.floor(((v - lo) / span) * n);
    if (i >= n) i = n - 1;
    if (i < 0) i = 0;
    counts[i]++;
  }
  return counts;
}

/**
 * Two overlaid histograms of one metric, human against synthetic, as shares of each group (the
 * groups differ in size): {human: number[], synthetic: number[]}.
 */
export function distributionChart(id, title, groups, bins = 10) {
  const f = figure(id, title);
  const all = groups.human.concat(groups.synthetic);
  const lo = all.length ? minOf(all) : 0;
  const hi = all.length ? maxOf(all) : 1;
  const h = bin(groups.human, lo, hi, bins);
  const s = bin(groups.synthetic, lo, hi, bins);
  const share = (c, n) => (n ? c / n : 0);
  const W = 420;
  const H = 190;
  const L = 36;
  const B = 34;
  const max = Math.max(0.01, ...h.map((c) => share(c, groups.human.length)), ...s.map((c) => share(c, groups.synthetic.length)));
  const bw = (W - L - 10) / bins;
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": `${title}: ${groups.human.length} human and ${groups.synthetic.length} synthetic samples` }, f);
  svgEl("line", { x1: L, y1: H - B, x2: W - 4, y2: H - B, class: "axis" }, svg);
  for (let i = 0; i < bins; i++) {
    const x = L + i * bw;
    for (const [cls, counts, n, off] of [["human", h, groups.human.length, 1], ["synthetic", s, groups.synthetic.length, bw / 2]]) {
      const v = share(counts[i], n);
      const hh = ((H - B - 16) * v) / max;
      svgEl("rect", { x: x + off, y: H - B - hh, width: bw / 2 - 2, height: hh, class: `bar dist ${cls}`, "data-group": cls, "data-bin": i, "data-count": counts[i] }, svg);
    }
  }
  svgEl("text", { x: L, y: H - B + 14, class: "tick" }, svg).textContent = fmt(lo);
  svgEl("text", { x: W - 4, y: H - B + 14, "text-anchor": "end", class: "tick" }, svg).textContent = fmt(hi);
  svgEl("text", { x: L, y: H - 4, class: "axis-label human" }, svg).textContent = `■ human (${groups.human.length})`;
  svgEl("text", { x: W - 4, y: H - 4, "text-anchor": "end", class: "axis-label synthetic" }, svg).textContent = `■ synthetic (${groups.synthetic.length})`;
  const mean = (a) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : 0);
  f.append(dataTable(["group", "samples", "mean", "min", "max"], [
    ["human", String(groups.human.length), fmt(mean(groups.human)), groups.human.length ? fmt(minOf(groups.human)) : "", groups.human.length ? fmt(maxOf(groups.human)) : ""],
    ["synthetic", String(groups.synthetic.length), fmt(mean(groups.synthetic)), groups.synthetic.length ? fmt(minOf(groups.synthetic)) : "", groups.synthetic.length ? fmt(maxOf(groups.synthetic)) : ""],
  ]));
  return f;
}
