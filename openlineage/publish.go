package openlineage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/prometheus/client_golang/prometheus"
)

// PublisherConfig says where and how events are delivered.
type PublisherConfig struct {
	// URL receives each event as a JSON POST: an OpenLineage HTTP endpoint such as Marquez's
	// http://marquez:5000/api/v1/lineage.
	URL string
	// QueueSize is how many events may wait for delivery; an event beyond it is dropped. Default 1024.
	QueueSize int
	// Retries is how many times a failed delivery is retried before the event is dropped; 0 means
	// none (serve's default is 4).
	Retries int
	// Backoff is the wait before the first retry, doubled before each next one up to MaxBackoff.
	// A receiver's Retry-After (in seconds) is obeyed up to MaxBackoff. Default 1s.
	Backoff time.Duration
	// MaxBackoff caps one wait. Default 30s.
	MaxBackoff time.Duration
	// Timeout bounds one delivery attempt. Default 10s.
	Timeout time.Duration
	// Client sends the requests; http.DefaultClient's transport if nil.
	Client *http.Client
	// Logger logs dropped events; slog.Default() if nil.
	Logger *slog.Logger
	// Registerer receives the delivery metrics (pedigree_openlineage_*); none if nil.
	Registerer prometheus.Registerer
}

// Drop reasons, the reason label of pedigree_openlineage_events_dropped_total.
const (
	DropQueueFull = "queue_full" // the queue was full when the event was recorded
	DropRetries   = "retries"    // every attempt failed
	DropRejected  = "rejected"   // the receiver refused the event (a 4xx other than 408 and 429), or it could not be encoded: retrying cannot help
	DropShutdown  = "shutdown"   // the server stopped before the event could be delivered
)

// Publisher delivers events to an OpenLineage endpoint from a bounded queue, in the order they were
// recorded, by one background worker: recording an event never blocks and never fails. An event that
// cannot be delivered after the retries, or that finds the queue full, is dropped, counted and logged.
type Publisher struct {
	events Config
	cfg    PublisherConfig
	log    *slog.Logger

	mu     sync.RWMutex // guards closed against a send on the closed queue
	closed bool
	queue  chan queued

	ctx    context.Context // cancelled when Close gives up waiting
	cancel context.CancelFunc
	done   chan struct{}

	delivered prometheus.Counter
	dropped   *prometheus.CounterVec
	retries   prometheus.Counter
	queued    prometheus.GaugeFunc

	statsMu sync.Mutex
	stats   Stats
}

// Stats counts what a Publisher did with its events.
type Stats struct {
	Delivered int64
	Retries   int64
	Dropped   map[string]int64 // by reason
}

// DroppedTotal is the number of events dropped for any reason.
func (s Stats) DroppedTotal() int64 {
	var n int64
	for _, v := range s.Dropped {
		n += v
	}
	return n
}

// queued is an event waiting; the worker encodes it, off the request's path.
type queued struct {
	runID, eventType string
	event            RunEvent
}

// NewPublisher starts a publisher of events described by events, delivered as cfg says. Close stops it.
func NewPublisher(events Config, cfg PublisherConfig) (*Publisher, error) {
	if err := CheckURL(cfg.URL); err != nil {
		return nil, err
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1024
	}
	cfg.Retries = max(cfg.Retries, 0)
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.Backoff)
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Publisher{events: events, cfg: cfg, log: cfg.Logger, queue: make(chan queued, cfg.QueueSize),
		ctx: ctx, cancel: cancel, done: make(chan struct{}), stats: Stats{Dropped: map[string]int64{}},
		delivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "pedigree_openlineage_events_delivered_total",
			Help: "OpenLineage events the receiver accepted."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pedigree_openlineage_events_dropped_total",
			Help: "OpenLineage events dropped, by reason: queue_full, retries (every attempt failed), rejected (a 4xx answer) or shutdown."}, []string{"reason"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "pedigree_openlineage_delivery_retries_total",
			Help: "Retried OpenLineage deliveries."}),
	}
	p.queued = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pedigree_openlineage_queue_events",
		Help: "OpenLineage events waiting for delivery."}, func() float64 { return float64(len(p.queue)) })
	for _, r := range []string{DropQueueFull, DropRetries, DropRejected, DropShutdown} {
		p.dropped.WithLabelValues(r) // every reason shows, at 0, before its first drop
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{p.delivered, p.dropped, p.retries, p.queued} {
			if err := cfg.Registerer.Register(c); err != nil {
				cancel()
				return nil, fmt.Errorf("openlineage metrics: %w", err)
			}
		}
	}
	go p.run()
	return p, nil
}

// CheckURL says whether s can be a publisher's URL: an absolute http or https URL.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("the OpenLineage URL %q is not an http(s) URL", s)
	}
	return nil
}

// Events returns the configuration the publisher describes records with.
func (p *Publisher) Events() Config { return p.events }

// MixRecorded publishes the run of a recorded mix decision: START and COMPLETE with the mix, or
// START and FAIL for a refusal (m nil).
func (p *Publisher) MixRecorded(d *registry.Decision, m *registry.Mix) {
	events, err := p.events.MixEvents(d, m)
	if err != nil {
		p.log.Error("openlineage: describing a mix", "err", err)
		return
	}
	for _, ev := range events {
		p.Publish(ev)
	}
}

// ModelRegistered publishes the run linking a registered model to the mixes it was trained on; a
// model without trained_on has none.
func (p *Publisher) ModelRegistered(m *registry.Model) {
	for _, ev := range p.events.ModelEvents(m) {
		p.Publish(ev)
	}
}

// Publish queues one event for delivery; it never blocks. A full queue, or a closed publisher, drops
// the event. The event must not change afterwards (the worker encodes it later).
func (p *Publisher) Publish(ev RunEvent) {
	q := queued{runID: ev.Run.RunID, eventType: ev.EventType, event: ev}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		p.drop(q, DropShutdown, nil)
		return
	}
	select {
	case p.queue <- q:
	default:
		p.drop(q, DropQueueFull, nil)
	}
}

// Stats returns what the publisher has done so far.
func (p *Publisher) Stats() Stats {
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	out := p.stats
	out.Dropped = make(map[string]int64, len(p.stats.Dropped))
	for k, v := range p.stats.Dropped {
		out.Dropped[k] = v
	}
	return out
}

// Close stops accepting events and delivers those queued until ctx ends; what is left then is
// dropped (reason shutdown). It returns once the worker has stopped.
func (p *Publisher) Close(ctx context.Context) {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.queue)
	}
	p.mu.Unlock()
	select {
	case <-p.done:
	case <-ctx.Done():
		p.cancel()
		<-p.done
	}
	p.cancel()
}

func (p *Publisher) run() {
	defer close(p.done)
	for q := range p.queue {
		if p.ctx.Err() != nil {
			p.drop(q, DropShutdown, nil)
			continue
		}
		p.deliver(q)
	}
}

// deliver encodes and posts one event, retrying with backoff, and counts the outcome.
func (p *Publisher) deliver(q queued) {
	body, err := json.Marshal(q.event)
	if err != nil {
		p.drop(q, DropRejected, fmt.Errorf("encoding the event: %w", err))
		return
	}
	wait := p.cfg.Backoff
	var last error
	for attempt := 0; ; attempt++ {
		retryAfter, err := p.post(body)
		if err == nil {
			p.count(func(s *Stats) { s.Delivered++ })
			p.delivered.Inc()
			return
		}
		last = err
		var rej *rejectedError
		if errors.As(err, &rej) {
			p.drop(q, DropRejected, err)
			return
		}
		if attempt >= p.cfg.Retries {
			p.drop(q, DropRetries, last)
			return
		}
		pause := wait
		if retryAfter > 0 {
			pause = retryAfter
		}
		pause = min(pause, p.cfg.MaxBackoff)
		wait = min(wait*2, p.cfg.MaxBackoff)
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-p.ctx.Done():
			t.Stop()
			p.drop(q, DropShutdown, last)
			return
		}
		p.count(func(s *Stats) { s.Retries++ })
		p.retries.Inc()
	}
}

// rejectedError is a 4xx answer other than 408 and 429: the event itself is refused.
type rejectedError struct{ status int }

func (e *rejectedError) Error() string {
	return "the receiver refused the event with HTTP " + strconv.Itoa(e.status)
}

// post makes one attempt. It returns the receiver's Retry-After, if it gave one in seconds.
func (p *Publisher) post(body []byte) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.cfg.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return 0, nil
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		var after time.Duration
		if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n > 0 {
			after = time.Duration(n) * time.Second
		}
		return after, fmt.Errorf("the receiver answered HTTP %d", s)
	case s >= 400:
		return 0, &rejectedError{status: s}
	default:
		return 0, fmt.Errorf("the receiver answered HTTP %d", s)
	}
}

func (p *Publisher) drop(q queued, reason string, err error) {
	p.count(func(s *Stats) { s.Dropped[reason]++ })
	p.dropped.WithLabelValues(reason).Inc()
	attrs := []any{"run_id", q.runID, "event_type", q.eventType, "reason", reason}
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	p.log.Warn("openlineage: event dropped", attrs...)
}

func (p *Publisher) count(f func(*Stats)) {
	p.statsMu.Lock()
	f(&p.stats)
	p.statsMu.Unlock()
}
