// The API client of the console: every request carries the key from this tab's sessionStorage as
// a bearer header, never in a URL. Errors are the API's RFC 9457 problems, thrown as ApiError.

const KEY = "pedigree.key";

/** Returns the signed-in key, or "" when signed out. */
export function currentKey() {
  return sessionStorage.getItem(KEY) || "";
}

/** Keeps the key for this tab only. */
export function setKey(key) {
  sessionStorage.setItem(KEY, key);
}

/** Forgets the key. */
export function clearKey() {
  sessionStorage.removeItem(KEY);
}

/** An API refusal: the problem's status, code, detail, field errors and violations. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** Builds a path with query parameters, leaving out empty ones. */
export function withQuery(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** Sends a request with the key and returns the Response, throwing ApiError on a non-2xx status. */
export async function request(path, { method = "GET", accept = "application/json", body, contentType, key } = {}) {
  const headers = { Accept: accept };
  const k = key ?? currentKey();
  if (k) headers.Authorization = `Bearer ${k}`;
  if (contentType) headers["Content-Type"] = contentType;
  const res = await fetch(path, { method, headers, body, cache: "no-store", credentials: "omit" });
  if (!res.ok) {
    let problem = {};
    try {
      problem = await res.json();
    } catch {
      problem = { detail: `HTTP ${res.status}` };
    }
    throw new ApiError(res.status, problem);
  }
  return res;
}

/** GETs JSON. */
export async function getJSON(path, opts) {
  const res = await request(path, opts);
  return res.json();
}

/** GETs text (the checkpoint, the log key, reports in Markdown or HTML). */
export async function getText(path, accept = "text/plain") {
  const res = await request(path, { accept });
  return res.text();
}

/**
 * Downloads what path returns as a file: the bearer header cannot ride on a link, so the body is
 * fetched and handed to the browser as a Blob behind an object URL.
 */
export async function download(path, filename, accept = "*/*") {
  const res = await request(path, { accept });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return blob;
}

/** Reads a JSON Lines response line by line without holding the whole body, calling fn per record. */
export async function eachJSONLine(path, fn, { accept = "application/x-ndjson" } = {}) {
  const res = await request(path, { accept });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let rest = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    rest += value;
    let nl;
    while ((nl = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (line.trim()) fn(JSON.parse(line));
    }
  }
  if (rest.trim()) fn(JSON.parse(rest));
}
