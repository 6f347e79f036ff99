package registry

import (
	"strings"
	"testing"
)

// TestDrawKeyIsPinned pins the draw key to values PostgreSQL computes from its SQL form
// (registry/postgres: ('x' || left(md5(seed || ':' || id), 16))::bit(64)::bigint), so that no
// rewrite of it changes a recorded manifest.
func TestDrawKeyIsPinned(t *testing.T) {
	for _, c := range []struct {
		seed int64
		id   string
		want int64
	}{
		{42, "01930c2e-6b7a-7c3d-9f00-1a2b3c4d5e6f", -7548132454154997891},
		{-7, "", -8889869709583683910},
		{1, strings.Repeat("x", 200), 816780085256490299},
	} {
		if got := DrawKey(c.seed, c.id); got != c.want {
			t.Errorf("DrawKey(%d, %q) = %d, want %d", c.seed, c.id, got, c.want)
		}
	}
}
