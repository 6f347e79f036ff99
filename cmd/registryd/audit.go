package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/prometheus/client_golang/prometheus"
)

// auditCommand is "registryd audit": the full check of a registry's log and records, offline (or
// beside a running server), without a rate limit. It compares the database with the checkpoints
// kept in the data directory, the mirror and the database, re-hashes every leaf, re-derives every
// record, and on success moves the audit watermark up, so that the next start checks only what
// came after. Any mismatch exits non-zero and says where.
func auditCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config
	f := newFlags("audit", getenv, stderr)
	cfg.register(f, false)
	cfg.registerMirror(f)
	f.Usage = func() {
		fmt.Fprint(f.Output(), `Usage: registryd audit [--data-dir ./data] [--db PATH|postgres://…] [--checkpoint-mirror DIR|URL]

Checks a registry's tamper-evident log in full: the signed checkpoints kept in the database, the
data directory and the mirror; every stored hash, recomputed from the leaves; and every record,
whose leaf is re-derived and compared. Progress goes to standard error, the result to standard
output. On success the audit watermark in <data-dir>/log/audited moves up to the verified tree, so
the next "registryd serve" re-derives only what was logged after it. Exit status: 0 when
everything verifies, 1 on any mismatch or error, 2 for a wrong command line. It can run while the
server serves the same data directory.

Flags:
`)
		f.PrintDefaults()
	}
	if err := f.parse(args); err != nil {
		return err
	}
	signer, _, vkey, err := ledger.LoadKey(cfg.DataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no log key in %s: --data-dir must be the registry's data directory", cfg.DataDir)
	}
	if err != nil {
		return err
	}
	witnesses, err := logWitnesses(&cfg)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, &cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	l := ledger.NewLog(store, signer, vkey, ledger.WithWitnesses(witnesses...),
		ledger.WithWatermark(&ledger.NoteFile{Path: filepath.Join(cfg.DataDir, ledger.WatermarkFile)}))

	fmt.Fprintf(stderr, "auditing %s\n", redactDSN(cfg.dbPath()))
	p := &progressPrinter{w: stderr, every: 2 * time.Second}
	res, err := l.FullCheck(ctx, tamperAware(store.RecordLeaves), ledger.FullCheckOptions{Progress: p.report})
	var ae *ledger.AuditError
	switch {
	case errors.As(err, &ae):
		fmt.Fprintf(stdout, "MISMATCH: %v\n", err)
		if ae.Leaf >= 0 {
			fmt.Fprintf(stdout, "at leaf %d (GET /v1/log/entries/%d names the record)\n", ae.Leaf, ae.Leaf)
		}
		return errors.New("the audit found the registry altered")
	case err != nil:
		return fmt.Errorf("audit: %w", err)
	}
	fmt.Fprintf(stdout, "verified: %d leaves, root %s\n", res.Tree.N, res.Tree.Hash)
	fmt.Fprintf(stdout, "every stored hash recomputed, every record re-derived, in %s\n", res.Duration.Round(time.Millisecond))
	for _, st := range res.Signed {
		fmt.Fprintf(stdout, "consistent with %s: %d leaves\n", st.Place, st.Tree.N)
	}
	if res.WatermarkErr != nil {
		fmt.Fprintf(stderr, "warning: %v\n", res.WatermarkErr)
	} else {
		fmt.Fprintf(stdout, "watermark: %d leaves\n", res.Watermark.Tree.N)
	}
	return nil
}

// progressPrinter prints a check's progress at most every so often, and at the end of each phase.
type progressPrinter struct {
	w     io.Writer
	every time.Duration
	last  time.Time
}

func (p *progressPrinter) report(pr ledger.Progress) {
	if pr.Done < pr.Total && time.Since(p.last) < p.every {
		return
	}
	p.last = time.Now()
	pct := 100.0
	if pr.Total > 0 {
		pct = 100 * float64(pr.Done) / float64(pr.Total)
	}
	what := "leaves re-hashed"
	if pr.Phase == ledger.PhaseRecords {
		what = "records re-derived"
	}
	fmt.Fprintf(p.w, "%s: %d of %d (%.0f%%)\n", what, pr.Done, pr.Total, pct)
}

// auditLoop runs the full check in the background of a serving registry, paced, pass after pass,
// and reports in the log and in /metrics. A mismatch makes the log unhealthy (the Log does that
// itself): /readyz fails and writes are refused, and the loop stops.
type auditLoop struct {
	log      *ledger.Log
	records  ledger.RecordLeaves
	rate     float64
	interval time.Duration
	logger   *slog.Logger

	checked    *prometheus.GaugeVec
	total      prometheus.Gauge
	passes     prometheus.Counter
	lastPass   prometheus.Gauge
	lastTook   prometheus.Gauge
	mismatches prometheus.Counter
}

func newAuditLoop(cfg *config, l *ledger.Log, records ledger.RecordLeaves, logger *slog.Logger, reg *prometheus.Registry) *auditLoop {
	a := &auditLoop{
		log: l, records: records, rate: cfg.AuditRate, interval: cfg.AuditInterval, logger: logger,
		checked: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pedigree_log_audit_leaves_checked",
			Help: "Leaves checked so far in the current background audit pass, by phase (tree: stored hashes recomputed; records: records re-derived).",
		}, []string{"phase"}),
		total: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pedigree_log_audit_pass_leaves",
			Help: "Leaves in the log when the current (or last) background audit pass began.",
		}),
		passes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pedigree_log_audit_passes_total",
			Help: "Background audit passes completed with everything verified.",
		}),
		lastPass: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pedigree_log_audit_last_pass_timestamp_seconds",
			Help: "When the last background audit pass completed (Unix time), 0 before the first.",
		}),
		lastTook: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pedigree_log_audit_last_pass_duration_seconds",
			Help: "How long the last completed background audit pass took.",
		}),
		mismatches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pedigree_log_audit_mismatches_total",
			Help: "Background audit passes that found the log or a record altered; after one, the registry refuses writes.",
		}),
	}
	healthy := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "pedigree_log_healthy",
		Help: "1 while no check has found the log or its records altered, 0 after (writes are then refused).",
	}, func() float64 {
		if l.Healthy() != nil {
			return 0
		}
		return 1
	})
	reg.MustRegister(a.checked, a.total, a.passes, a.lastPass, a.lastTook, a.mismatches, healthy)
	return a
}

// run audits until ctx is done, a pass finds a mismatch, or the log is otherwise found unhealthy.
// The first pass starts at once: the start-up check re-derived only the records after the
// watermark.
func (a *auditLoop) run(ctx context.Context) {
	if a.interval <= 0 {
		a.logger.Info("background audit off (--audit-interval 0)")
		return
	}
	for {
		if err := a.log.Healthy(); err != nil {
			a.logger.Error("background audit stopped: the tamper-evident log failed a check; writes are refused", "err", err)
			return
		}
		if !a.pass(ctx) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(a.interval):
		}
	}
}

// pass runs one full check; it returns false when the loop must stop.
func (a *auditLoop) pass(ctx context.Context) bool {
	a.checked.Reset()
	logged := map[string]int{}
	a.logger.Info("background audit pass starting", "leaves_per_second", a.rate)
	res, err := a.log.FullCheck(ctx, a.records, ledger.FullCheckOptions{Rate: a.rate, Progress: func(p ledger.Progress) {
		a.total.Set(float64(p.Total))
		a.checked.WithLabelValues(p.Phase).Set(float64(p.Done))
		// A line in the log at every tenth of each phase.
		if p.Total > 0 {
			if tenth := int(10 * p.Done / p.Total); tenth > logged[p.Phase] {
				logged[p.Phase] = tenth
				a.logger.Info("background audit progress", "phase", p.Phase, "done", p.Done, "of", p.Total)
			}
		}
	}})
	var ae *ledger.AuditError
	switch {
	case ctx.Err() != nil:
		return false
	case errors.As(err, &ae):
		a.mismatches.Inc()
		a.logger.Error("the background audit found the tamper-evident log or a record altered: refusing writes and failing /readyz until an operator investigates (registryd audit)",
			"leaf", ae.Leaf, "stored_hash", ae.StoredIndex, "reason", ae.Reason, "err", err)
		return false
	case err != nil:
		a.logger.Warn("background audit pass failed; trying again after the interval", "err", err, "interval", a.interval)
		return true
	}
	a.passes.Inc()
	a.lastPass.SetToCurrentTime()
	a.lastTook.Set(res.Duration.Seconds())
	a.logger.Info("background audit pass verified", "leaves", res.Tree.N, "root", res.Tree.Hash.String(),
		"took", res.Duration.Round(time.Millisecond), "watermark", res.Watermark.Tree.N)
	if res.WatermarkErr != nil {
		a.logger.Warn("saving the audit watermark", "err", res.WatermarkErr)
	}
	return true
}
