package baseline

import (
	"runtime"
	"sync/atomic"
	"time"
)

// PeakHeap runs fn after a collection and returns the highest in-use heap it saw, sampled every
// 2 ms while fn ran, and the in-use heap when fn started: what the process already held. The
// benchmarks report it to show that a build or an export does not grow with its input.
func PeakHeap(fn func()) (peak, start uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	start = ms.HeapInuse
	var seen atomic.Uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > seen.Load() {
				seen.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return seen.Load(), start
}
