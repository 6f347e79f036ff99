package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Scorer computes a sample's metrics at ingest. It must be safe for concurrent use. An error whose code
// is EUNAVAILABLE means the scorer could not be reached; the ingest then fails and writes nothing.
type Scorer interface {
	Score(ctx context.Context, text string) (Metrics, error)
}

// Service is the registry's domain logic: it validates, derives and scores, and leaves persistence to
// the Store.
type Service struct {
	Store   Store
	Scorer  Scorer
	Now     func() time.Time // defaults to time.Now
	Workers int              // scoring goroutines; defaults to GOMAXPROCS
	Near    NearRule         // how ingest treats near-duplicates of model text
	// NewID, if set, makes new samples' ids instead of a random UUIDv7: for tests that store the
	// same records in two stores.
	NewID func() string
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Millisecond)
	}
	return time.Now().UTC().Truncate(time.Millisecond)
}

// Ingest registers a batch of samples, all or nothing. Results are in the order of in. With idem, a
// replay of a completed request returns its results and writes nothing. Field errors name
// "samples/<i>/<field>".
func (s *Service) Ingest(ctx context.Context, in []NewSample, idem *Idempotency) (*InsertedSamples, error) {
	return s.ingest(ctx, in, idem, true)
}

// IngestOne registers one sample; field errors name the field alone.
func (s *Service) IngestOne(ctx context.Context, in NewSample, idem *Idempotency) (*InsertedSamples, error) {
	return s.ingest(ctx, []NewSample{in}, idem, false)
}

func (s *Service) ingest(ctx context.Context, in []NewSample, idem *Idempotency, batch bool) (*InsertedSamples, error) {
	if len(in) == 0 {
		return nil, FieldErrorf("samples", "must hold at least one sample")
	}
	if len(in) > MaxBatchSamples {
		return nil, Errorf(ETOOLARGE, "a batch holds at most %d samples, got %d", MaxBatchSamples, len(in))
	}
	if err := validateBatch(in, batch); err != nil {
		return nil, err
	}
	if err := checkCollected(in, s.now(), batch); err != nil {
		return nil, err
	}
	if idem != nil {
		prev, err := s.Store.Idempotent(ctx, idem.Scope, idem.Key)
		if err != nil {
			return nil, err
		}
		if prev != nil {
			// Let the store answer the replay (or refuse a changed request) under its own rules.
			return WriteSamples(ctx, s.Store, InsertSamples{Idempotency: idem})
		}
	}

	samples := make([]*Sample, len(in))
	for i := range in {
		samples[i] = buildSample(&in[i])
		if s.NewID != nil {
			samples[i].ID = s.NewID()
		}
	}
	if err := s.resolve(ctx, in, samples, batch); err != nil {
		return nil, err
	}
	now := s.now()
	for _, smp := range samples {
		smp.CreatedAt = now
	}
	if err := s.score(ctx, samples); err != nil {
		return nil, err
	}
	var candidates map[int64][]ModelText
	if bands := BandKeys(samples); len(bands) > 0 {
		var err error
		if candidates, err = s.Store.NearCandidates(ctx, bands); err != nil {
			return nil, err
		}
	}
	out, err := WriteSamples(ctx, s.Store, InsertSamples{Samples: samples, Idempotency: idem, Near: s.Near, Candidates: candidates})
	var e *Error
	if !batch && errors.As(err, &e) {
		for i := range e.Fields { // one sample: its fields are named alone
			e.Fields[i].Field = strings.TrimPrefix(e.Fields[i].Field, "samples/0/")
		}
	}
	return out, err
}

func fieldPrefix(batch bool, i int) string {
	if batch {
		return "samples/" + strconv.Itoa(i) + "/"
	}
	return ""
}

func validateBatch(in []NewSample, batch bool) error {
	var all *Error
	for i := range in {
		err := in[i].Validate(fieldPrefix(batch, i))
		if err == nil {
			continue
		}
		var e *Error
		errors.As(err, &e)
		if all == nil {
			all = e
		} else if len(all.Fields) < 100 {
			all.Fields = append(all.Fields, e.Fields...)
		}
		if e.Code == ETOOLARGE {
			all.Code = ETOOLARGE
		}
	}
	if all == nil {
		return nil
	}
	return all
}

// buildSample fills everything that needs no lookup: id, hashes, source defaults. Parents and the
// prompt are resolved later (resolve).
func buildSample(n *NewSample) *Sample {
	text := *n.Text
	sum := sha256.Sum256([]byte(text))
	return &Sample{
		ID:            uuid.Must(uuid.NewV7()).String(),
		Text:          text,
		ContentSHA256: hex.EncodeToString(sum[:]),
		Origin:        n.Origin,
		Model:         n.Model, // replaced by the canonical name@version once resolved
		Dataset:       n.Dataset,
		ExternalID:    n.ExternalID,
		Source:        n.source(),
		Metadata:      n.Metadata,
		CollectedAt:   collectedAt(n.CollectedAt),
	}
}

// collectedAt returns a stated collection time as stored: UTC, to the millisecond.
func collectedAt(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC().Truncate(time.Millisecond)
	return &v
}

// checkCollected refuses collection times in the future of now.
func checkCollected(in []NewSample, now time.Time, batch bool) error {
	var fe []FieldError
	for i := range in {
		if t := in[i].CollectedAt; t != nil && t.After(now) {
			fe = append(fe, FieldError{Field: fieldPrefix(batch, i) + "collected_at", Message: "is in the future"})
		}
	}
	if len(fe) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: fe[0].Field + ": " + fe[0].Message, Fields: fe}
}

// Identity is the duplicate key of a sample: its text, origin, model, prompt and parents (the prompt
// among them). A re-sent item has the identity of the stored sample, and a content lookup finds a
// sample by it.
func Identity(smp *Sample) string {
	h := sha256.New()
	for _, part := range []string{smp.ContentSHA256, smp.Origin, smp.ModelID, smp.PromptID} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	for _, p := range smp.Parents {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// score computes the metrics of samples on Workers goroutines, keeping each result in its slot.
func (s *Service) score(ctx context.Context, samples []*Sample) error {
	if s.Scorer == nil || len(samples) == 0 {
		for _, smp := range samples {
			smp.PrepareDedup()
		}
		return nil
	}
	workers := s.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(samples))
	// A scorer that takes batches (a classifier server) scores the whole ingest in as few requests
	// as it can; the workers then only prepare the dedup keys and leaves.
	batched := false
	if bs, ok := s.Scorer.(BatchScorer); ok && bs.Batches() {
		texts := make([]string, len(samples))
		for i, smp := range samples {
			texts[i] = smp.Text
		}
		ms, err := bs.ScoreBatch(ctx, texts)
		if err != nil {
			return err
		}
		for i, smp := range samples {
			smp.Metrics = ms[i]
		}
		batched = true
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := int(next.Add(1)) - 1
				if n >= len(samples) || ctx.Err() != nil {
					return
				}
				smp := samples[n]
				if !batched {
					m, err := s.Scorer.Score(ctx, smp.Text)
					if err != nil {
						errOnce.Do(func() { firstErr = err; cancel() })
						return
					}
					smp.Metrics = m
				}
				smp.PrepareDedup()
				// The leaf is built here, on every core, not in the write transaction, which holds
				// the log's sequencer and so runs one at a time.
				if err := smp.prepareLeaf(); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// CreateModel registers a model, deriving its generation from the mixes it was trained on or from its
// declaration.
func (s *Service) CreateModel(ctx context.Context, n *NewModel, idem *Idempotency) (*Model, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	m := &Model{
		ID:                 uuid.Must(uuid.NewV7()).String(),
		Name:               n.Name,
		Version:            n.Version,
		Provider:           n.Provider,
		TrainedOn:          append([]string{}, n.TrainedOn...),
		DeclaredGeneration: n.DeclaredGeneration,
		CreatedAt:          s.now(),
	}
	var mixes GenerationFact
	if len(n.TrainedOn) > 0 {
		var err error
		if mixes, err = TrainedGeneration(ctx, s.Store, n.TrainedOn); err != nil {
			return nil, err
		}
	}
	g := ModelGeneration(n.DeclaredGeneration, len(n.TrainedOn) > 0, mixes)
	m.Generation, m.GenerationBasis = g.Generation, g.Basis
	if err := WriteModel(ctx, s.Store, m, idem); err != nil {
		return nil, err
	}
	return m, nil
}
