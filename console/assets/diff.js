// A line diff of two texts by longest common subsequence, for comparing policy versions. Policies
// are at most 64 KiB, a few hundred lines, so the quadratic table is small.

/**
 * Returns the lines of a and b as a list of {op, text, a, b}: op " " for a line in both, "-" for a
 * line only in a, "+" for a line only in b; a and b are 1-based line numbers (or 0).
 */
export function lineDiff(a, b) {
  const x = a.split("\n");
  const y = b.split("\n");
  const n = x.length;
  const m = y.length;
  // lcs[i][j]: the length of the LCS of x[i:] and y[j:], in one flat array.
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = x[i] === y[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.push({ op: " ", text: x[i], a: i + 1, b: j + 1 });
      i++;
      j++;
    } else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
      out.push({ op: "-", text: x[i], a: i + 1, b: 0 });
      i++;
    } else {
      out.push({ op: "+", text: y[j], a: 0, b: j + 1 });
      j++;
    }
  }
  for (; i < n; i++) out.push({ op: "-", text: x[i], a: i + 1, b: 0 });
  for (; j < m; j++) out.push({ op: "+", text: y[j], a: 0, b: j + 1 });
  return out;
}
