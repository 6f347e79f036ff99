package openlineage_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/openlineage"
	"github.com/pedigreeml/pedigree/openlineage/oltest"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/prometheus/client_golang/prometheus"
)

// receiver is an OpenLineage endpoint on loopback that answers each POST with the status answer
// gives for the request's number (from 1), and keeps the bodies it accepted.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	attempts int
	accepted [][]byte
	got      chan struct{} // a value per request
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	r := &receiver{got: make(chan struct{}, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s with Content-Type %q; want a JSON POST", req.Method, req.Header.Get("Content-Type"))
		}
		r.mu.Lock()
		r.attempts++
		status := answer(r.attempts)
		if status/100 == 2 {
			r.accepted = append(r.accepted, body)
		}
		r.mu.Unlock()
		w.WriteHeader(status)
		r.got <- struct{}{}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) snapshot() (int, [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts, append([][]byte(nil), r.accepted...)
}

func always(status int) func(int) int { return func(int) int { return status } }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// publisher starts a publisher with fast retries that is closed (and drained) when the test ends.
func publisher(t *testing.T, url string, edit func(*openlineage.PublisherConfig)) (*openlineage.Publisher, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg := openlineage.PublisherConfig{URL: url, Retries: 3, Backoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond,
		Logger: quietLogger(), Registerer: reg}
	if edit != nil {
		edit(&cfg)
	}
	p, err := openlineage.NewPublisher(openlineage.Config{Namespace: "test"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p, reg
}

// drain closes p, letting it finish every queued event, and returns its stats.
func drain(t *testing.T, p *openlineage.Publisher) openlineage.Stats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p.Close(ctx)
	return p.Stats()
}

func gauge(t *testing.T, reg *prometheus.Registry, name, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := reason == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					match = true
				}
			}
			if match {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no metric %s{reason=%q}", name, reason)
	return 0
}

func TestPublisherDeliversInOrder(t *testing.T) {
	v := oltest.New(t)
	rcv := newReceiver(t, always(http.StatusCreated))
	p, reg := publisher(t, rcv.URL, nil)
	d, m := allowed(t)
	refused := refusedDecision(t)
	model := &registry.Model{ID: newID(t), Name: "student", Version: "1", TrainedOn: []string{m.ID}, Generation: 1,
		GenerationBasis: registry.BasisMixes, CreatedAt: at}
	p.MixRecorded(d, m)
	p.MixRecorded(refused, nil)
	p.ModelRegistered(model)
	p.ModelRegistered(&registry.Model{ID: newID(t), Name: "base", Version: "1", CreatedAt: at}) // no run
	st := drain(t, p)

	var want [][]byte
	mixEvents, _ := p.Events().MixEvents(d, m)
	refusedEvents, _ := p.Events().MixEvents(refused, nil)
	for _, evs := range [][]openlineage.RunEvent{mixEvents, refusedEvents, p.Events().ModelEvents(model)} {
		want = append(want, encode(t, evs)...)
	}
	attempts, got := rcv.snapshot()
	if len(got) != len(want) || attempts != len(want) {
		t.Fatalf("the receiver got %d events in %d requests; want %d in as many", len(got), attempts, len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("event %d as received:\n%s\nwant\n%s", i, got[i], want[i])
		}
	}
	v.Validate(t, got...)
	if st.Delivered != 6 || st.DroppedTotal() != 0 || st.Retries != 0 {
		t.Errorf("stats %+v; want 6 delivered", st)
	}
	if n := gauge(t, reg, "pedigree_openlineage_events_delivered_total", ""); n != 6 {
		t.Errorf("delivered counter %v; want 6", n)
	}
}

func TestPublisherRetriesUntilTheReceiverRecovers(t *testing.T) {
	// The first two attempts fail (a restart behind a proxy), the third is accepted.
	rcv := newReceiver(t, func(n int) int {
		if n <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusCreated
	})
	p, reg := publisher(t, rcv.URL, nil)
	d, m := allowed(t)
	p.MixRecorded(d, m)
	st := drain(t, p)
	attempts, got := rcv.snapshot()
	if len(got) != 2 || attempts != 4 {
		t.Errorf("the receiver accepted %d events in %d requests; want 2 in 4", len(got), attempts)
	}
	if st.Delivered != 2 || st.Retries != 2 || st.DroppedTotal() != 0 {
		t.Errorf("stats %+v; want 2 delivered after 2 retries", st)
	}
	if len(got) == 2 && !bytes.Contains(got[0], []byte(`"eventType":"START"`)) {
		t.Errorf("the first event delivered is not the START: %s", got[0])
	}
	if n := gauge(t, reg, "pedigree_openlineage_delivery_retries_total", ""); n != 2 {
		t.Errorf("retries counter %v; want 2", n)
	}
}

func TestPublisherDropsWhatItCannotDeliver(t *testing.T) {
	d, m := allowed(t)
	t.Run("ReceiverFailing", func(t *testing.T) {
		rcv := newReceiver(t, always(http.StatusInternalServerError))
		p, reg := publisher(t, rcv.URL, nil) // 3 retries: 4 attempts an event
		p.MixRecorded(d, m)
		st := drain(t, p)
		if attempts, _ := rcv.snapshot(); attempts != 8 {
			t.Errorf("%d attempts; want 4 for each of 2 events", attempts)
		}
		if st.Dropped[openlineage.DropRetries] != 2 || st.Delivered != 0 || st.Retries != 6 {
			t.Errorf("stats %+v; want 2 dropped after 3 retries each", st)
		}
		if n := gauge(t, reg, "pedigree_openlineage_events_dropped_total", "retries"); n != 2 {
			t.Errorf("dropped counter %v; want 2", n)
		}
	})
	t.Run("ReceiverDown", func(t *testing.T) {
		down := httptest.NewServer(http.NotFoundHandler())
		url := down.URL
		down.Close() // nothing listens there now: every attempt is refused
		p, _ := publisher(t, url, func(c *openlineage.PublisherConfig) { c.Retries = 1 })
		p.MixRecorded(d, m)
		st := drain(t, p)
		if st.Dropped[openlineage.DropRetries] != 2 || st.Retries != 2 {
			t.Errorf("stats %+v; want 2 dropped after 1 retry each", st)
		}
	})
	t.Run("EventRejected", func(t *testing.T) {
		rcv := newReceiver(t, always(http.StatusBadRequest))
		p, reg := publisher(t, rcv.URL, nil)
		p.MixRecorded(d, m)
		st := drain(t, p)
		if attempts, _ := rcv.snapshot(); attempts != 2 {
			t.Errorf("%d attempts; a 400 is not retried, want 1 for each of 2 events", attempts)
		}
		if st.Dropped[openlineage.DropRejected] != 2 || st.Retries != 0 {
			t.Errorf("stats %+v; want 2 rejected", st)
		}
		if n := gauge(t, reg, "pedigree_openlineage_events_dropped_total", "rejected"); n != 2 {
			t.Errorf("dropped counter %v; want 2", n)
		}
	})
	t.Run("QueueFull", func(t *testing.T) {
		release := make(chan struct{})
		rcv := newReceiver(t, always(http.StatusCreated))
		blocking := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rcv.got <- struct{}{}
			<-release
			w.WriteHeader(http.StatusCreated)
		}))
		t.Cleanup(blocking.Close)
		p, reg := publisher(t, blocking.URL, func(c *openlineage.PublisherConfig) { c.QueueSize = 1 })
		events, _ := p.Events().MixEvents(d, m)
		p.Publish(events[0])
		<-rcv.got // the worker holds the first event, waiting on the receiver
		for range 3 {
			p.Publish(events[1]) // one waits in the queue, two find it full
		}
		st := p.Stats()
		if st.Dropped[openlineage.DropQueueFull] != 2 {
			t.Errorf("stats %+v; want 2 dropped on a full queue", st)
		}
		close(release)
		st = drain(t, p)
		if st.Delivered != 2 || st.DroppedTotal() != 2 {
			t.Errorf("stats %+v; want 2 delivered and 2 dropped", st)
		}
		if n := gauge(t, reg, "pedigree_openlineage_events_dropped_total", "queue_full"); n != 2 {
			t.Errorf("dropped counter %v; want 2", n)
		}
	})
	t.Run("Shutdown", func(t *testing.T) {
		rcv := newReceiver(t, always(http.StatusServiceUnavailable))
		p, _ := publisher(t, rcv.URL, func(c *openlineage.PublisherConfig) { c.Backoff, c.MaxBackoff = time.Hour, time.Hour })
		p.MixRecorded(d, m)
		<-rcv.got // the first attempt failed; the worker now waits an hour to retry
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // no time left to deliver anything
		p.Close(ctx)
		events, _ := p.Events().MixEvents(d, m)
		p.Publish(events[0]) // after Close
		st := p.Stats()
		if st.Dropped[openlineage.DropShutdown] != 3 || st.Delivered != 0 {
			t.Errorf("stats %+v; want the 2 queued events and the late one dropped at shutdown", st)
		}
	})
}

func TestNewPublisherRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"", "marquez:5000/api/v1/lineage", "ftp://host/x", "http://", "http://[::1"} {
		if _, err := openlineage.NewPublisher(openlineage.Config{}, openlineage.PublisherConfig{URL: u}); err == nil {
			t.Errorf("NewPublisher accepted %q", u)
		}
	}
}
