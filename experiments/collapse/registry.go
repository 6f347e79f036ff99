package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/pedigreeml/pedigree"
	"github.com/pedigreeml/pedigree/api"
	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/metrics"
	"github.com/pedigreeml/pedigree/mixer"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/leaves"
	"github.com/pedigreeml/pedigree/registry/sqlite"
	"github.com/prometheus/client_golang/prometheus"
)

// localRegistry is a registry served in this process on a loopback port, wired as `registryd serve`
// wires it (SQLite store, tamper-evident log, checked reads, lexicon toxicity scorer, default
// policy), and the Go client that talks to it over HTTP.
type localRegistry struct {
	URL    string
	Client *client.Client
	close  func() error
}

// startRegistry opens a fresh registry in dir and serves it on 127.0.0.1 at a free port.
func startRegistry(ctx context.Context, dir string) (*localRegistry, error) {
	store, err := sqlite.Open(ctx, filepath.Join(dir, "registry.db"))
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*localRegistry, error) {
		store.Close()
		return nil, err
	}
	signer, _, vkey, err := ledger.LoadOrCreateKey(dir, "pedigree-collapse")
	if err != nil {
		return fail(fmt.Errorf("log signing key: %w", err))
	}
	auditLog := ledger.NewLog(store, signer, vkey)
	if _, err := auditLog.SelfCheck(ctx, store.RecordLeaves); err != nil {
		return fail(fmt.Errorf("log check: %w", err))
	}
	checked := leaves.NewChecked(store, auditLog)
	svc := &registry.Service{
		Store:  checked,
		Scorer: registry.MetricsScorer{Scorer: &metrics.Scorer{Toxicity: metrics.NewLexiconScorer()}},
		Near:   registry.NearRule{Threshold: registry.DefaultNearThreshold},
	}
	key, _, err := svc.CreateKey(ctx, registry.RoleAdmin)
	if err != nil {
		return fail(fmt.Errorf("admin key: %w", err))
	}
	policies := mixer.NewPolicies(checked)
	if err := policies.EnsureDefault(ctx); err != nil {
		return fail(fmt.Errorf("default policy: %w", err))
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	handler := api.New(api.Config{MaxBatchBytes: 256 << 20}, api.Deps{
		Store: checked, Builder: &mixer.Builder{Store: checked, Policies: policies}, Policies: policies,
		Log: auditLog, Service: svc, Logger: logger, Registry: prometheus.NewRegistry(), Spec: pedigree.OpenAPI,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	c := client.New(url, key, client.WithHTTPClient(&http.Client{Timeout: 10 * time.Minute}))
	r := &localRegistry{URL: url, Client: c, close: func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := srv.Shutdown(sctx)
		if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
		if _, _, cerr := auditLog.Checkpoint(sctx); err == nil {
			err = cerr
		}
		if cerr := store.Close(); err == nil {
			err = cerr
		}
		return err
	}}
	if err := c.Ready(ctx); err != nil {
		r.Close()
		return nil, fmt.Errorf("registry not ready: %w", err)
	}
	return r, nil
}

// Close stops the server, signs a last checkpoint and closes the store.
func (r *localRegistry) Close() error { return r.close() }
