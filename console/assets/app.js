// The console: hash-routed pages over the REST API. Every page is a function that renders into
// <main> from API responses; what the signed-in key's role may not do is not offered.

import { ApiError, clearKey, currentKey, download, eachJSONLine, getJSON, getText, request, setKey, withQuery } from "./api.js";
import { barChart, distributionChart, shareChart } from "./charts.js";
import { lineDiff } from "./diff.js";
import { h, dl, table, link, field, shortId } from "./dom.js";
import { drawLineage, legend } from "./graph.js";
import { fromBase64, parseCheckpoint, toBase64, toHex, verifyCheckpointSignature, verifyConsistency, verifyInclusion } from "./merkle.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");

// Pages, in the navigation's order, with the roles that may use them (admin may use all).
const PAGES = [
  { path: "", title: "Overview", roles: ["auditor"], render: overview },
  { path: "samples", title: "Samples", roles: ["auditor"], render: samples },
  { path: "prompts", title: "Prompts", roles: ["auditor"], render: prompts },
  { path: "models", title: "Models", roles: ["auditor"], render: models },
  { path: "mixes", title: "Mixes", roles: ["auditor"], render: mixes },
  { path: "decisions", title: "Decisions", roles: ["auditor"], render: decisions },
  { path: "policies", title: "Policies", roles: ["auditor"], render: policies },
  { path: "log", title: "Log", roles: ["auditor"], render: logPage },
  { path: "report", title: "EU AI Act", roles: ["auditor"], render: reportPage },
  { path: "keys", title: "Keys", roles: [], render: keysPage }, // admin only
];

let me = null; // the signed-in key's record from /v1/whoami

function may(page) {
  return me && (me.role === "admin" || page.roles.includes(me.role));
}

// ---- routing ----

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, params: new URLSearchParams(query) };
}

/** Moves to a page. */
export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  if (!currentKey()) return signIn();
  if (!me) {
    try {
      me = await getJSON("/v1/whoami");
    } catch (e) {
      clearKey();
      return signIn(e instanceof ApiError && e.status === 401 ? "That key is not valid (or was revoked)." : describe(e));
    }
  }
  renderNav();
  const { parts, params } = parseHash();
  const page = PAGES.find((p) => p.path === (parts[0] || ""));
  main.replaceChildren();
  if (!page) return show(h("h1", {}, "Not found"), h("p", {}, "There is no such page."));
  if (!may(page)) return forbidden(page);
  document.title = `${page.title} · Pedigree`;
  try {
    await page.render(parts.slice(1), params);
  } catch (e) {
    show(errorBox(e));
  }
  const heading = main.querySelector("h1");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

function renderNav() {
  nav.replaceChildren();
  const current = parseHash().parts[0] || "";
  const ul = h("ul");
  for (const p of PAGES.filter(may)) {
    ul.append(h("li", {}, h("a", { href: `#/${p.path}`, "aria-current": p.path === current ? "page" : null }, p.title)));
  }
  nav.append(ul);
  who.replaceChildren(
    h("span", { class: "role", "data-role": me.role }, `${me.role} key …${me.id.slice(-6)}`),
    h("button", { type: "button", id: "signout", onclick: () => { clearKey(); me = null; go("#/"); } }, "Sign out"),
  );
}

function show(...nodes) {
  main.append(...nodes.filter((n) => n !== null && n !== undefined && n !== false));
}

function describe(e) {
  if (e instanceof ApiError) {
    const p = e.problem;
    return `${e.status} ${p.title || ""}: ${p.detail || ""}`;
  }
  return String(e && e.message ? e.message : e);
}

function errorBox(e) {
  const box = h("div", { class: "problem", role: "alert" }, h("strong", {}, e instanceof ApiError ? "The request was refused. " : "Something went wrong. "), describe(e));
  if (e instanceof ApiError) {
    const p = e.problem;
    if (p.errors && p.errors.length) box.append(h("ul", {}, p.errors.map((x) => h("li", {}, `${x.field}: ${x.message}`))));
    if (p.violations && p.violations.length) box.append(h("ul", { class: "violations" }, p.violations.map((v) => h("li", {}, v))));
  }
  return box;
}

function forbidden(page) {
  document.title = "Not for this key · Pedigree";
  const allowed = PAGES.filter(may);
  show(h("h1", {}, page.title),
    h("p", {}, `A key with role ${me.role} may not read this page.`),
    allowed.length ? null : h("p", { class: "notice" },
      "This console is for auditor and admin keys. An ingest key writes samples, models and mixes and exports mixes; it may not read the registry's records here."));
}

// ---- sign in ----

function signIn(message) {
  me = null;
  nav.replaceChildren();
  who.replaceChildren();
  document.title = "Sign in · Pedigree";
  const input = h("input", { type: "password", name: "key", autocomplete: "off", required: true, spellcheck: "false", "aria-describedby": "key-help" });
  const form = h("form", { class: "signin", id: "signin" },
    h("h1", {}, "Sign in"),
    message ? h("p", { class: "problem", role: "alert" }, message) : null,
    field("API key", input),
    h("p", { id: "key-help", class: "help" }, "The key stays in this tab (session storage) and is sent only as a bearer header to this registry; it is never put in a URL. Closing the tab forgets it."),
    h("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const key = input.value.trim();
    try {
      me = await getJSON("/v1/whoami", { key });
    } catch (e) {
      return signIn(e instanceof ApiError && e.status === 401 ? "That key is not valid (or was revoked)." : describe(e));
    }
    setKey(key);
    route();
  });
  main.replaceChildren(form);
  input.focus();
}

// ---- overview ----

/** Parses the Prometheus text format into [{name, labels, value}]. */
function parseMetrics(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

async function overview() {
  show(h("h1", {}, "Overview"));
  const grid = h("div", { class: "grid" });
  show(grid);
  const [metricsText, note, ready] = await Promise.all([
    fetch("/metrics", { cache: "no-store" }).then((r) => (r.ok ? r.text() : "")).catch(() => ""),
    getText("/v1/log/checkpoint"),
    fetch("/readyz", { cache: "no-store" }).then(async (r) => ({ ok: r.ok, body: await r.json().catch(() => ({})) })).catch(() => ({ ok: false, body: {} })),
  ]);
  const ms = parseMetrics(metricsText);
  const one = (name) => ms.find((m) => m.name === name)?.value;

  // Samples by origin and generation, from pedigree_samples when the server exports it.
  const counts = ms.filter((m) => m.name === "pedigree_samples");
  const samplesCard = h("section", { class: "card", "aria-labelledby": "h-samples" }, h("h2", { id: "h-samples" }, "Samples"));
  if (counts.length) {
    const byOrigin = {};
    const byGen = {};
    for (const c of counts) {
      byOrigin[c.labels.origin] = (byOrigin[c.labels.origin] || 0) + c.value;
      byGen[c.labels.generation] = (byGen[c.labels.generation] || 0) + c.value;
    }
    const total = Object.values(byOrigin).reduce((a, b) => a + b, 0);
    samplesCard.append(h("p", { class: "big", "data-total": total }, `${total} samples`));
    samplesCard.append(barChart("overview-origins", "By origin", Object.entries(byOrigin).sort().map(([k, v]) => ({ label: k, value: v })), { xLabel: "origin" }));
    samplesCard.append(barChart("overview-generations", "By generation", Object.entries(byGen).sort((a, b) => a[0] - b[0]).map(([k, v]) => ({ label: k, value: v })), { xLabel: "generation" }));
  } else {
    samplesCard.append(h("p", {}, "This server does not export sample counts (pedigree_samples on /metrics)."), link("#/samples", "Search samples"));
  }
  grid.append(samplesCard);

  // The log.
  const cp = parseCheckpoint(note);
  const logCard = h("section", { class: "card", "aria-labelledby": "h-log" }, h("h2", { id: "h-log" }, "Tamper-evident log"),
    dl([["Leaves (signed checkpoint)", String(cp.size)], ["Root hash", h("code", { class: "hash" }, toHex(cp.root))], ["Origin", cp.origin],
      ["Leaves now", one("pedigree_log_leaves") !== undefined ? String(one("pedigree_log_leaves")) : null],
      ["Last checkpoint signed", one("pedigree_log_checkpoint_timestamp_seconds") ? new Date(one("pedigree_log_checkpoint_timestamp_seconds") * 1000).toISOString() : null]]),
    h("pre", { class: "note" }, note), link("#/log", "Verify an inclusion in this browser"));
  grid.append(logCard);

  // Self-check and background audit.
  const healthy = one("pedigree_log_healthy");
  const passes = one("pedigree_log_audit_passes_total");
  const lastPass = one("pedigree_log_audit_last_pass_timestamp_seconds");
  const mismatches = one("pedigree_log_audit_mismatches_total");
  const state = ready.ok ? "ready: the database answers and the log passed its checks" : `not ready: ${ready.body.detail || "the server says it is not ready"}`;
  grid.append(h("section", { class: "card", "aria-labelledby": "h-audit" }, h("h2", { id: "h-audit" }, "Self-check and background audit"),
    h("p", { class: ready.ok ? "ok" : "bad", id: "readiness" }, state),
    dl([["Log healthy", healthy === undefined ? null : healthy === 1 ? "yes" : "NO: writes are refused"],
      ["Background audit passes", passes === undefined ? "not running on this server" : String(passes)],
      ["Last pass finished", lastPass ? new Date(lastPass * 1000).toISOString() : passes !== undefined ? "none yet" : null],
      ["Last pass took", one("pedigree_log_audit_last_pass_duration_seconds") !== undefined ? `${one("pedigree_log_audit_last_pass_duration_seconds").toFixed(2)} s` : null],
      ["Mismatches found", mismatches === undefined ? null : String(mismatches)]])));
}

// ---- samples ----

const ORIGINS = ["", "human", "model"];

async function samples(parts, params) {
  if (parts[0]) return samplePage(parts[0], params);
  show(h("h1", {}, "Samples"));
  const f = {};
  const input = (name, label, type = "text") => {
    const i = h("input", { name, type, value: params.get(name) || "", inputmode: type === "number" ? "numeric" : null, min: type === "number" ? 0 : null });
    f[name] = i;
    return field(label, i);
  };
  const origin = h("select", { name: "origin" }, ORIGINS.map((o) => h("option", { value: o, selected: params.get("origin") === o }, o || "any")));
  f.origin = origin;
  const form = h("form", { class: "filters", id: "sample-search" },
    field("Origin", origin), input("model", "Model (id or name@version)"), input("dataset", "Dataset"), input("prompt_id", "Prompt id"),
    input("min_generation", "Min generation", "number"), input("max_generation", "Max generation", "number"),
    h("button", { type: "submit" }, "Search"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = {};
    for (const [k, el] of Object.entries(f)) q[k] = el.value.trim();
    go(withQuery("#/samples", q));
  });
  const jump = h("input", { name: "id", placeholder: "a sample id" });
  const jumpForm = h("form", { class: "inline" }, field("Open sample by id", jump), h("button", { type: "submit" }, "Open"));
  jumpForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (jump.value.trim()) go(`#/samples/${encodeURIComponent(jump.value.trim())}`);
  });
  show(form, jumpForm);
  const q = {};
  for (const k of ["origin", "model", "dataset", "prompt_id", "min_generation", "max_generation", "cursor"]) q[k] = params.get(k);
  q.limit = 50;
  const page = await getJSON(withQuery("/v1/samples", q));
  const rows = page.samples.map((s) => [link(`#/samples/${s.id}`, shortId(s.id)), s.origin, s.model || "", String(s.generation), s.dataset || "",
    String(s.metrics.tokens), s.text.length > 80 ? `${s.text.slice(0, 80)}…` : s.text]);
  show(h("p", { class: "count", "aria-live": "polite" }, `${page.samples.length} samples on this page`),
    table(["id", "origin", "model", "gen.", "dataset", "tokens", "text"], rows, { class: "samples", id: "sample-results" }));
  if (page.next_cursor) {
    const next = Object.fromEntries(params);
    next.cursor = page.next_cursor;
    show(link(withQuery("#/samples", next), "Next page →", { class: "next" }));
  }
}

async function samplePage(id, params) {
  const s = await getJSON(`/v1/samples/${encodeURIComponent(id)}`);
  show(h("h1", {}, "Sample ", shortId(s.id)));
  const prov = dl([
    ["id", h("code", {}, s.id)], ["origin", s.origin], ["model", s.model ? link(`#/models/${encodeURIComponent(s.model)}`, s.model) : null],
    ["generation", `${s.generation} (basis: ${s.generation_basis})`], ["dataset", s.dataset],
    ["source", [s.source.kind, s.source.name, s.source.uri, s.source.license].filter(Boolean).join(" · ")],
    ["prompt", s.prompt_id ? h("span", {}, link(`#/samples/${s.prompt_id}`, shortId(s.prompt_id)), " · ", link(`#/prompts/${s.prompt_id}`, "its candidates")) : null],
    ["parents", s.parents.length ? h("span", {}, s.parents.map((p, i) => [i ? ", " : "", link(`#/samples/${p}`, shortId(p))])) : "none"],
    ["external id", s.external_id ? JSON.stringify(s.external_id) : null],
    ["near duplicate of", s.near_duplicate_of ? link(`#/samples/${s.near_duplicate_of}`, shortId(s.near_duplicate_of)) : null],
    ["content SHA-256", h("code", { class: "hash" }, s.content_sha256)], ["registered", s.created_at],
    ["log index", h("span", {}, String(s.log_index), " · ", link(`#/log?index=${s.log_index}&id=${s.id}`, "verify its inclusion in this browser"))],
  ]);
  const m = s.metrics;
  const metrics = table(["metric", "value"], [["tokens", String(m.tokens)], ["MTLD", m.mtld.toFixed(3)],
    ["toxicity", m.toxicity === null ? "not scored" : m.toxicity.toFixed(4)], ["metrics version", m.metrics_version], ["toxicity scorer", m.toxicity_scorer]], { class: "metrics" });
  const ranks = s.best_of_k ? table(["objective", "rank", "of k"], Object.entries(s.best_of_k.rank).map(([k, v]) => [k, String(v), String(s.best_of_k.k)]), { class: "ranks" }) : h("p", {}, "Not a best-of-k candidate (no prompt).");
  show(h("div", { class: "grid" },
    h("section", { class: "card", "aria-labelledby": "h-prov" }, h("h2", { id: "h-prov" }, "Provenance"), prov),
    h("section", { class: "card", "aria-labelledby": "h-metrics" }, h("h2", { id: "h-metrics" }, "Metrics"), metrics, h("h3", {}, "Best-of-k ranks"), ranks)),
  h("section", { "aria-labelledby": "h-text" }, h("h2", { id: "h-text" }, "Text"), h("pre", { class: "text" }, s.text)),
  s.metadata ? h("section", {}, h("h2", {}, "Metadata"), h("pre", {}, JSON.stringify(s.metadata, null, 2))) : null);
  await lineageSection(s.id, params);
}

async function lineageSection(id, params) {
  const direction = params.get("direction") || "both";
  const depth = params.get("max_depth") || "16";
  const sec = h("section", { "aria-labelledby": "h-lineage", id: "lineage" }, h("h2", { id: "h-lineage" }, "Lineage"));
  const dir = h("select", { name: "direction" }, ["both", "ancestors", "descendants"].map((d) => h("option", { value: d, selected: d === direction }, d)));
  const dep = h("input", { name: "max_depth", type: "number", min: 1, max: 64, value: depth });
  const form = h("form", { class: "inline" }, field("Direction", dir), field("Depth", dep), h("button", { type: "submit" }, "Draw"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    go(withQuery(`#/samples/${id}`, { direction: dir.value, max_depth: dep.value }));
  });
  sec.append(form);
  show(sec);
  const lin = await getJSON(withQuery(`/v1/samples/${id}/lineage`, { direction, max_depth: depth, max_nodes: 1000 }));
  const edgesOf = (k) => lin.edges.filter((e) => e.kind === k).length;
  sec.append(h("p", { class: "count", id: "lineage-count" }, `${lin.nodes.length} samples, ${lin.edges.length} edges (${edgesOf("parent")} parent, ${edgesOf("prompt")} prompt)${lin.truncated ? "; cut short at the node limit" : ""}. Select a node to open it.`),
    legend());
  const box = h("div", { class: "graph", tabindex: 0, "aria-label": "lineage graph, scrollable" });
  sec.append(box);
  drawLineage(box, lin, (nid) => go(`#/samples/${nid}`));
  const root = box.querySelector(".node.root");
  if (root && root.scrollIntoView) root.scrollIntoView({ block: "nearest", inline: "center" });
}

// ---- prompts ----

async function prompts(parts, params) {
  show(h("h1", {}, "Prompts"));
  const input = h("input", { name: "prompt", value: parts[0] || "", placeholder: "a prompt's sample id" });
  const model = h("input", { name: "model", value: params.get("model") || "", placeholder: "optional: one model (single-source)" });
  const form = h("form", { class: "inline" }, field("Prompt id", input), field("Model", model), h("button", { type: "submit" }, "Rank"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (input.value.trim()) go(withQuery(`#/prompts/${encodeURIComponent(input.value.trim())}`, { model: model.value.trim() }));
  });
  show(form);
  if (!parts[0]) return show(h("p", {}, "A prompt's candidates are the samples that answer it (their prompt_id); each objective ranks them."));
  const id = parts[0];
  const prompt = await getJSON(`/v1/samples/${encodeURIComponent(id)}`);
  show(h("p", {}, "Prompt ", link(`#/samples/${id}`, shortId(id)), ": ", h("q", {}, prompt.text.slice(0, 200))));
  const objectives = ["mtld", "length", "toxicity"];
  const ranked = await Promise.all(objectives.map((o) => getJSON(withQuery(`/v1/prompts/${encodeURIComponent(id)}/candidates`, { objective: o, model: params.get("model") }))));
  const grid = h("div", { class: "grid three" });
  ranked.forEach((r, i) => {
    const note = { mtld: "higher MTLD is better", length: "more tokens is better", toxicity: "lower toxicity is better" }[objectives[i]];
    grid.append(h("section", { class: "card", "data-objective": objectives[i] }, h("h2", {}, `By ${objectives[i]}`), h("p", { class: "help" }, note),
      table(["rank", "candidate", "model", "score"], r.candidates.map((c) => [String(c.rank), link(`#/samples/${c.id}`, shortId(c.id)), c.model || "", c.score === null ? "—" : c.score.toFixed(3)]))));
  });
  show(h("p", {}, `k = ${ranked[0].candidates.length}`), grid);
}

// ---- models ----

async function models(parts, params) {
  if (parts[0]) return modelPage(parts[0]);
  show(h("h1", {}, "Models"));
  const page = await getJSON(withQuery("/v1/models", { cursor: params.get("cursor"), limit: 100 }));
  show(table(["model", "provider", "generation", "basis", "trained on"], page.models.map((m) => [
    link(`#/models/${m.id}`, `${m.name}@${m.version}`), m.provider || "", String(m.generation), m.generation_basis, String((m.trained_on || []).length) + " mixes"]), { id: "models" }));
  if (page.next_cursor) show(link(withQuery("#/models", { cursor: page.next_cursor }), "Next page →"));
}

async function modelPage(ref) {
  const m = await getJSON(`/v1/models/${encodeURIComponent(ref)}`);
  show(h("h1", {}, `Model ${m.name}@${m.version}`));
  show(dl([["id", h("code", {}, m.id)], ["provider", m.provider], ["generation", String(m.generation)], ["generation basis", m.generation_basis],
    ["declared generation", m.declared_generation !== undefined ? String(m.declared_generation) : null],
    ["trained on", (m.trained_on || []).length ? h("span", {}, m.trained_on.map((id, i) => [i ? ", " : "", link(`#/mixes/${id}`, shortId(id))])) : "no mix in this registry (trained elsewhere)"],
    ["log index", m.log_index !== undefined ? String(m.log_index) : null]]));
  show(h("p", {}, link(withQuery("#/report", { model: m.id }), "EU AI Act summary of this model and its completeness")));
  // The provider's disclosure for the summary (contact, dates, crawlers, opt-outs, …), if any.
  const disc = h("section", { id: "disclosure", "aria-labelledby": "h-disclosure" }, h("h2", { id: "h-disclosure" }, "Disclosure for the EU AI Act summary"));
  show(disc);
  try {
    const d = await getJSON(`/v1/models/${encodeURIComponent(m.id)}/disclosure`);
    const { versions, model_id: _id, model: _m, ...fields } = d;
    disc.append(h("p", {}, `Version ${d.version} of ${versions.length}, logged at index ${d.log_index}.`), renderValue(fields));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) disc.append(h("p", { class: "notice" }, "No disclosure recorded for this model (PUT /v1/models/{id}/disclosure)."));
    else disc.append(errorBox(e));
  }
  const produced = await getJSON(withQuery("/v1/samples", { model: m.id, limit: 50 }));
  show(h("h2", {}, "Samples it produced"),
    table(["id", "generation", "dataset", "text"], produced.samples.map((s) => [link(`#/samples/${s.id}`, shortId(s.id)), String(s.generation), s.dataset || "", s.text.slice(0, 80)])),
    produced.next_cursor ? link(withQuery("#/samples", { model: m.id }), "All its samples →") : null);
}

// ---- mixes ----

async function mixes(parts, params) {
  if (parts[0]) return mixPage(parts[0]);
  show(h("h1", {}, "Mixes"));
  const page = await getJSON(withQuery("/v1/mixes", { cursor: params.get("cursor"), limit: 100 }));
  show(table(["mix", "created", "size", "synthetic share", "policy", "strategy"], page.mixes.map((m) => [
    link(`#/mixes/${m.id}`, shortId(m.id)), m.created_at, String(m.size), m.stats.synthetic_ratio.toFixed(3), `${m.policy.name}@${m.policy.version}`, m.strategy.name]), { id: "mixes" }));
  if (page.next_cursor) show(link(withQuery("#/mixes", { cursor: page.next_cursor }), "Next page →"));
}

// The export formats and descriptions a mix can be downloaded as: [label, path suffix, file name, Accept].
const MIX_DOWNLOADS = [
  ["JSON Lines", "export?format=jsonl", "jsonl", "application/x-ndjson"],
  ["Chat JSON Lines", "export?format=chat", "chat.jsonl", "*/*"],
  ["Parquet", "export?format=parquet", "parquet", "*/*"],
  ["Dataset card (Markdown)", "card", "card.md", "text/markdown"],
  ["Croissant (JSON-LD)", "croissant", "croissant.json", "*/*"],
];

// Mixes up to this size get their human-against-synthetic metric distributions drawn at once; a
// larger one on request, since that reads the whole export.
const AUTO_DISTRIBUTION = 20000;

async function mixPage(id) {
  const m = await getJSON(`/v1/mixes/${encodeURIComponent(id)}`);
  show(h("h1", {}, "Mix ", shortId(m.id)));
  const [pv, decision] = await Promise.all([
    getJSON(`/v1/policies/${encodeURIComponent(m.policy.name)}/versions/${m.policy.version}`),
    getJSON(`/v1/decisions/${m.decision_id}`),
  ]);
  const limits = pv.limits || {};
  const st = m.stats;
  show(dl([["id", h("code", {}, m.id)], ["created", m.created_at], ["size", `${m.size} samples (${st.human} human, ${st.synthetic} synthetic)`],
    ["policy", link(`#/policies/${encodeURIComponent(m.policy.name)}?version=${m.policy.version}`, `${m.policy.name} version ${m.policy.version}`)],
    ["decision", h("span", {}, link(`#/decisions/${m.decision_id}`, decision.allowed ? "allowed" : "refused"), ` at ${decision.evaluated_at}`)],
    ["strategy", JSON.stringify(m.strategy)], ["seed", String(m.seed)], ["pool admitted", String(st.pool)],
    ["manifest SHA-256", h("code", { class: "hash" }, m.manifest_sha256)],
    ["log index", h("span", {}, String(m.log_index), " · ", link(`#/log?index=${m.log_index}&id=${m.id}`, "verify in this browser"))]]));

  const charts = h("div", { class: "grid charts", id: "mix-charts" });
  const gens = Object.entries(st.generations).sort((a, b) => a[0] - b[0]).map(([g, n]) => ({ label: g, value: n }));
  charts.append(barChart("generations", "Samples by generation", gens, { xLabel: "generation" }));
  charts.append(shareChart("synthetic-share", "Synthetic share against the policy's cap",
    [{ label: "synthetic", value: st.synthetic_ratio, cap: limits.max_synthetic_ratio ?? null }]));
  const modelShares = Object.entries(st.models).sort().map(([ref, n]) => ({ label: ref, value: m.size ? n / m.size : 0, cap: limits.max_model_share ?? null }));
  charts.append(modelShares.length ? shareChart("model-share", "Each model's share against the policy's cap", modelShares)
    : h("figure", { class: "chart", "data-chart": "model-share" }, h("figcaption", {}, "No model output in this mix.")));
  show(h("h2", {}, "Composition"), charts);

  const dist = h("div", { class: "grid charts", id: "mix-distributions" });
  show(h("h2", {}, "Metric distributions, human against synthetic"), dist);
  const draw = async () => {
    dist.replaceChildren(h("p", { "aria-live": "polite" }, "Reading the mix's samples…"));
    const groups = { tokens: { human: [], synthetic: [] }, mtld: { human: [], synthetic: [] }, toxicity: { human: [], synthetic: [] } };
    await eachJSONLine(`/v1/mixes/${m.id}/export?format=jsonl`, (row) => {
      const g = row.origin === "model" ? "synthetic" : "human";
      for (const k of Object.keys(groups)) if (row.metrics && typeof row.metrics[k] === "number") groups[k][g].push(row.metrics[k]);
    });
    dist.replaceChildren(...Object.entries(groups).map(([k, g]) => distributionChart(`dist-${k}`, k, g)));
  };
  if (m.size <= AUTO_DISTRIBUTION) await draw();
  else dist.append(h("button", { type: "button", onclick: draw }, `Read the ${m.size} samples and draw them`));

  show(h("h2", {}, "Downloads"), downloads(MIX_DOWNLOADS.map(([label, suffix, ext, accept]) => [label, `/v1/mixes/${m.id}/${suffix}`, `mix-${m.id}.${ext}`, accept])
    .concat(reportDownloads({ mix: m.id }, `mix-${m.id}`))));
  await reportSummary({ mix: m.id });
}

function reportDownloads(subject, base) {
  const path = withQuery("/v1/reports/eu-ai-act", subject);
  return [["EU AI Act summary (JSON)", path, `${base}-eu-ai-act.json`, "application/json"],
    ["EU AI Act summary (Markdown)", path, `${base}-eu-ai-act.md`, "text/markdown"],
    ["EU AI Act summary (HTML)", path, `${base}-eu-ai-act.html`, "text/html"]];
}

function downloads(items) {
  const status = h("p", { class: "status", "aria-live": "polite", id: "download-status" });
  const ul = h("ul", { class: "downloads" }, items.map(([label, path, file, accept]) => h("li", {}, h("button", {
    type: "button", "data-file": file, onclick: async () => {
      status.textContent = `Downloading ${file}…`;
      try {
        const blob = await download(path, file, accept);
        status.textContent = `Downloaded ${file} (${blob.size} bytes).`;
        status.dataset.file = file;
        status.dataset.bytes = blob.size;
      } catch (e) {
        status.textContent = `Could not download ${file}: ${describe(e)}`;
      }
    },
  }, label))));
  return h("div", {}, ul, status);
}

// ---- EU AI Act summary ----

function renderValue(v) {
  if (v === null || v === undefined) return h("span", { class: "missing" }, "not recorded");
  if (Array.isArray(v)) {
    if (!v.length) return h("span", { class: "missing" }, "none");
    if (v.every((x) => typeof x !== "object" || x === null)) return v.join(", ");
    return h("ul", {}, v.map((x) => h("li", {}, renderValue(x))));
  }
  if (typeof v === "object") return dl(Object.entries(v).map(([k, x]) => [k.replaceAll("_", " "), renderValue(x)]));
  return String(v);
}

async function reportSummary(subject) {
  const sec = h("section", { id: "report", "aria-labelledby": "h-report" }, h("h2", { id: "h-report" }, "EU AI Act public summary"));
  show(sec);
  try {
    const rep = await getJSON(withQuery("/v1/reports/eu-ai-act", subject));
    sec.append(h("p", { class: "report-title" }, rep.title));
    for (const k of ["general", "sources", "processing", "evidence"]) {
      if (rep[k]) sec.append(h("details", { open: k === "general" }, h("summary", {}, k), renderValue(rep[k])));
    }
  } catch (e) {
    sec.append(errorBox(e));
  }
  // Completeness: GET /v1/reports/eu-ai-act/completeness lists the required fields still missing.
  // A server without it answers 404, and the console says so rather than guessing.
  const comp = h("div", { id: "completeness" }, h("h3", {}, "Completeness"));
  sec.append(comp);
  if (!subject.model) {
    comp.append(h("p", {}, "Completeness is checked per model: open the summary of a model trained on this mix."));
    return;
  }
  try {
    const c = await getJSON(withQuery("/v1/reports/eu-ai-act/completeness", { model: subject.model }));
    const missing = c.missing || [];
    comp.append(h("p", { class: c.publishable ? "ok" : "bad", "data-publishable": String(c.publishable), "data-missing": missing.length },
      c.publishable ? "Publishable: every field the template requires is recorded."
        : `Not publishable yet: ${missing.length} required field${missing.length === 1 ? " is" : "s are"} missing.`),
    dl([["model", c.model], ["disclosure version checked", c.disclosure_version === null ? "none: the model has no disclosure (PUT /v1/models/{id}/disclosure)" : String(c.disclosure_version)]]));
    if (missing.length) {
      comp.append(table(["section", "field", "what fills it"], missing.map((x) => [x.section, h("code", {}, x.field), x.fill]), { id: "missing" }));
    }
  } catch (e) {
    // A server without the check has no such route: echo answers 404 with its own "Not Found".
    if (e instanceof ApiError && e.status === 404 && /^not found$/i.test(e.problem.detail || "")) {
      comp.append(h("p", { class: "notice", "data-publishable": "unknown" }, "This server has no completeness check (GET /v1/reports/eu-ai-act/completeness)."));
    } else comp.append(errorBox(e));
  }
}

async function reportPage(parts, params) {
  show(h("h1", {}, "EU AI Act summary"));
  const kind = params.get("mix") ? "mix" : "model";
  const input = h("input", { name: "subject", value: params.get("model") || params.get("mix") || "", placeholder: "model id or name@version, or a mix id" });
  const which = h("select", { name: "kind" }, h("option", { value: "model", selected: kind === "model" }, "model"), h("option", { value: "mix", selected: kind === "mix" }, "mix"));
  const form = h("form", { class: "inline" }, field("Summary of a", which), field("Model or mix", input), h("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    go(withQuery("#/report", { [which.value]: input.value.trim() }));
  });
  show(form);
  const subject = params.get("mix") ? { mix: params.get("mix") } : params.get("model") ? { model: params.get("model") } : null;
  if (!subject) return;
  show(downloads(reportDownloads(subject, subject.mix ? `mix-${subject.mix}` : `model-${subject.model.replace(/[^A-Za-z0-9._-]/g, "_")}`)));
  const viewer = h("div", { class: "report-view" });
  const showHTML = h("button", { type: "button", onclick: async () => {
    const html = await (await request(withQuery("/v1/reports/eu-ai-act", subject), { accept: "text/html" })).text();
    // Sandboxed without scripts or same-origin: the report's HTML can show, not act.
    const frame = h("iframe", { sandbox: "", title: "EU AI Act summary (HTML)", class: "report-frame" });
    frame.srcdoc = html;
    viewer.replaceChildren(frame);
  } }, "Show the HTML summary");
  show(showHTML, viewer);
  await reportSummary(subject);
}

// ---- decisions ----

async function decisions(parts, params) {
  if (parts[0]) return decisionPage(parts[0]);
  show(h("h1", {}, "Decisions"));
  const filter = params.get("allowed") || "";
  const sel = h("select", { name: "allowed" }, [["", "all"], ["true", "allowed"], ["false", "refused"]].map(([v, l]) => h("option", { value: v, selected: v === filter }, l)));
  sel.addEventListener("change", () => go(withQuery("#/decisions", { allowed: sel.value })));
  show(h("form", { class: "inline" }, field("Show", sel)));
  const page = await getJSON(withQuery("/v1/decisions", { allowed: filter, cursor: params.get("cursor"), limit: 100 }));
  const list = page.decisions;
  if (!list.length) show(h("p", {}, filter === "false" ? "No mix request has been refused." : filter === "true" ? "No mix has been allowed." : "No decision yet."));
  show(h("ol", { class: "decisions", id: "decisions" }, list.map((d) => h("li", { class: d.allowed ? "allowed" : "refused", "data-id": d.id },
    h("p", {}, h("strong", {}, d.allowed ? "Allowed" : "Refused"), " · ", link(`#/decisions/${d.id}`, shortId(d.id)), ` · ${d.evaluated_at} · policy ${d.policy.name}@${d.policy.version}`,
      d.mix_id ? [" · mix ", link(`#/mixes/${d.mix_id}`, shortId(d.mix_id))] : null),
    d.violations.length ? h("ul", { class: "violations" }, d.violations.map((v) => h("li", {}, v))) : null,
    d.error ? h("p", { class: "bad" }, `evaluation error: ${d.error}`) : null))));
  if (page.next_cursor) show(link(withQuery("#/decisions", { cursor: page.next_cursor, allowed: filter }), "Next page →"));
}

async function decisionPage(id) {
  const d = await getJSON(`/v1/decisions/${encodeURIComponent(id)}`);
  show(h("h1", {}, `Decision: ${d.allowed ? "allowed" : "refused"}`));
  show(dl([["id", h("code", {}, d.id)], ["evaluated", d.evaluated_at],
    ["policy", link(`#/policies/${encodeURIComponent(d.policy.name)}?version=${d.policy.version}`, `${d.policy.name} version ${d.policy.version}`)],
    ["mix", d.mix_id ? link(`#/mixes/${d.mix_id}`, shortId(d.mix_id)) : "none (refused)"],
    ["log index", h("span", {}, String(d.log_index), " · ", link(`#/log?index=${d.log_index}&id=${d.id}`, "verify in this browser"))]]));
  if (d.violations.length) show(h("h2", {}, "Violations"), h("ul", { class: "violations" }, d.violations.map((v) => h("li", {}, v))));
  if (d.error) show(h("p", { class: "bad" }, `evaluation error: ${d.error}`));
  show(h("h2", {}, "What the policy saw (input.mix)"), h("pre", { class: "json" }, JSON.stringify(d.input, null, 2)));
}

// ---- policies ----

async function policies(parts, params) {
  if (parts[0]) return policyPage(parts[0], params);
  show(h("h1", {}, "Policies"));
  const list = await getJSON("/v1/policies");
  show(table(["policy", "latest version", "SHA-256", "limits"], list.policies.map((p) => [link(`#/policies/${encodeURIComponent(p.name)}`, p.name), String(p.version),
    h("code", { class: "hash" }, p.sha256.slice(0, 16) + "…"), JSON.stringify(p.limits)]), { id: "policies" }));
  if (me.role === "admin") show(uploadForm(""));
}

/** The names of a module's test_ rules, which ran (and passed) when the version was uploaded. */
function testRules(module) {
  return [...new Set([...module.matchAll(/^\s*(test_[A-Za-z0-9_]*)\b/gm)].map((m) => m[1]))];
}

async function policyPage(name, params) {
  const p = await getJSON(`/v1/policies/${encodeURIComponent(name)}`);
  const versions = p.versions.map((v) => v.version);
  const sel = Number(params.get("version") || p.latest.version);
  show(h("h1", {}, `Policy ${p.name}`));
  show(table(["version", "created", "SHA-256", "limits", "log index"], p.versions.map((v) => [
    link(`#/policies/${encodeURIComponent(name)}?version=${v.version}`, String(v.version), { "aria-current": v.version === sel ? "true" : null }), v.created_at,
    h("code", { class: "hash" }, v.sha256.slice(0, 16) + "…"), JSON.stringify(v.limits), link(`#/log?index=${v.log_index}`, String(v.log_index))]), { id: "versions" }));
  const v = sel === p.latest.version ? p.latest : await getJSON(`/v1/policies/${encodeURIComponent(name)}/versions/${sel}`);
  const tests = testRules(v.module);
  show(h("h2", {}, `Version ${v.version}`), dl([["SHA-256", h("code", { class: "hash" }, v.sha256)], ["limits", JSON.stringify(v.limits)]]),
    h("h3", {}, "Tests"), tests.length ? h("ul", { id: "tests" }, tests.map((t) => h("li", {}, h("code", {}, t), " — passed at upload (a failing test refuses the upload)"))) : h("p", {}, "This version has no test_ rules."),
    h("h3", {}, "Module"), h("pre", { class: "rego", id: "module" }, v.module));

  if (versions.length > 1) {
    const from = Number(params.get("from") || (sel > 1 ? sel - 1 : versions[0]));
    const a = h("select", { name: "from" }, versions.map((n) => h("option", { value: n, selected: n === from }, String(n))));
    const b = h("select", { name: "to" }, versions.map((n) => h("option", { value: n, selected: n === sel }, String(n))));
    const form = h("form", { class: "inline" }, field("Compare version", a), field("with version", b), h("button", { type: "submit" }, "Diff"));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      go(withQuery(`#/policies/${encodeURIComponent(name)}`, { from: a.value, version: b.value }));
    });
    show(h("h2", {}, "Changes between versions"), form);
    if (from !== sel) {
      const old = await getJSON(`/v1/policies/${encodeURIComponent(name)}/versions/${from}`);
      const diff = lineDiff(old.module, v.module);
      const added = diff.filter((d) => d.op === "+").length;
      const removed = diff.filter((d) => d.op === "-").length;
      show(h("p", { id: "diff-summary" }, `Version ${from} → ${sel}: ${added} lines added, ${removed} removed.`),
        h("pre", { class: "diff", id: "diff" }, diff.map((d) => h("span", { class: d.op === "+" ? "add" : d.op === "-" ? "del" : "same" },
          `${d.op === " " ? " " : d.op} ${d.text}\n`))));
    }
  }
  if (me.role === "admin") show(uploadForm(name, v.module));
}

/** The admin's form to upload a new policy version (an auditor is not offered it). */
function uploadForm(name, module = "") {
  const nameIn = h("input", { name: "name", value: name, required: true, pattern: "[a-z0-9][a-z0-9._-]*" });
  const text = h("textarea", { name: "module", rows: 14, spellcheck: "false", required: true }, module);
  const status = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "upload", id: "upload" }, h("h2", {}, "Upload a new version (admin)"), field("Policy name", nameIn), field("Rego module", text),
    h("button", { type: "submit" }, "Upload"), status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const res = await request(`/v1/policies/${encodeURIComponent(nameIn.value)}`, { method: "PUT", body: text.value, contentType: "text/plain; charset=utf-8" });
      const pv = await res.json();
      go(`#/policies/${encodeURIComponent(pv.name)}?version=${pv.version}`);
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  });
  return form;
}

// ---- the log ----

async function logPage(parts, params) {
  show(h("h1", {}, "Tamper-evident log"));
  const [note, vkey] = await Promise.all([getText("/v1/log/checkpoint"), getText("/v1/log/key")]);
  const cp = parseCheckpoint(note);
  let sig;
  try {
    sig = await verifyCheckpointSignature(cp, vkey);
  } catch (e) {
    sig = { status: "failed", detail: describe(e) };
  }
  show(h("section", { class: "card", "aria-labelledby": "h-cp" }, h("h2", { id: "h-cp" }, "Signed checkpoint"),
    dl([["origin", cp.origin], ["tree size", String(cp.size)], ["root hash", h("code", { class: "hash" }, toHex(cp.root))], ["verifier key", h("code", {}, vkey.trim())],
      ["signature (checked here with WebCrypto Ed25519)", h("span", { class: sig.status === "verified" ? "ok" : sig.status === "failed" ? "bad" : "", id: "signature", "data-status": sig.status }, `${sig.status}: ${sig.detail}`)]]),
    h("pre", { class: "note" }, note), await consistencySince(cp, sig)));

  const index = h("input", { name: "index", type: "number", min: 0, value: params.get("index") || "", required: true, inputmode: "numeric" });
  const leafIn = h("textarea", { name: "leaf", rows: 3, spellcheck: "false", placeholder: "optional: the leaf bytes you hold, base64" });
  const result = h("div", { id: "inclusion", "aria-live": "polite" });
  const form = h("form", { class: "verify", id: "verify" }, h("h2", {}, "Check that a record is in the log"),
    h("p", { class: "help" }, "The page fetches the entry and its inclusion proof and recomputes the tree's root here, with SHA-256 in this browser, against the root of the checkpoint above (whose signature is checked above). To check a record you hold, paste its leaf bytes."),
    field("Log index", index), field("Leaf (base64)", leafIn), h("button", { type: "submit" }, "Verify inclusion"), result);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    result.replaceChildren(h("p", {}, "Checking…"));
    try {
      result.replaceChildren(await checkInclusion(Number(index.value), leafIn.value.trim(), cp, params.get("id")));
    } catch (e) {
      result.replaceChildren(h("p", { class: "bad", "data-verdict": "error" }, `Could not check: ${describe(e)}`));
    }
  });
  show(form);
  if (params.get("index")) form.requestSubmit();
}

// The last checkpoint this tab verified, so that the next visit proves the log only grew since.
const SEEN = "pedigree.checkpoint";

/**
 * Proves, in the browser, that the checkpoint extends the last one this tab saw (a consistency
 * proof from its size to this one's), and remembers this one when its signature verified.
 */
async function consistencySince(cp, sig) {
  const out = h("p", { id: "consistency" });
  let seen = null;
  try {
    seen = JSON.parse(sessionStorage.getItem(SEEN) || "null");
  } catch {
    seen = null;
  }
  if (seen && seen.origin === cp.origin && seen.size <= cp.size) {
    try {
      const root = fromBase64(seen.root);
      const pr = seen.size === cp.size || seen.size === 0 ? { proof: [] } : await getJSON(withQuery("/v1/log/proof/consistency", { from: seen.size, to: cp.size }));
      const ok = await verifyConsistency(seen.size, cp.size, root, cp.root, pr.proof.map(fromBase64));
      out.className = ok ? "ok" : "bad";
      out.dataset.status = ok ? "consistent" : "inconsistent";
      out.textContent = ok ? `Consistent with the checkpoint this tab saw before (${seen.size} leaves): the log only grew.`
        : `NOT consistent with the checkpoint this tab saw before (${seen.size} leaves, root ${toHex(root)}): the log was rewritten, or the proof is wrong.`;
    } catch (e) {
      out.className = "bad";
      out.dataset.status = "error";
      out.textContent = `Could not check consistency with the checkpoint seen before: ${describe(e)}`;
      return out;
    }
  } else if (seen && seen.origin === cp.origin) {
    out.className = "bad";
    out.dataset.status = "shrunk";
    out.textContent = `The log has ${cp.size} leaves, fewer than the ${seen.size} this tab saw before: it was rolled back.`;
    return out;
  } else {
    out.dataset.status = "first";
    out.textContent = "This tab has seen no earlier checkpoint; the next visit proves the log only grew from this one.";
  }
  if (sig.status !== "failed" && out.dataset.status !== "inconsistent") {
    sessionStorage.setItem(SEEN, JSON.stringify({ origin: cp.origin, size: cp.size, root: toBase64(cp.root) }));
  }
  return out;
}

async function checkInclusion(index, leafB64, cp, expectId) {
  if (!Number.isInteger(index) || index < 0) throw new Error("the index must be a whole number ≥ 0");
  if (index >= cp.size) throw new Error(`index ${index} is not covered by the checkpoint (tree size ${cp.size}); reload once a newer checkpoint is signed`);
  let leaf;
  if (leafB64) leaf = fromBase64(leafB64);
  else leaf = fromBase64((await getJSON(`/v1/log/entries/${index}`)).leaf);
  const pr = await getJSON(withQuery("/v1/log/proof/inclusion", { index, size: cp.size }));
  const proof = pr.proof.map(fromBase64);
  const { ok, computed } = await verifyInclusion(index, cp.size, leaf, proof, cp.root);
  let record = null;
  try {
    record = JSON.parse(new TextDecoder().decode(leaf));
  } catch {
    /* not JSON: shown as bytes */
  }
  const idMatches = !expectId || (record && record.id === expectId);
  const verdict = ok && idMatches;
  return h("div", { class: verdict ? "ok-box" : "bad-box" },
    h("p", { class: verdict ? "ok" : "bad", "data-verdict": verdict ? "included" : "not-included" },
      verdict ? `Verified: leaf ${index} is in the log of ${cp.size} leaves signed above.`
        : !ok ? `NOT verified: the proof does not lead from this leaf to the signed root.` : `The leaf verifies, but it is the record ${record?.id}, not ${expectId}.`),
    dl([["leaf hash", h("code", { class: "hash" }, toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array([0, ...leaf])))))],
      ["root recomputed", h("code", { class: "hash", id: "computed-root" }, toHex(computed))], ["root signed", h("code", { class: "hash" }, toHex(cp.root))],
      ["proof hashes", String(proof.length)], ["record", record ? `${record.kind} ${record.id}` : `${leaf.length} bytes`]]),
    record ? h("pre", { class: "json" }, JSON.stringify(record, null, 2)) : null);
}

// ---- API keys (admin) ----

async function keysPage(parts, params) {
  show(h("h1", {}, "API keys"));
  const role = h("select", { name: "role" }, ["auditor", "ingest", "admin"].map((r) => h("option", { value: r }, r)));
  const created = h("div", { "aria-live": "polite", id: "created-key" });
  const form = h("form", { class: "inline", id: "create-key" }, field("Role", role), h("button", { type: "submit" }, "Create a key"), created);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const res = await request("/v1/keys", { method: "POST", body: JSON.stringify({ role: role.value }), contentType: "application/json" });
      const k = await res.json();
      // The secret is shown once, here; the registry keeps only its hash.
      created.replaceChildren(h("p", { class: "notice" }, `New ${k.role} key (shown once, copy it now): `, h("code", { class: "secret" }, k.key)));
      await listKeys(list, params);
    } catch (e) {
      created.replaceChildren(errorBox(e));
    }
  });
  const list = h("div", { id: "keys" });
  show(form, list);
  await listKeys(list, params);
}

async function listKeys(box, params) {
  const page = await getJSON(withQuery("/v1/keys", { cursor: params.get("cursor"), limit: 100 }));
  const rows = page.keys.map((k) => {
    const revoke = k.revoked_at ? k.revoked_at : k.id === me.id ? "this key" : h("button", {
      type: "button", "data-revoke": k.id, onclick: async (ev) => {
        if (!confirm(`Revoke the ${k.role} key …${k.id.slice(-6)}? Clients using it stop working at once.`)) return;
        ev.target.disabled = true;
        try {
          await request(`/v1/keys/${k.id}`, { method: "DELETE" });
          await listKeys(box, params);
        } catch (e) {
          box.prepend(errorBox(e));
        }
      },
    }, "Revoke");
    return [shortId(k.id), k.role, k.created_at, String(k.log_index), revoke];
  });
  box.replaceChildren(table(["key", "role", "created", "log index", "revoked"], rows),
    page.next_cursor ? link(withQuery("#/keys", { cursor: page.next_cursor }), "Next page →") : "");
}

// ---- start ----

window.addEventListener("hashchange", route);
route();
