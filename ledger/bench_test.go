package ledger

import (
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// BenchmarkAppendBatch measures one store transaction's worth of log work — an Appender over an
// in-memory store of 100,000 leaves appending a batch of 1,000 leaves and producing the rows to
// insert — against the bare baseline of hashing the same 1,000 leaves with tlog.RecordHash, in
// the same loop. It reports both per leaf and their ratio (appender/recordhash).
//
//	go test ./ledger -run '^$' -bench AppendBatch -benchtime 2000x
func BenchmarkAppendBatch(b *testing.B) {
	const base, batch = 100_000, 1000
	leaves := testLeaves(b, batch)
	store := new(MemoryHashes)
	for i := range base {
		if _, err := store.Append(leaves[i%batch]); err != nil {
			b.Fatal(err)
		}
	}
	var (
		sink           tlog.Hash
		rows           int
		baseline, work time.Duration
	)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		for _, l := range leaves {
			h := tlog.RecordHash(l)
			sink[0] ^= h[0]
		}
		t1 := time.Now()
		a := NewAppender(base, store)
		for _, l := range leaves {
			if _, err := a.Append(l); err != nil {
				b.Fatal(err)
			}
		}
		rows += len(a.Hashes())
		t2 := time.Now()
		baseline += t1.Sub(t0)
		work += t2.Sub(t1)
	}
	_ = sink
	leavesDone := float64(b.N * batch)
	b.ReportMetric(float64(baseline.Nanoseconds())/leavesDone, "recordhash-ns/leaf")
	b.ReportMetric(float64(work.Nanoseconds())/leavesDone, "appender-ns/leaf")
	b.ReportMetric(float64(work)/float64(baseline), "ratio")
	b.ReportMetric(float64(rows)/leavesDone, "hashes/leaf")
}
