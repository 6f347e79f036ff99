// The lineage graph, drawn as SVG with a layered layout: every node sits one layer below its
// deepest parent (longest path from the sources, so every edge points down), the order within a
// layer is improved by a few sweeps of the barycentre heuristic, and edges are curves from parent
// to child. Nodes are coloured by origin and shaded by generation; prompt edges are dashed. Each
// node is a focusable link: a click, Enter or Space moves to that sample.

import { svg as svgEl } from "./dom.js";

const NODE_W = 92;
const NODE_H = 34;
const GAP_X = 18;
const GAP_Y = 64;
const PAD = 24;
const MAX_ROW = 16;

/** Assigns layers (longest path from a source) and orders each layer; returns {layers, layerOf}. */
export function layout(nodes, edges) {
  const ids = nodes.map((n) => n.id);
  const known = new Set(ids);
  const parents = new Map(ids.map((id) => [id, []]));
  const children = new Map(ids.map((id) => [id, []]));
  for (const e of edges) {
    if (!known.has(e.from) || !known.has(e.to) || e.from === e.to) continue;
    parents.get(e.to).push(e.from);
    children.get(e.from).push(e.to);
  }
  // Kahn's order; lineage is acyclic by construction, and anything left over (it cannot happen)
  // is placed after the rest rather than looping.
  const indeg = new Map(ids.map((id) => [id, parents.get(id).length]));
  const queue = ids.filter((id) => indeg.get(id) === 0);
  const layerOf = new Map(queue.map((id) => [id, 0]));
  const order = [];
  while (queue.length) {
    const id = queue.shift();
    order.push(id);
    for (const c of children.get(id)) {
      layerOf.set(c, Math.max(layerOf.get(c) ?? 0, layerOf.get(id) + 1));
      indeg.set(c, indeg.get(c) - 1);
      if (indeg.get(c) === 0) queue.push(c);
    }
  }
  for (const id of ids) if (!layerOf.has(id)) layerOf.set(id, 0);
  const depth = Math.max(0, ...layerOf.values());
  const layers = Array.from({ length: depth + 1 }, () => []);
  for (const id of ids) layers[layerOf.get(id)].push(id);
  // Barycentre sweeps: down by parents' positions, then up by children's.
  const pos = new Map();
  const place = () => layers.forEach((l) => l.forEach((id, i) => pos.set(id, i)));
  place();
  const bary = (id, nbrs) => {
    const ps = nbrs.get(id).map((n) => pos.get(n));
    return ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : pos.get(id);
  };
  for (let sweep = 0; sweep < 4; sweep++) {
    for (let i = 1; i < layers.length; i++) {
      layers[i].sort((a, b) => bary(a, parents) - bary(b, parents) || a.localeCompare(b));
      layers[i].forEach((id, k) => pos.set(id, k));
    }
    for (let i = layers.length - 2; i >= 0; i--) {
      layers[i].sort((a, b) => bary(a, children) - bary(b, children) || a.localeCompare(b));
      layers[i].forEach((id, k) => pos.set(id, k));
    }
  }
  return { layers, layerOf };
}

/** The fill of a node: blue hues for human text, orange for model output, darker by generation. */
export function nodeColour(origin, generation) {
  const g = Math.min(generation, 6);
  const light = 88 - g * 9;
  return origin === "model" ? `hsl(28 85% ${light}%)` : `hsl(212 70% ${light}%)`;
}

function shortId(id) {
  return id.slice(-6);
}

/**
 * Draws the lineage {root, nodes, edges} into container and returns the SVG element. onSelect(id)
 * is called when a node is chosen.
 */
export function drawLineage(container, lineage, onSelect) {
  const { layers } = layout(lineage.nodes, lineage.edges);
  // A wide layer (a prompt with hundreds of answers) wraps into rows of at most MAX_ROW nodes, so
  // that a graph of a few hundred nodes stays a page wide rather than metres.
  const rows = [];
  for (const layer of layers) {
    for (let i = 0; i < layer.length; i += MAX_ROW) rows.push(layer.slice(i, i + MAX_ROW));
  }
  const widest = Math.max(1, ...rows.map((r) => r.length));
  const width = PAD * 2 + widest * (NODE_W + GAP_X) - GAP_X;
  const height = PAD * 2 + rows.length * (NODE_H + GAP_Y) - GAP_Y;
  const xy = new Map();
  rows.forEach((row, ri) => {
    const span = row.length * (NODE_W + GAP_X) - GAP_X;
    const x0 = (width - span) / 2;
    row.forEach((id, k) => xy.set(id, { x: x0 + k * (NODE_W + GAP_X), y: PAD + ri * (NODE_H + GAP_Y) }));
  });
  const svg = svgEl("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, role: "group", class: "lineage",
    "aria-label": `Lineage graph: ${lineage.nodes.length} samples, ${lineage.edges.length} edges`,
  });
  const defs = svgEl("defs", {}, svg);
  for (const kind of ["parent", "prompt"]) {
    const m = svgEl("marker", { id: `arrow-${kind}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
    svgEl("path", { d: "M0,0 L10,5 L0,10 z", class: `arrow ${kind}` }, m);
  }
  const edgesG = svgEl("g", { class: "edges", "aria-hidden": "true" }, svg);
  for (const e of lineage.edges) {
    const a = xy.get(e.from);
    const b = xy.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + NODE_W / 2;
    const y1 = a.y + NODE_H;
    const x2 = b.x + NODE_W / 2;
    const y2 = b.y;
    const my = (y1 + y2) / 2;
    svgEl("path", {
      d: `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2 - 2}`, class: `edge ${e.kind}`,
      "data-from": e.from, "data-to": e.to, "marker-end": `url(#arrow-${e.kind})`,
    }, edgesG);
  }
  const nodesG = svgEl("g", { class: "nodes" }, svg);
  for (const n of lineage.nodes) {
    const p = xy.get(n.id);
    const label = `${n.origin === "model" ? `model ${n.model || ""}` : "human"}, generation ${n.generation}, sample ${n.id}${n.id === lineage.root ? " (this sample)" : ""}`;
    const g = svgEl("g", {
      class: `node ${n.origin}${n.id === lineage.root ? " root" : ""}`, transform: `translate(${p.x},${p.y})`,
      tabindex: 0, role: "link", "aria-label": label, "data-id": n.id, "data-generation": n.generation,
    }, nodesG);
    svgEl("title", {}, g).textContent = label;
    svgEl("rect", { width: NODE_W, height: NODE_H, rx: n.origin === "model" ? 4 : 14, fill: nodeColour(n.origin, n.generation) }, g);
    const t = svgEl("text", { x: NODE_W / 2, y: 14, "text-anchor": "middle" }, g);
    t.textContent = `${n.origin === "model" ? "M" : "H"} g${n.generation}`;
    const t2 = svgEl("text", { x: NODE_W / 2, y: 27, "text-anchor": "middle", class: "id" }, g);
    t2.textContent = `…${shortId(n.id)}`;
    const go = () => onSelect(n.id);
    g.addEventListener("click", go);
    g.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        go();
        return;
      }
      const next = neighbour(n.id, ev.key);
      if (next) {
        ev.preventDefault();
        nodesG.querySelector(`g.node[data-id="${next}"]`)?.focus();
      }
    });
  }
  // Arrow keys walk the graph without leaving the keyboard: up to the first parent, down to the
  // first child, left and right along the row.
  const up = new Map();
  const down = new Map();
  for (const e of lineage.edges) {
    if (!xy.has(e.from) || !xy.has(e.to)) continue;
    if (!up.has(e.to)) up.set(e.to, e.from);
    if (!down.has(e.from)) down.set(e.from, e.to);
  }
  const rowOf = new Map();
  rows.forEach((row, ri) => row.forEach((id, k) => rowOf.set(id, [ri, k])));
  function neighbour(id, key) {
    const [ri, k] = rowOf.get(id);
    switch (key) {
      case "ArrowUp": return up.get(id);
      case "ArrowDown": return down.get(id);
      case "ArrowLeft": return rows[ri][k - 1];
      case "ArrowRight": return rows[ri][k + 1];
    }
    return undefined;
  }
  container.replaceChildren(svg);
  return svg;
}

/** The legend of the graph as HTML. */
export function legend() {
  const d = document.createElement("div");
  d.className = "legend";
  const item = (cls, text) => {
    const s = document.createElement("span");
    s.className = `key ${cls}`;
    s.textContent = text;
    d.append(s);
  };
  item("human", "human text (rounded)");
  item("model", "model output (square)");
  item("darker", "darker: higher generation");
  item("edge-parent", "parent edge");
  item("edge-prompt", "prompt edge (dashed)");
  return d;
}
