package api

import (
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

func TestParseRateLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want RateLimit
		text string
	}{
		{"off", RateLimit{}, "off"},
		{"0", RateLimit{}, "off"},
		{"50/s:100", RateLimit{Rate: 50, Burst: 100}, "50/s:100"},
		{"2.5/s", RateLimit{Rate: 2.5, Burst: 3}, "2.5/s:3"},
		{"30/m", RateLimit{Rate: 0.5, Burst: 30}, "30/m:30"},
		{"1/h:2", RateLimit{Rate: rate.Limit(1.0 / 3600), Burst: 2}, "1/h:2"},
	} {
		got, err := ParseRateLimit(tc.in)
		if err != nil || got != tc.want || got.String() != tc.text {
			t.Errorf("ParseRateLimit(%q) = %+v (%s), %v; want %+v (%s)", tc.in, got, got, err, tc.want, tc.text)
		}
	}
	for _, bad := range []string{"", "5", "5/d", "-1/s", "x/s", "5/s:0", "5/s:x", "NaN/s", "Inf/s"} {
		if _, err := ParseRateLimit(bad); err == nil {
			t.Errorf("ParseRateLimit(%q) accepted", bad)
		}
	}
}

func TestParseRoleRateLimits(t *testing.T) {
	limits := DefaultRateLimits().Write
	if err := ParseRoleRateLimits("5/s:10, admin=1/m", limits); err != nil {
		t.Fatal(err)
	}
	want := map[string]RateLimit{
		registry.RoleIngest: {Rate: 5, Burst: 10}, registry.RoleAuditor: {Rate: 5, Burst: 10},
		registry.RoleAdmin: {Rate: rate.Limit(1.0 / 60), Burst: 1},
	}
	for role, w := range want {
		if limits[role] != w {
			t.Errorf("%s: %+v, want %+v", role, limits[role], w)
		}
	}
	if err := ParseRoleRateLimits("ingest=off", limits); err != nil || !limits[registry.RoleIngest].Unlimited() || limits[registry.RoleAuditor].Unlimited() {
		t.Errorf("ingest=off: %v, %+v", err, limits)
	}
	if err := ParseRoleRateLimits("robot=1/s", limits); err == nil {
		t.Error("an unknown role was accepted")
	}
}

// TestRateLimiterRefusesAndEvicts: a key past its burst waits the refill time of one token; other
// keys have their own buckets; a bucket idle long enough to be full again is dropped, and a key
// that comes back starts with a full bucket, as if it had never left.
func TestRateLimiterRefusesAndEvicts(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	r := newRateLimiter(RateLimits{Write: map[string]RateLimit{registry.RoleIngest: {Rate: 1, Burst: 2}}}, m)
	a := &registry.APIKey{ID: "a", Role: registry.RoleIngest}
	b := &registry.APIKey{ID: "b", Role: registry.RoleIngest}
	admin := &registry.APIKey{ID: "root", Role: registry.RoleAdmin}
	now := time.Unix(1_000_000, 0)

	for i := range 2 {
		if ok, _ := r.take(a, ClassWrite, now); !ok {
			t.Fatalf("request %d within the burst refused", i)
		}
	}
	ok, wait := r.take(a, ClassWrite, now)
	if ok || wait != time.Second {
		t.Fatalf("third request: ok %v, wait %v; want refused for 1s", ok, wait)
	}
	// A refusal spends nothing: one second later exactly one token is back.
	if ok, _ := r.take(a, ClassWrite, now.Add(time.Second)); !ok {
		t.Fatal("refused after the refill")
	}
	if ok, _ := r.take(b, ClassWrite, now); !ok {
		t.Fatal("another key was refused")
	}
	if ok, _ := r.take(a, ClassExpensive, now); !ok {
		t.Fatal("a class without a limit was refused")
	}
	for range 10 {
		if ok, _ := r.take(admin, ClassWrite, now); !ok {
			t.Fatal("an unlimited role was refused")
		}
	}
	if len(r.buckets) != 2 {
		t.Fatalf("%d buckets, want 2 (unlimited requests hold none)", len(r.buckets))
	}
	// b keeps writing; a goes idle for longer than its refill time, and the next sweep drops it.
	later := now.Add(sweepEvery + 3*time.Second)
	if ok, _ := r.take(b, ClassWrite, later.Add(-time.Second)); !ok {
		t.Fatal("b refused")
	}
	r.sweep(later)
	if _, kept := r.buckets[bucketKey{"a", ClassWrite}]; kept || len(r.buckets) != 1 {
		t.Fatalf("after the sweep: %v; want only b's bucket", r.buckets)
	}
	for i := range 2 {
		if ok, _ := r.take(a, ClassWrite, later); !ok {
			t.Fatalf("a's request %d after eviction refused: its bucket must start full", i)
		}
	}
}
