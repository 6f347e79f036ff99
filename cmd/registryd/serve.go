package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pedigreeml/pedigree"
	"github.com/pedigreeml/pedigree/api"
	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/mixer"
	"github.com/pedigreeml/pedigree/openlineage"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/leaves"
	"github.com/pedigreeml/pedigree/registry/postgres"
	"github.com/pedigreeml/pedigree/registry/sqlite"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// config is the server's whole configuration, read once from flags and environment.
type config struct {
	Addr            string
	DataDir         string
	DB              string
	ToxicityScorer  string
	ToxicityTimeout time.Duration
	ToxicityOnError string
	MaxBatchBytes   int64
	LogFormat       string
	LogOrigin       string
	Laundering      string  // "refuse" or "flag" human text that near-duplicates model text
	NearThreshold   float64 // the near-duplicate Jaccard threshold

	CheckpointMirror string        // a directory or an http(s) URL keeping a copy of every checkpoint
	AuditRate        float64       // leaves a second the background audit checks; 0: no limit
	AuditInterval    time.Duration // pause between background audit passes; 0: no background audit

	Exposure exposure // TLS, per-key rate limits, trusted proxies (tls.go)

	OpenLineage        openlineage.Config // the namespace of the OpenLineage events
	OpenLineageURL     string             // where the events are posted; none if empty
	OpenLineageRetries int                // retries of a failed delivery
	OpenLineageBackoff time.Duration      // the first retry's wait, doubled for each next one

	finish func() error // validates what the flags could not; set by register
}

func (c *config) register(f *flags, withServer bool) {
	f.string(&c.DataDir, "data-dir", "./data", "directory for the database, the admin key and the log signing key")
	f.string(&c.DB, "db", "", "database: a SQLite file path (default <data-dir>/registry.db) or a postgres:// URL")
	c.finish = func() error { return nil }
	if !withServer {
		return
	}
	var timeout, maxBatch, auditRate, auditInterval, nearThreshold, olRetries, olBackoff string
	f.string(&c.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	f.string(&c.ToxicityScorer, "toxicity-scorer", "lexicon", `toxicity scorer: "lexicon" (built in, offline), "lexicon/1" (its predecessor), "tei:URL" (a Text Embeddings Inference /predict classifier; options after #: labels=toxic,insult&batch=32&version=V), "openai:URL" (an OpenAI-compatible /v1/moderations; options after #: category=harassment&model=M&batch=32&version=V) or the URL of a Perspective-compatible comments:analyze endpoint`)
	f.string(&timeout, "toxicity-timeout", "5s", "timeout of one call (one batch) to an HTTP toxicity scorer")
	f.string(&c.ToxicityOnError, "toxicity-on-error", "fail", `when an HTTP scorer is unavailable (after its retries): "fail" the ingest (503) or store a "null" score`)
	f.string(&maxBatch, "max-batch-bytes", strconv.Itoa(256<<20), "largest accepted batch request body, in bytes")
	f.string(&c.LogFormat, "log-format", "text", `log format: "text" or "json"`)
	f.string(&c.LogOrigin, "log-origin", "pedigree-registry", "origin line of the log's signed checkpoints, and the name of its signing key")
	f.string(&c.Laundering, "laundering", "refuse", `human text that near-duplicates model text: "refuse" it (409) or "flag" it, stored with near_duplicate_of`)
	f.string(&nearThreshold, "near-duplicate-threshold", strconv.FormatFloat(registry.DefaultNearThreshold, 'g', -1, 64),
		"Jaccard similarity of word 3-shingles, between 0.3 and 1, at and above which two texts are near-duplicates")
	c.registerMirror(f)
	f.string(&auditRate, "audit-rate", strconv.Itoa(defaultAuditRate), "leaves a second that the background audit re-hashes and re-derives (each phase); 0 for no limit")
	f.string(&auditInterval, "audit-interval", "10m", "pause between passes of the background audit; 0 turns it off")
	f.string(&c.OpenLineageURL, "openlineage-url", "", "post an OpenLineage run event for each mix build and each model trained on mixes to this http(s) URL (e.g. Marquez's http://host:5000/api/v1/lineage), from a background queue")
	f.string(&c.OpenLineage.Namespace, "openlineage-namespace", openlineage.DefaultNamespace, "OpenLineage namespace of the registry's jobs and datasets")
	f.string(&olRetries, "openlineage-retries", "4", "retries of a failed OpenLineage delivery before the event is dropped (and counted)")
	f.string(&olBackoff, "openlineage-backoff", "1s", "wait before the first retry of an OpenLineage delivery, doubled for each next one (at most 30s)")
	finishExposure := c.Exposure.register(f)
	c.finish = func() error {
		if err := finishExposure(); err != nil {
			return err
		}
		d, err := time.ParseDuration(timeout)
		if err != nil || d <= 0 {
			return &usageError{"--toxicity-timeout must be a positive duration such as 5s"}
		}
		c.ToxicityTimeout = d
		n, err := strconv.ParseInt(maxBatch, 10, 64)
		if err != nil || n < 1<<20 {
			return &usageError{"--max-batch-bytes must be a number of bytes, at least 1048576"}
		}
		c.MaxBatchBytes = n
		if c.ToxicityOnError != "fail" && c.ToxicityOnError != "null" {
			return &usageError{`--toxicity-on-error must be "fail" or "null"`}
		}
		if c.Laundering != "refuse" && c.Laundering != "flag" {
			return &usageError{`--laundering must be "refuse" or "flag"`}
		}
		th, err := strconv.ParseFloat(nearThreshold, 64)
		if err != nil || !(th >= 0.3 && th <= 1) {
			// Below 0.3 the band index finds too few of the pairs (dedup.Recall), and distinct texts
			// on one subject start to match.
			return &usageError{"--near-duplicate-threshold must be a number between 0.3 and 1"}
		}
		c.NearThreshold = th
		if c.LogFormat != "text" && c.LogFormat != "json" {
			return &usageError{`--log-format must be "text" or "json"`}
		}
		r, err := strconv.ParseFloat(auditRate, 64)
		if err != nil || r < 0 || math.IsInf(r, 0) || math.IsNaN(r) {
			return &usageError{"--audit-rate must be a number of leaves a second, 0 for no limit"}
		}
		c.AuditRate = r
		iv, err := time.ParseDuration(auditInterval)
		if err != nil || iv < 0 {
			return &usageError{"--audit-interval must be a duration such as 10m, or 0 to turn the background audit off"}
		}
		c.AuditInterval = iv
		if c.OpenLineageURL != "" {
			if err := openlineage.CheckURL(c.OpenLineageURL); err != nil {
				return &usageError{"--openlineage-url: " + err.Error()}
			}
		}
		if c.OpenLineage.Namespace == "" {
			return &usageError{"--openlineage-namespace must not be empty"}
		}
		if c.OpenLineageRetries, err = strconv.Atoi(olRetries); err != nil || c.OpenLineageRetries < 0 || c.OpenLineageRetries > 100 {
			return &usageError{"--openlineage-retries must be a number from 0 to 100"}
		}
		if c.OpenLineageBackoff, err = time.ParseDuration(olBackoff); err != nil || c.OpenLineageBackoff <= 0 {
			return &usageError{"--openlineage-backoff must be a positive duration such as 1s"}
		}
		return nil
	}
}

// registerMirror adds --checkpoint-mirror, for serve and audit.
func (c *config) registerMirror(f *flags) {
	f.string(&c.CheckpointMirror, "checkpoint-mirror", "", "also keep every signed checkpoint in this directory (file \"checkpoint\") or at this http(s) URL (PUT, and GET at start-up); a database shorter than it, or with another root at its size, fails the check")
}

// defaultAuditRate is the background audit's default pace, in leaves a second: a pass over a million
// leaves takes about 7 minutes (both phases) and about 5 % of one core. Its default pause between
// passes (--audit-interval) is 10 minutes.
const defaultAuditRate = 5000

func (c *config) dbPath() string {
	if c.DB != "" {
		return c.DB
	}
	return filepath.Join(c.DataDir, "registry.db")
}

func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// openStore opens the configured database, creating the data directory for SQLite.
func openStore(ctx context.Context, c *config) (fullStore, error) {
	if isPostgres(c.DB) {
		return postgres.Open(ctx, c.DB)
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	return sqlite.Open(ctx, c.dbPath())
}

func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	return describeBuild(bi)
}

// describeBuild names a build: its module version and, for a build from a checkout, the VCS revision
// (unless the version already names it), whether the tree had uncommitted changes, the commit's time
// and the Go version, which Go embeds (unless built with -buildvcs=false).
func describeBuild(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, at string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return v
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	out := v
	if !strings.Contains(v, rev) { // a pseudo-version names the revision already
		out += " " + rev
		if dirty {
			out += "+dirty"
		}
	}
	if at != "" {
		out += " " + at
	}
	return out + " " + bi.GoVersion
}

func serveCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config
	f := newFlags("serve", getenv, stderr)
	cfg.register(f, true)
	if err := f.parse(args); err != nil {
		return err
	}
	if err := cfg.finish(); err != nil {
		return err
	}
	return serve(ctx, &cfg, stdout, stderr)
}

func newLogger(format string, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{ReplaceAttr: durationsAsText}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// durationsAsText writes durations as Go writes them ("1.5s"), in JSON as in text, rather than as
// the nanoseconds the JSON handler would give.
func durationsAsText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}

// toxicityScorer builds the --toxicity-scorer (see metrics.ParseToxicityScorer for its forms).
func toxicityScorer(cfg *config) (metrics.ToxicityScorer, error) {
	s, err := metrics.ParseToxicityScorer(cfg.ToxicityScorer, cfg.ToxicityTimeout)
	if err != nil {
		return nil, &usageError{"--toxicity-scorer: " + err.Error()}
	}
	return s, nil
}

// serve runs the HTTP server until ctx is cancelled, then shuts down gracefully.
func serve(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	logger := newLogger(cfg.LogFormat, stderr)
	tox, err := toxicityScorer(cfg)
	if err != nil {
		return err
	}
	var certs *certReloader
	if cfg.Exposure.TLSCert != "" {
		if certs, err = newCertReloader(cfg.Exposure.TLSCert, cfg.Exposure.TLSKey, logger); err != nil {
			return err
		}
		defer certs.stop()
	}
	reg := prometheus.NewRegistry()
	opsMetrics := api.NewMetrics(reg)
	tox = opsMetrics.InstrumentToxicity(tox)
	// The address first: a port in use fails the start before the data directory, the database or
	// the admin key is created. Connections wait in the listener's queue until the checks are done.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	store.SetWriteWaitObserver(opsMetrics.ObserveWriteWait)
	// Check the log before anything is written: a registry whose records or log were altered
	// refuses to start.
	auditLog, err := openLog(ctx, cfg, store, logger)
	if err != nil {
		return err
	}
	if t, ok := auditLog.Trusted(); ok { // openLog signed a checkpoint of it
		opsMetrics.CheckpointSigned(t.N, time.Now())
	}
	// From here on every record read for a response, an authorization, a policy evaluation or a
	// replay is proven in the log first.
	checked := leaves.NewChecked(store, auditLog)
	svc := &registry.Service{Store: checked, Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{
		Toxicity: tox, NullOnUnavailable: cfg.ToxicityOnError == "null"}},
		Near: registry.NearRule{Threshold: cfg.NearThreshold, Flag: cfg.Laundering == "flag"}}
	if err := ensureAdminKey(ctx, cfg, svc, stdout); err != nil {
		return err
	}
	policies := mixer.NewPolicies(checked)
	if err := policies.EnsureDefault(ctx); err != nil {
		return fmt.Errorf("default policy: %w", err)
	}
	builder := &mixer.Builder{Store: checked, Policies: policies}

	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if certs != nil {
		reg.MustRegister(certs.collectors()...)
	}
	opsMetrics.WatchLog(auditLog)
	var lineage api.LineageSink
	if cfg.OpenLineageURL != "" {
		pub, err := openlineage.NewPublisher(cfg.OpenLineage, openlineage.PublisherConfig{URL: cfg.OpenLineageURL,
			Retries: cfg.OpenLineageRetries, Backoff: cfg.OpenLineageBackoff, Logger: logger, Registerer: reg})
		if err != nil {
			return err
		}
		// After the HTTP server has stopped: what is still queued gets a few seconds to go out.
		defer func() {
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			pub.Close(c)
		}()
		lineage = pub
	}
	handler := api.New(api.Config{MaxBatchBytes: cfg.MaxBatchBytes, TrustedProxies: cfg.Exposure.TrustedProxies}, api.Deps{
		Store: checked, Builder: builder, Policies: policies, Log: auditLog, Service: svc, Logger: logger, Registry: reg, Spec: pedigree.OpenAPI,
		Metrics: opsMetrics, Limits: cfg.Exposure.RateLimits, OpenLineage: cfg.OpenLineage, Lineage: lineage,
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,  // a 256 MiB batch over a slow link
		WriteTimeout:      30 * time.Minute, // a mix export streams for a while
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	scheme := "http://"
	if certs != nil {
		scheme = "https://"
	}
	if cfg.LogFormat == "json" { // the line scripts read, in the stream's own format
		fmt.Fprintf(stdout, "{\"listening_on\":%q}\n", scheme+ln.Addr().String())
	} else {
		fmt.Fprintf(stdout, "listening on %s%s\n", scheme, ln.Addr())
	}
	logger.Info("serving", "addr", ln.Addr().String(), "db", redactDSN(cfg.dbPath()), "toxicity_scorer", tox.ID())

	errc := make(chan error, 1)
	go func() { errc <- serveOn(srv, ln, certs) }()
	opsCtx, stopOps := context.WithCancel(ctx)
	var opsDone sync.WaitGroup
	opsDone.Go(func() { opsMetrics.CountSamples(opsCtx, store.CountSamples, sampleRecount, logger) })
	if certs != nil {
		opsDone.Go(func() { certs.watch(opsCtx, cfg.Exposure.TLSReload) })
	}
	defer func() { stopOps(); opsDone.Wait() }()
	auditCtx, stopAudit := context.WithCancel(ctx)
	auditDone := make(chan struct{})
	go func() {
		defer close(auditDone)
		newAuditLoop(cfg, auditLog, tamperAware(store.RecordLeaves), logger, reg).run(auditCtx)
	}()
	defer func() { stopAudit(); <-auditDone }()
	ticker := time.NewTicker(checkpointEvery)
	defer ticker.Stop()
	for running := true; running; {
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-ticker.C:
			if auditLog.Healthy() != nil {
				continue // the audit loop has said why; an unhealthy log signs nothing
			}
			if _, t, err := auditLog.Checkpoint(ctx); err != nil && ctx.Err() == nil {
				logger.Error("signing a checkpoint", "err", err)
			} else if err == nil {
				opsMetrics.CheckpointSigned(t.N, time.Now())
			}
		case <-ctx.Done():
			running = false
		}
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	// The last checkpoint covers everything written, so the next start checks all of it. A log that
	// failed a check signs nothing; the next start checks again and says why.
	if err := auditLog.Healthy(); err != nil {
		logger.Error("no final checkpoint: the tamper-evident log failed a check", "err", err)
		return nil
	}
	if _, _, err := auditLog.Checkpoint(shutdownCtx); err != nil {
		return fmt.Errorf("final checkpoint: %w", err)
	}
	return nil
}

// sampleRecount is how often /metrics recounts the stored samples by origin and generation in the
// database (between counts it adds this server's ingests): a grouped scan of the samples table,
// about a second at a million samples.
const sampleRecount = 10 * time.Minute

// checkpointEvery is how often the server signs and stores a checkpoint when the log has grown.
const checkpointEvery = 30 * time.Second

// fullStore is a store with everything serve needs: samples, mixes and the log, and both ways of
// re-deriving records' leaves (all of them, and one by one).
type fullStore interface {
	leaves.RecordStore
	ledger.Storage
	RecordLeaves(ctx context.Context, fn func(index int64, leaf []byte) error) error
	// For /metrics: how long writes wait for the writer, and the samples by origin and generation.
	SetWriteWaitObserver(fn func(time.Duration))
	CountSamples(ctx context.Context, fn func(origin string, generation int, n int64)) error
}

// openLog loads (creating on first start) the log signing key, runs the start-up check against the
// checkpoints kept in the data directory, the mirror and the database, and signs a checkpoint of
// the log as verified (which the Log also saves to the data directory and the mirror).
func openLog(ctx context.Context, cfg *config, store fullStore, logger *slog.Logger) (*ledger.Log, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	signer, _, vkey, err := ledger.LoadOrCreateKey(cfg.DataDir, cfg.LogOrigin)
	if err != nil {
		return nil, fmt.Errorf("log signing key: %w", err)
	}
	witnesses, err := logWitnesses(cfg)
	if err != nil {
		return nil, err
	}
	l := ledger.NewLog(store, signer, vkey,
		ledger.WithWitnesses(witnesses...),
		ledger.WithWatermark(&ledger.NoteFile{Path: filepath.Join(cfg.DataDir, ledger.WatermarkFile)}),
		ledger.WithWitnessErrors(func(place string, err error) {
			logger.Error("keeping a copy of the checkpoint", "place", place, "err", err)
		}))
	logger.Info("checking the tamper-evident log", "witnesses", len(witnesses))
	res, err := l.StartupCheck(ctx, tamperAware(store.RecordLeaves), leaves.RecordLeaf(store))
	if err != nil {
		return nil, fmt.Errorf("refusing to start: the tamper-evident log does not verify: %w", err)
	}
	attrs := []any{"leaves", res.Tree.N, "root", res.Tree.Hash.String(), "rehashed", res.Rehashed,
		"rederived", res.Rederived, "full", res.Full, "took", res.Duration.Round(time.Millisecond)}
	if !res.Full {
		attrs = append(attrs, "watermark", res.Watermark.Tree.N, "watermark_time", res.Watermark.Time)
	}
	for _, st := range res.Signed {
		attrs = append(attrs, "compared_with", fmt.Sprintf("%s (%d leaves)", st.Place, st.Tree.N))
	}
	logger.Info("log verified", attrs...)
	if res.WatermarkErr != nil {
		logger.Warn("saving the audit watermark", "err", res.WatermarkErr)
	}
	if _, _, err := l.Checkpoint(ctx); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return l, nil
}

// logWitnesses returns where the log keeps copies of its checkpoints: the data directory, and the
// mirror if one is configured.
func logWitnesses(cfg *config) ([]ledger.NoteStore, error) {
	out := []ledger.NoteStore{&ledger.NoteFile{Path: filepath.Join(cfg.DataDir, ledger.CheckpointFile)}}
	switch m := cfg.CheckpointMirror; {
	case m == "":
	case strings.HasPrefix(m, "http://") || strings.HasPrefix(m, "https://"):
		u, err := ledger.NewNoteURL(m, nil)
		if err != nil {
			return nil, &usageError{"--checkpoint-mirror: " + err.Error()}
		}
		out = append(out, u)
	default:
		out = append(out, &ledger.NoteFile{Path: filepath.Join(m, "checkpoint")})
	}
	return out, nil
}

// tamperAware makes a store's record walk report the registry's own tamper errors as the ledger's,
// so that the checks tell them from I/O errors (and fail closed on them).
func tamperAware(records ledger.RecordLeaves) ledger.RecordLeaves {
	return func(ctx context.Context, fn func(int64, []byte) error) error {
		err := records(ctx, fn)
		var ae *ledger.AuditError
		if err != nil && errors.Is(err, registry.ErrTampered) && !errors.As(err, &ae) {
			return &ledger.AuditError{Leaf: -1, StoredIndex: -1, Reason: err.Error(), Err: err}
		}
		return err
	}
}

// redactDSN hides a password in a database URL for logging.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			if colon := strings.Index(dsn[i+3:at], ":"); colon >= 0 {
				return dsn[:i+3+colon] + ":***" + dsn[at:]
			}
		}
	}
	return dsn
}

// ensureAdminKey creates the first admin key on a registry that has never had a key, and writes it
// to <data-dir>/admin.key with mode 0600.
func ensureAdminKey(ctx context.Context, cfg *config, svc *registry.Service, stdout io.Writer) error {
	n, err := svc.Store.CountKeys(ctx)
	if err != nil {
		return fmt.Errorf("count keys: %w", err)
	}
	if n > 0 {
		return nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(cfg.DataDir, "admin.key")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("the registry has no keys, but %s cannot be created (%w); remove it or create a key with 'registryd keys create --role admin'", path, err)
	}
	key, _, err := svc.CreateKey(ctx, registry.RoleAdmin)
	if err == nil {
		_, err = fmt.Fprintln(f, key)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("create admin key: %w", err)
	}
	abs, _ := filepath.Abs(path)
	fmt.Fprintf(stdout, "created the first admin key in %s (mode 0600)\n", abs)
	return nil
}
