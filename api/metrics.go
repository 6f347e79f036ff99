package api

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus series of a serving registry that an operator pages on: the API's own
// (requests, latency, ingests, mix decisions and build times, rate-limit refusals) and those the
// server feeds from outside the API (toxicity scorer calls, the store's write queue, the log's size
// and checkpoints, stored samples by origin and generation). The README's "Metrics" section lists
// them. Build one with NewMetrics and pass it in Deps.Metrics; its methods are safe for concurrent
// use.
type Metrics struct {
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	ingested    *prometheus.CounterVec
	decisions   *prometheus.CounterVec
	mixBuild    *prometheus.HistogramVec
	scorerTime  *prometheus.HistogramVec
	scorerErrs  *prometheus.CounterVec
	writeWait   prometheus.Histogram
	checkpoint  prometheus.Gauge
	checkpointN prometheus.Gauge
	rateLimited *prometheus.CounterVec
	limiters    prometheus.Gauge

	reg     prometheus.Registerer
	samples *sampleCounts

	mu            sync.Mutex
	lastSignedAt  time.Time
	logRegistered bool
}

// NewMetrics registers the series on reg and returns them.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pedigree_http_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pedigree_http_request_duration_seconds", Help: "HTTP request latency by method and route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"method", "route"}),
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pedigree_samples_ingested_total", Help: "Samples ingested, by result (new or duplicate).",
		}, []string{"result"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pedigree_mix_decisions_total",
			Help: "Policy decisions on mix requests, by policy name, outcome (allowed or denied) and dry_run (true or false).",
		}, []string{"policy", "outcome", "dry_run"}),
		mixBuild: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pedigree_mix_build_duration_seconds",
			Help:    "Time to build a mix (pool queries, selection, policy, saving), by outcome: allowed, denied, or error (the request could not be evaluated).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 12),
		}, []string{"outcome"}),
		scorerTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pedigree_toxicity_scorer_duration_seconds",
			Help:    "Time of one call to the toxicity scorer (one text, or one batch for a batch scorer), retries included, by scorer id; the count is the number of calls.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 3, 12),
		}, []string{"scorer"}),
		scorerErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pedigree_toxicity_scorer_errors_total",
			Help: "Calls to the toxicity scorer that failed (the scorer was unavailable after its retries, or the request ended), by scorer id.",
		}, []string{"scorer"}),
		writeWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pedigree_store_write_wait_seconds",
			Help:    "Time a write transaction waited for the store's writer (the process's write queue, then the database's write lock and the log's sequencer) before it could write.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 3, 12),
		}),
		checkpoint: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pedigree_log_checkpoint_timestamp_seconds",
			Help: "When the server last signed a checkpoint of the log (Unix time).",
		}),
		checkpointN: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pedigree_log_checkpoint_leaves",
			Help: "Tree size (leaves) of the last checkpoint the server signed.",
		}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pedigree_rate_limited_total",
			Help: "Requests refused with 429 by the per-key rate limits, by class (write or expensive) and role.",
		}, []string{"class", "role"}),
		limiters: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pedigree_rate_limiters",
			Help: "Per-key rate limiters held in memory (idle ones are evicted).",
		}),
	}
	m.samples = &sampleCounts{desc: prometheus.NewDesc("pedigree_samples",
		"Samples stored, by origin and generation: counted in the database at start-up and every so often, plus this server's ingests since the last count.",
		[]string{"origin", "generation"}, nil)}
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "pedigree_log_checkpoint_age_seconds",
		Help: "Seconds since the server last signed a checkpoint of the log; it grows without bound when signing stops.",
	}, m.checkpointAge)
	reg.MustRegister(m.requests, m.latency, m.ingested, m.decisions, m.mixBuild, m.scorerTime, m.scorerErrs,
		m.writeWait, m.checkpoint, m.checkpointN, age, m.rateLimited, m.limiters, m.samples)
	return m
}

func (m *Metrics) observe(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(d.Seconds())
}

// sampleIngested counts one ingest result.
func (m *Metrics) sampleIngested(r registry.IngestResult) {
	if r.Duplicate {
		m.ingested.WithLabelValues("duplicate").Inc()
		return
	}
	m.ingested.WithLabelValues("new").Inc()
	if r.Sample != nil {
		m.samples.add(r.Sample.Origin, r.Sample.Generation, 1)
	}
}

// mixBuilt records one mix build: its time, and its decision if the policy was evaluated.
func (m *Metrics) mixBuilt(d *registry.Decision, dry bool, err error, took time.Duration) {
	outcome := "error"
	if err == nil && d != nil {
		outcome = "denied"
		if d.Allowed {
			outcome = "allowed"
		}
		m.decisions.WithLabelValues(d.Policy.Name, outcome, strconv.FormatBool(dry)).Inc()
	}
	m.mixBuild.WithLabelValues(outcome).Observe(took.Seconds())
}

// ObserveWriteWait records how long one write waited for the store's writer; pass it to the store.
func (m *Metrics) ObserveWriteWait(d time.Duration) { m.writeWait.Observe(d.Seconds()) }

// CheckpointSigned records a checkpoint the server signed, of tree size n, at time at.
func (m *Metrics) CheckpointSigned(n int64, at time.Time) {
	m.mu.Lock()
	m.lastSignedAt = at
	m.mu.Unlock()
	m.checkpoint.Set(float64(at.UnixNano()) / 1e9)
	m.checkpointN.Set(float64(n))
}

func (m *Metrics) checkpointAge() float64 {
	m.mu.Lock()
	at := m.lastSignedAt
	m.mu.Unlock()
	if at.IsZero() {
		return 0
	}
	return time.Since(at).Seconds()
}

// WatchLog exports the log's size (pedigree_log_leaves), read from the store at each scrape (one
// read of the log's head). Call it once.
func (m *Metrics) WatchLog(l *ledger.Log) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "pedigree_log_leaves",
		Help: "Leaves in the tamper-evident log (every record and decision appends one).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := l.Size(ctx)
		if err != nil {
			return -1 // a scrape must not fail; -1 says the read did
		}
		return float64(n)
	}))
}

// InstrumentToxicity returns s timed and its failures counted under s's id. A scorer that also
// scores batches (a ToxicityBatch method) keeps that method, each batch timed as one call.
func (m *Metrics) InstrumentToxicity(s metrics.ToxicityScorer) metrics.ToxicityScorer {
	t := &timedScorer{ToxicityScorer: s, time: m.scorerTime.WithLabelValues(s.ID()), errs: m.scorerErrs.WithLabelValues(s.ID())}
	if b, ok := s.(batchScorer); ok {
		return &timedBatchScorer{timedScorer: t, batch: b}
	}
	return t
}

// batchScorer is a toxicity scorer that also scores many texts in one call.
type batchScorer interface {
	metrics.ToxicityScorer
	ToxicityBatch(ctx context.Context, texts []string) ([]float64, error)
}

// timedBatchScorer is a timedScorer whose batches are timed and counted too.
type timedBatchScorer struct {
	*timedScorer
	batch batchScorer
}

func (t *timedBatchScorer) ToxicityBatch(ctx context.Context, texts []string) ([]float64, error) {
	start := time.Now()
	v, err := t.batch.ToxicityBatch(ctx, texts)
	t.time.Observe(time.Since(start).Seconds())
	if err != nil {
		t.errs.Inc()
	}
	return v, err
}

// timedScorer is a toxicity scorer with its calls timed and its failures counted.
type timedScorer struct {
	metrics.ToxicityScorer
	time prometheus.Observer
	errs prometheus.Counter
}

func (t *timedScorer) Toxicity(ctx context.Context, text string, tokens []string) (float64, error) {
	start := time.Now()
	v, err := t.ToxicityScorer.Toxicity(ctx, text, tokens)
	t.time.Observe(time.Since(start).Seconds())
	if err != nil {
		t.errs.Inc()
	}
	return v, err
}

// SampleCounter counts the stored samples by origin and generation, calling fn once for each group
// (a grouped query over the samples table).
type SampleCounter func(ctx context.Context, fn func(origin string, generation int, n int64)) error

// CountSamples keeps pedigree_samples current: it counts the stored samples with count at once and
// then every interval until ctx ends, and between counts adds the samples this server ingests. The
// grouped query runs in the background, never on a scrape; until the first count completes the
// series is absent. With several servers on one database, each one's figure lags the others' ingests
// by at most interval.
func (m *Metrics) CountSamples(ctx context.Context, count SampleCounter, interval time.Duration, logger *slog.Logger) {
	for {
		if err := m.samples.recount(ctx, count); err != nil && ctx.Err() == nil {
			logger.Warn("counting samples for /metrics", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// sampleClass is one series of pedigree_samples.
type sampleClass struct {
	origin     string
	generation int
}

// sampleCounts is the collector of pedigree_samples: the last count from the database plus the
// ingests since it began.
type sampleCounts struct {
	desc *prometheus.Desc

	mu      sync.Mutex
	counted bool                  // a count has completed
	base    map[sampleClass]int64 // the last completed count
	delta   map[sampleClass]int64 // ingests since that count began
}

func (s *sampleCounts) add(origin string, generation int, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.delta == nil {
		s.delta = map[sampleClass]int64{}
	}
	s.delta[sampleClass{origin, generation}] += n
}

// recount replaces the base with a fresh count. Ingests that commit while the query runs may be
// counted twice until the next recount (they are in the query's snapshot and in the new delta): a
// bounded, self-correcting error, in exchange for never blocking an ingest on the count.
func (s *sampleCounts) recount(ctx context.Context, count SampleCounter) error {
	s.mu.Lock()
	since := s.delta
	s.delta = map[sampleClass]int64{}
	s.mu.Unlock()
	base := map[sampleClass]int64{}
	err := count(ctx, func(origin string, generation int, n int64) { base[sampleClass{origin, generation}] += n })
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		for k, n := range since { // keep what the failed count would have replaced
			s.delta[k] += n
		}
		return err
	}
	s.base, s.counted = base, true
	return nil
}

// Describe implements prometheus.Collector.
func (s *sampleCounts) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

// Collect implements prometheus.Collector.
func (s *sampleCounts) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.counted {
		return
	}
	sum := make(map[sampleClass]int64, len(s.base)+len(s.delta))
	for k, n := range s.base {
		sum[k] += n
	}
	for k, n := range s.delta {
		sum[k] += n
	}
	for k, n := range sum {
		ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, float64(n), k.origin, strconv.Itoa(k.generation))
	}
}
