package sqlite_test

import (
	"os"
	"strconv"
)

// benchPool is the registry size of the large benchmarks: PEDIGREE_BENCH_POOL, default 200,000 (the
// figures in BENCHMARKS.md use 1,000,000).
func benchPool() int {
	if n, err := strconv.Atoi(os.Getenv("PEDIGREE_BENCH_POOL")); err == nil && n > 0 {
		return n
	}
	return 200_000
}
