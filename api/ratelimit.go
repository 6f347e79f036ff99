package api

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/pedigreeml/pedigree/registry"
	"golang.org/x/time/rate"
)

// Request classes that the per-key rate limits apply to. routes.go names the class of each limited
// route; the other routes are not limited.
const (
	// ClassWrite is a request that writes records: samples, batches, models, policies, keys.
	ClassWrite = "write"
	// ClassExpensive is a read or build that can cost seconds of database time: mix builds and dry
	// runs, exports (every format), lineage graphs and reports.
	ClassExpensive = "expensive"
)

// RateLimit is one token bucket: Rate requests a second on average, at most Burst at once. The zero
// RateLimit (Rate 0) is no limit.
type RateLimit struct {
	Rate  rate.Limit
	Burst int
}

// Unlimited reports whether l limits nothing.
func (l RateLimit) Unlimited() bool { return l.Rate <= 0 }

// String writes l as ParseRateLimit reads it: "off", or "N/UNIT:BURST" in the largest unit (s, m
// or h) in which N is at least 1.
func (l RateLimit) String() string {
	if l.Unlimited() {
		return "off"
	}
	n, unit := float64(l.Rate), "s"
	if n < 1 {
		n, unit = n*60, "m"
	}
	if n < 1 {
		n, unit = n*60, "h"
	}
	return strconv.FormatFloat(n, 'g', 6, 64) + "/" + unit + ":" + strconv.Itoa(l.Burst)
}

// RateLimits are the per-key limits of each class, by role. A role missing from a map is not
// limited in that class.
type RateLimits struct {
	Write     map[string]RateLimit
	Expensive map[string]RateLimit
}

// DefaultRateLimits are the limits a server starts with: per key, 100 writes a second (bursts of
// 200) and 10 expensive requests a second (bursts of 40) for ingest and auditor keys; admin keys are
// not limited. A write is a request, and a batch of up to 10,000 samples is one request: the load
// benchmark's ingest (a few batches a second per key) stays well inside them.
func DefaultRateLimits() RateLimits {
	return RateLimits{
		Write: map[string]RateLimit{
			registry.RoleIngest: {Rate: 100, Burst: 200}, registry.RoleAuditor: {Rate: 100, Burst: 200},
		},
		Expensive: map[string]RateLimit{
			registry.RoleIngest: {Rate: 10, Burst: 40}, registry.RoleAuditor: {Rate: 10, Burst: 40},
		},
	}
}

// ParseRateLimit reads one limit: "off" (or "0"), or "N/UNIT[:BURST]" where UNIT is s, m or h and
// N > 0 requests per unit. BURST, at least 1, defaults to N rounded up.
func ParseRateLimit(s string) (RateLimit, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return RateLimit{}, nil
	}
	spec, burstText, hasBurst := strings.Cut(s, ":")
	num, unit, ok := strings.Cut(spec, "/")
	if !ok {
		return RateLimit{}, fmt.Errorf("%q: want N/s, N/m or N/h, optionally :BURST, or off", s)
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || !(n > 0) || math.IsInf(n, 0) {
		return RateLimit{}, fmt.Errorf("%q: the rate must be a positive number", s)
	}
	per := map[string]float64{"s": 1, "m": 60, "h": 3600}[unit]
	if per == 0 {
		return RateLimit{}, fmt.Errorf("%q: the unit must be s, m or h", s)
	}
	burst := int(math.Ceil(n))
	if hasBurst {
		if burst, err = strconv.Atoi(burstText); err != nil || burst < 1 {
			return RateLimit{}, fmt.Errorf("%q: the burst must be a whole number, at least 1", s)
		}
	}
	return RateLimit{Rate: rate.Limit(n / per), Burst: burst}, nil
}

// ParseRoleRateLimits reads a comma-separated list of ROLE=LIMIT entries (see ParseRateLimit) into
// limits, replacing the roles it names and keeping the others. A LIMIT without a role applies to
// the ingest and auditor roles; admin keys are limited only when named.
func ParseRoleRateLimits(spec string, limits map[string]RateLimit) error {
	for entry := range strings.SplitSeq(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		roles := []string{registry.RoleIngest, registry.RoleAuditor}
		if role, lim, ok := strings.Cut(entry, "="); ok {
			role = strings.TrimSpace(role)
			if !slices.Contains(registry.Roles, role) {
				return fmt.Errorf("%q: unknown role %q (roles: %s)", entry, role, strings.Join(registry.Roles, ", "))
			}
			roles, entry = []string{role}, lim
		}
		l, err := ParseRateLimit(entry)
		if err != nil {
			return err
		}
		for _, r := range roles {
			limits[r] = l
		}
	}
	return nil
}

// rateLimiter holds one token bucket per key and class. A bucket idle long enough to have refilled
// is the same as a new one, so a periodic sweep drops those: memory stays bounded by the keys
// active in the last refill period.
type rateLimiter struct {
	limits  RateLimits
	metrics *Metrics

	mu        sync.Mutex
	buckets   map[bucketKey]*bucket
	lastSweep time.Time
}

type bucketKey struct{ keyID, class string }

type bucket struct {
	lim  *rate.Limiter
	full time.Duration // how long the bucket takes to refill from empty
	last time.Time     // the last request it saw
}

// sweepEvery is how often the limiter looks for idle buckets to drop.
const sweepEvery = time.Minute

func newRateLimiter(limits RateLimits, m *Metrics) *rateLimiter {
	return &rateLimiter{limits: limits, metrics: m, buckets: map[bucketKey]*bucket{}}
}

func (r *rateLimiter) limitOf(class, role string) RateLimit {
	if class == ClassWrite {
		return r.limits.Write[role]
	}
	return r.limits.Expensive[role]
}

// take spends one token of key's bucket of class, or says how long until one is free.
func (r *rateLimiter) take(key *registry.APIKey, class string, now time.Time) (bool, time.Duration) {
	l := r.limitOf(class, key.Role)
	if l.Unlimited() {
		return true, 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.lastSweep) >= sweepEvery {
		r.sweep(now)
	}
	k := bucketKey{key.ID, class}
	b := r.buckets[k]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.Rate, l.Burst), full: time.Duration(float64(l.Burst) / float64(l.Rate) * float64(time.Second))}
		r.buckets[k] = b
		r.metrics.limiters.Set(float64(len(r.buckets)))
	}
	b.last = now
	res := b.lim.ReserveN(now, 1)
	if !res.OK() {
		return false, b.full
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now) // a refused request spends nothing
		return false, d
	}
	return true, 0
}

// sweep drops the buckets that have been idle long enough to be full again. r.mu is held.
func (r *rateLimiter) sweep(now time.Time) {
	r.lastSweep = now
	for k, b := range r.buckets {
		if now.Sub(b.last) >= b.full {
			delete(r.buckets, k)
		}
	}
	r.metrics.limiters.Set(float64(len(r.buckets)))
}

// limit refuses a request of class with a 429 problem and a Retry-After header once the calling
// key has used its rate. It runs after allow, which has authenticated the key.
func (s *Server) limit(class string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			key := caller(c)
			if key == nil {
				return next(c)
			}
			ok, wait := s.limiter.take(key, class, time.Now())
			if ok {
				return next(c)
			}
			s.metrics.rateLimited.WithLabelValues(class, key.Role).Inc()
			secs := int(math.Ceil(wait.Seconds()))
			c.Response().Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			return echo.NewHTTPError(http.StatusTooManyRequests, fmt.Sprintf(
				"this key has used its %s rate (%s for role %s); retry after %d s", class, s.limiter.limitOf(class, key.Role), key.Role, max(secs, 1)))
		}
	}
}
