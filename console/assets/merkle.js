// Checks done in the browser, so that an auditor need not trust the server's word: the RFC 6962
// inclusion of a log leaf in the tree a signed checkpoint names (the hashing of
// golang.org/x/mod/sumdb/tlog: a leaf hashes as SHA-256(0x00 || leaf), a node as
// SHA-256(0x01 || left || right)), and the checkpoint's Ed25519 note signature (golang.org/x/mod/
// sumdb/note), with WebCrypto.

const enc = new TextEncoder();

/** Decodes standard base64 into bytes. */
export function fromBase64(s) {
  const bin = atob(s.trim());
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Encodes bytes as standard base64. */
export function toBase64(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Lower-case hex of bytes. */
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(...parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** The RFC 6962 hash of a leaf: SHA-256(0x00 || leaf). */
export function leafHash(leaf) {
  return sha256(concat(Uint8Array.of(0), leaf));
}

/** The RFC 6962 hash of an interior node: SHA-256(0x01 || left || right). */
export function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(1), left, right));
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/**
 * Recomputes the root of a tree of `size` leaves from the hash of leaf `index` and its inclusion
 * proof (the audit path, leaf to root), as RFC 9162 section 2.1.3.2 states it. Returns the root, or
 * throws when the proof has the wrong length for this index and size.
 */
export async function rootFromInclusion(index, size, leafHashBytes, proof) {
  if (!(index >= 0 && index < size)) throw new Error(`index ${index} is outside a tree of ${size} leaves`);
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  let r = leafHashBytes;
  for (const p of proof) {
    if (p.length !== 32) throw new Error("a proof hash is not 32 bytes");
    if (sn === 0n) throw new Error("the proof is longer than the tree is deep");
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new Error("the proof is shorter than the tree is deep");
  return r;
}

/** Checks that `leaf` is leaf `index` of the tree with `size` leaves and root `root`. */
export async function verifyInclusion(index, size, leaf, proof, root) {
  const computed = await rootFromInclusion(index, size, await leafHash(leaf), proof);
  return { ok: equal(computed, root), computed };
}

/**
 * Parses a C2SP tlog-checkpoint signed note: the text (origin, tree size, base64 root hash, any
 * extension lines), a blank line, and signature lines "— name base64(keyhash || signature)".
 */
export function parseCheckpoint(note) {
  const split = note.indexOf("\n\n");
  if (split < 0) throw new Error("the checkpoint has no signature block");
  const text = note.slice(0, split + 1);
  const lines = text.split("\n");
  if (lines.length < 4) throw new Error("the checkpoint text is too short");
  const [origin, sizeLine, rootLine] = lines;
  if (!/^[0-9]+$/.test(sizeLine)) throw new Error("the checkpoint's tree size is not a number");
  const root = fromBase64(rootLine);
  if (root.length !== 32) throw new Error("the checkpoint's root hash is not 32 bytes");
  const sigs = [];
  for (const line of note.slice(split + 2).split("\n")) {
    if (!line) continue;
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) throw new Error(`malformed signature line: ${line}`);
    sigs.push({ name: m[1], blob: fromBase64(m[2]) });
  }
  return { origin, size: Number(sizeLine), root, text, sigs };
}

/** Parses a note verifier key "name+hash8+base64(0x01 || 32-byte Ed25519 key)". */
export function parseVerifierKey(vkey) {
  // The key's base64 may itself hold "+": split at the first two only.
  const s = vkey.trim();
  const i = s.indexOf("+");
  const j = i < 0 ? -1 : s.indexOf("+", i + 1);
  if (i <= 0 || j < 0) throw new Error("the verifier key is not name+hash+key");
  const name = s.slice(0, i);
  const hashHex = s.slice(i + 1, j);
  const b64 = s.slice(j + 1);
  if (!/^[0-9a-f]{8}$/.test(hashHex)) throw new Error("the verifier key's hash is not 8 hex digits");
  const raw = fromBase64(b64);
  if (raw.length !== 33 || raw[0] !== 1) throw new Error("the verifier key is not an Ed25519 note key");
  return { name, hash: parseInt(hashHex, 16) >>> 0, raw, key: raw.slice(1) };
}

/** The note key hash: the first 4 bytes, big-endian, of SHA-256(name || "\n" || 0x01 || key). */
export async function keyHash(name, raw) {
  const h = await sha256(concat(enc.encode(name + "\n"), raw));
  return ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
}

/**
 * Verifies the checkpoint's signature by the verifier key with WebCrypto's Ed25519. Returns
 * {status: "verified" | "failed" | "unsupported", detail}.
 */
export async function verifyCheckpointSignature(cp, vkeyText) {
  const vk = parseVerifierKey(vkeyText);
  if ((await keyHash(vk.name, vk.raw)) !== vk.hash) return { status: "failed", detail: "the verifier key's hash does not match its key" };
  const sig = cp.sigs.find((s) => s.name === vk.name && s.blob.length === 68 &&
    (((s.blob[0] << 24) | (s.blob[1] << 16) | (s.blob[2] << 8) | s.blob[3]) >>> 0) === vk.hash);
  if (!sig) return { status: "failed", detail: `no signature by ${vk.name} on the checkpoint` };
  let key;
  try {
    key = await crypto.subtle.importKey("raw", vk.key, { name: "Ed25519" }, false, ["verify"]);
  } catch (e) {
    return { status: "unsupported", detail: `this browser's WebCrypto has no Ed25519 (${e.name}); verify with registryd verify` };
  }
  const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, sig.blob.slice(4), enc.encode(cp.text));
  return ok ? { status: "verified", detail: `signed by ${vk.name}` } : { status: "failed", detail: "the signature does not verify" };
}

/**
 * Checks that the tree of `second` leaves with root `secondRoot` extends the tree of `first` leaves
 * with root `firstRoot` (RFC 9162 section 2.1.4.2), given the consistency proof between them.
 * Returns true or false; throws for a proof of the wrong shape.
 */
export async function verifyConsistency(first, second, firstRoot, secondRoot, proof) {
  if (first > second) throw new Error(`a tree of ${second} leaves cannot extend one of ${first}`);
  if (first === second) return proof.length === 0 && equal(firstRoot, secondRoot);
  if (first === 0) return proof.length === 0;
  for (const p of proof) if (p.length !== 32) throw new Error("a proof hash is not 32 bytes");
  let path = proof;
  if ((first & (first - 1)) === 0) path = [firstRoot, ...proof]; // first is a power of 2
  if (!path.length) return false;
  let fn = BigInt(first - 1);
  let sn = BigInt(second - 1);
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equal(fr, firstRoot) && equal(sr, secondRoot);
}
