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
// with [OpenCheckpoint]. [Audit] recomputes every stored hash from the leaves and compares the
// result with a signed checkpoint.
//
// A [Log] ties these to a store and checks that the store still holds what the log says:
//
//   - [Log.FullCheck] recomputes every stored hash and re-derives every record's leaf (through the
//     store's [RecordLeaves] walk). It can be paced, for a server that runs it in the background,
//     and on success it moves the audit watermark, a signed note kept outside the database
//     ([WithWatermark]), up to the tree it verified.
//   - [Log.StartupCheck] checks the signed checkpoints, proves the stored hashes still give the
//     watermark's root, and re-hashes and re-derives (through a [RecordLeafFunc]) only the leaves
//     logged since: its cost follows what was written since the last full check, not the log's size.
//   - Every checkpoint the Log signs is also kept outside the database ([WithWitnesses]: a
//     [NoteFile] in the data directory, a mirror directory or a [NoteURL]); both checks refuse a
//     database shorter than a kept checkpoint, or with another root at its size ([ErrRolledBack]).
//   - [Log.VerifyLeaf] checks one record's leaf where it is used, by an inclusion proof in the tree
//     the Log trusts, a tree it moves forward only along consistency proofs.
//
// Every fault is an *[AuditError]; one found by a check or a proof makes [Log.Healthy] report it
// for the rest of the process, and the Log then signs nothing.
//
// [MemoryHashes] is a complete in-memory log, for tests and for offline verification.
package ledger
