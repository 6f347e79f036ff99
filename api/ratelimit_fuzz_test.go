package api

import (
	"math"
	"slices"
	"testing"

	"github.com/pedigreeml/pedigree/registry"
)

// FuzzParseRateLimit feeds the rate-limit flags' parsers arbitrary text: they never panic, and what
// they accept is a usable limit (off, or a positive finite rate with a burst of at least 1) for
// known roles only.
func FuzzParseRateLimit(f *testing.F) {
	for _, s := range []string{"off", "0", "10/s", "100/s:200", "5/m:1", "0.5/h", "ingest=10/s,auditor=off",
		"admin=1/s:1", "=1/s", "x=1/s", "1/d", "-1/s", "NaN/s", "Inf/s", "1e309/s", "1/s:0", ",,", " ingest = 2/s "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if l, err := ParseRateLimit(s); err == nil && !l.Unlimited() {
			if r := float64(l.Rate); !(r > 0) || math.IsInf(r, 0) || math.IsNaN(r) || l.Burst < 1 {
				t.Fatalf("%q parsed to rate %v burst %d", s, l.Rate, l.Burst)
			}
		}
		limits := map[string]RateLimit{}
		if err := ParseRoleRateLimits(s, limits); err == nil {
			for role := range limits {
				if !slices.Contains(registry.Roles, role) {
					t.Fatalf("%q set a limit for unknown role %q", s, role)
				}
			}
		}
	})
}
