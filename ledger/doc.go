// Package ledger is Pedigree's tamper-evident log: a Merkle tree of record digests in the
// RFC 6962 hashing of golang.org/x/mod/sumdb/tlog, with checkpoints signed as C2SP tlog-checkpoint
// notes (golang.org/x/mod/sumdb/note, Ed25519).
//
// The package is pure: it never opens a database. A store keeps two append-only tables in the
// same transaction as the records they describe:
//
//   - leaves: (index, leaf bytes), one row per record, index 0, 1, 2, …;
//   - hashes: (stored index, 32-byte hash), the tlog "stored hashes", about two per leaf
//     (exactly [tlog.StoredHashCount](n) rows for n leaves).
//
// Inside a write transaction the store reads the current size (under its sequencer lock), builds
// leaves with [Leaf], feeds them to an [Appender] created over a [tlog.HashReader] that reads its
// hashes table, and inserts the leaf rows and [Appender.Hashes]. Proofs ([ProveInclusion],
// [ProveConsistency]) and roots ([TreeAt]) read the hashes table through the same interface.
// Checkpoints are signed with [SignCheckpoint] using the key from [LoadOrCreateKey] and checked
// with [OpenCheckpoint]. At start-up [Audit] recomputes every stored hash from the leaves and
// compares the result with the last signed checkpoint.
//
// [MemoryHashes] is a complete in-memory log, for tests and for offline verification.
package ledger
