package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/internal/spectest"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/storetest"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads /metrics from a running server and parses it as Prometheus' text format.
func scrape(t *testing.T, c *client.Client) map[string]*dto.MetricFamily {
	t.Helper()
	_, body, err := c.Do(context.Background(), client.Request{Method: "GET", Path: "/metrics"})
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

// sample finds the series of family name whose labels include want, and returns its value (a
// counter's or gauge's value, a histogram's count); ok is false when there is none.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// wantSample fails t unless the series has exactly the value want.
func wantSample(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string, want float64) {
	t.Helper()
	got, ok := sample(fams, name, labels)
	if !ok {
		t.Errorf("%s%v: no such series", name, labels)
	} else if got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

// humans returns n distinct human samples of about 40 words.
func humans(prefix string, n int) []registry.NewSample {
	out := make([]registry.NewSample, n)
	for i := range out {
		out[i] = human(fmt.Sprintf("%s %d: %s.", prefix, i, storetest.Words(fmt.Sprint(prefix, i), 40)))
	}
	return out
}

// logSize reads the size of the log's signed checkpoint (its second line).
func logSize(t *testing.T, c *client.Client) float64 {
	t.Helper()
	note, err := c.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(note), "\n")
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		t.Fatalf("checkpoint %q: %v", note, err)
	}
	return float64(n)
}

// TestOperatorMetricsEndToEnd drives a registry through real work (ingests scored by an HTTP
// toxicity scorer that fails on one text, a refused mix, an allowed one, a dry run), then restarts
// it, and checks that every series an operator pages on moved by exactly what was done.
func TestOperatorMetricsEndToEnd(t *testing.T) {
	ctx := context.Background()
	var scorerCalls sync.Map
	scorer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Comment struct{ Text string } `json:"comment"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		scorerCalls.Store(req.Comment.Text, true)
		if strings.Contains(req.Comment.Text, "unscorable") {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"attributeScores":{"TOXICITY":{"summaryScore":{"value":0.05}}}}`)
	}))
	defer scorer.Close()

	dir := t.TempDir()
	srv := startServer(t, dir, "--toxicity-scorer", scorer.URL+"/v1alpha1/comments:analyze", "--toxicity-on-error", "null")
	anon := srv.Client("")
	ingest := srv.Client(srv.Key(registry.RoleIngest))

	// 50 humans: too few for the default policy's floor of 100, so the first mix is refused.
	must[[]client.IngestedSample](t)(ingest.IngestBatch(ctx, humans("First", 50), ""))
	_, err := ingest.CreateMix(ctx, registry.MixRequest{Size: 60, Seed: 1}, "")
	if client.CodeOf(err) != registry.EPOLICYDENIED {
		t.Fatalf("a mix under the floor: %v, want policy_denied", err)
	}
	before := scrape(t, anon)
	waits, _ := sample(before, "pedigree_store_write_wait_seconds", nil)
	if waits < 1 {
		t.Errorf("pedigree_store_write_wait_seconds counted %v writes after several", waits)
	}

	more := humans("Second", 100)
	unscorable := human("This one is unscorable: the scorer answers 503 for it, and the sample is kept without a toxicity score.")
	more = append(more, unscorable)
	got := must[[]client.IngestedSample](t)(ingest.IngestBatch(ctx, more, ""))
	if got[len(got)-1].Metrics.Toxicity != nil {
		t.Fatalf("the unscorable sample has a toxicity score: %+v", got[len(got)-1].Metrics)
	}
	zero := 0
	teacher := must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: "teacher", Version: "1", DeclaredGeneration: &zero}, ""))
	var answers []registry.NewSample
	for i := range 4 {
		answers = append(answers, modelOut(fmt.Sprintf("Answer %d: %s.", i, storetest.Words(fmt.Sprint("answer", i), 30)), teacher.Ref(), got[i].ID))
	}
	must[[]client.IngestedSample](t)(ingest.IngestBatch(ctx, answers, ""))
	mix := must[*registry.Mix](t)(ingest.CreateMix(ctx, registry.MixRequest{Size: 120, Seed: 1}, ""))
	dry := must[*client.DryRun](t)(ingest.DryRunMix(ctx, registry.MixRequest{Size: 120, Seed: 2}))
	if !dry.Allowed {
		t.Fatalf("dry run refused: %+v", dry)
	}
	policy := mix.Policy.Name

	fams := scrape(t, anon)
	wantSample(t, fams, "pedigree_mix_decisions_total", map[string]string{"policy": policy, "outcome": "denied", "dry_run": "false"}, 1)
	wantSample(t, fams, "pedigree_mix_decisions_total", map[string]string{"policy": policy, "outcome": "allowed", "dry_run": "false"}, 1)
	wantSample(t, fams, "pedigree_mix_decisions_total", map[string]string{"policy": policy, "outcome": "allowed", "dry_run": "true"}, 1)
	wantSample(t, fams, "pedigree_mix_build_duration_seconds", map[string]string{"outcome": "allowed"}, 2)
	wantSample(t, fams, "pedigree_mix_build_duration_seconds", map[string]string{"outcome": "denied"}, 1)

	scorerID := "perspective@" + strings.TrimPrefix(scorer.URL, "http://") + "/v1alpha1/comments:analyze"
	wantSample(t, fams, "pedigree_toxicity_scorer_errors_total", map[string]string{"scorer": scorerID}, 1)
	calls := 0
	scorerCalls.Range(func(any, any) bool { calls++; return true })
	// Each distinct text is scored once: the 155 samples (the failed one counts as one call,
	// its retries inside it).
	wantSample(t, fams, "pedigree_toxicity_scorer_duration_seconds", map[string]string{"scorer": scorerID}, float64(calls))
	if calls != 50+101+4 {
		t.Errorf("the scorer saw %d distinct texts, want 155", calls)
	}
	if w, _ := sample(fams, "pedigree_store_write_wait_seconds", nil); w < waits+4 {
		t.Errorf("pedigree_store_write_wait_seconds counted %v writes, want at least %v (4 more writes)", w, waits+4)
	}
	// The log's size as a scrape sees it is the signed checkpoint's (nothing is written between).
	size := logSize(t, srv.Admin())
	wantSample(t, scrape(t, anon), "pedigree_log_leaves", nil, size)
	if ts, ok := sample(fams, "pedigree_log_checkpoint_timestamp_seconds", nil); !ok || ts <= 0 {
		t.Errorf("pedigree_log_checkpoint_timestamp_seconds = %v, %v; want a time", ts, ok)
	}
	if _, ok := sample(fams, "pedigree_log_checkpoint_age_seconds", nil); !ok {
		t.Error("no pedigree_log_checkpoint_age_seconds")
	}
	srv.Stop()

	// A restart counts the stored samples in the database, checks the log in the background, and
	// then adds its own ingests to the count.
	srv = startServer(t, dir, "--audit-interval", "1h")
	anon = srv.Client("")
	var fams2 map[string]*dto.MetricFamily
	deadline := time.Now().Add(30 * time.Second)
	for {
		fams2 = scrape(t, anon)
		_, counted := sample(fams2, "pedigree_samples", nil)
		passes, _ := sample(fams2, "pedigree_log_audit_passes_total", nil)
		if counted && passes >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sample count or audit pass after 30 s:\n%s", srv.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	wantSample(t, fams2, "pedigree_samples", map[string]string{"origin": "human", "generation": "0"}, 151)
	wantSample(t, fams2, "pedigree_samples", map[string]string{"origin": "model", "generation": "1"}, 4)
	size = logSize(t, srv.Admin())
	wantSample(t, fams2, "pedigree_log_audit_pass_leaves", nil, size)
	wantSample(t, fams2, "pedigree_log_audit_leaves_checked", map[string]string{"phase": "records"}, size)
	wantSample(t, fams2, "pedigree_log_audit_mismatches_total", nil, 0)
	wantSample(t, fams2, "pedigree_log_checkpoint_leaves", nil, size) // signed at start-up
	wantSample(t, fams2, "pedigree_log_healthy", nil, 1)

	ingest = srv.Client(srv.Key(registry.RoleIngest))
	must[[]client.IngestedSample](t)(ingest.IngestBatch(ctx, humans("Third", 3), ""))
	must[[]client.IngestedSample](t)(ingest.IngestBatch(ctx, humans("Third", 3), "")) // duplicates: not counted again
	fams2 = scrape(t, anon)
	wantSample(t, fams2, "pedigree_samples", map[string]string{"origin": "human", "generation": "0"}, 154)
	wantSample(t, fams2, "pedigree_samples_ingested_total", map[string]string{"result": "duplicate"}, 3)
}

// headerRecorder keeps the headers of the last response it carried.
type headerRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	last http.Header
}

func (h *headerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.next.RoundTrip(r)
	if err == nil {
		h.mu.Lock()
		h.last = resp.Header.Clone()
		h.mu.Unlock()
	}
	return resp, err
}

func (h *headerRecorder) header(name string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last.Get(name)
}

// TestRateLimitsEndToEnd: a key that exceeds its rate is refused with 429, a problem and
// Retry-After, and nothing is written; another key of the same role, and an admin key, are served.
func TestRateLimitsEndToEnd(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "", "--rate-limit-writes", "ingest=1/h:2", "--rate-limit-expensive", "auditor=1/h:1")
	rec := &headerRecorder{next: spectest.Transport(t, http.DefaultTransport)}
	limited := client.New(srv.URL, srv.Key(registry.RoleIngest), client.WithHTTPClient(&http.Client{Transport: rec}))
	other := srv.Client(srv.Key(registry.RoleIngest))

	first := must[*client.IngestedSample](t)(limited.CreateSample(ctx, human("first write of the limited key"), ""))
	must[*client.IngestedSample](t)(limited.CreateSample(ctx, human("second write of the limited key"), ""))
	_, err := limited.CreateSample(ctx, human("third write of the limited key, refused"), "")
	p := problemOf(t, err)
	if p.Status != http.StatusTooManyRequests || p.Code != "rate_limited" {
		t.Fatalf("third write: %v, want 429 rate_limited", err)
	}
	ra, err := strconv.Atoi(rec.header("Retry-After"))
	if err != nil || ra < 1 || ra > 3600 {
		t.Fatalf("Retry-After %q: want whole seconds, at most the hour the bucket takes to refill", rec.header("Retry-After"))
	}
	// The same key's reads are not writes: served.
	if _, err := srv.Client(srv.AdminKey).GetSample(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	must[*client.IngestedSample](t)(other.CreateSample(ctx, human("another ingest key is served"), ""))
	for i := range 3 {
		must[*client.IngestedSample](t)(srv.Admin().CreateSample(ctx, human(fmt.Sprint("admin keys are not limited ", i)), ""))
	}
	page := must[*client.SamplePage](t)(srv.Admin().ListSamples(ctx, client.SampleQuery{Limit: 100}))
	if len(page.Samples) != 6 {
		t.Errorf("%d samples stored, want 6: the refused write wrote nothing", len(page.Samples))
	}

	auditor, auditor2 := srv.Client(srv.Key(registry.RoleAuditor)), srv.Client(srv.Key(registry.RoleAuditor))
	must[*registry.Lineage](t)(auditor.Lineage(ctx, first.ID, "", 0))
	if _, err := auditor.Lineage(ctx, first.ID, "", 0); client.StatusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("second lineage read: %v, want 429", err)
	}
	must[*registry.Lineage](t)(auditor2.Lineage(ctx, first.ID, "", 0))

	fams := scrape(t, srv.Client(""))
	wantSample(t, fams, "pedigree_rate_limited_total", map[string]string{"class": "write", "role": "ingest"}, 1)
	wantSample(t, fams, "pedigree_rate_limited_total", map[string]string{"class": "expensive", "role": "auditor"}, 1)
	wantSample(t, fams, "pedigree_rate_limiters", nil, 4) // two ingest keys' writes, two auditors' reads; admin has none
	wantSample(t, fams, "pedigree_http_requests_total", map[string]string{"method": "POST", "route": "/v1/samples", "status": "429"}, 1)
}

// TestExposureFlagErrors: TLS and rate-limit flags that cannot work stop the start with a usage
// error, before anything is created.
func TestExposureFlagErrors(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, []byte("not a certificate"), 0o600)
	os.WriteFile(key, []byte("not a key"), 0o600)
	for _, tc := range []struct {
		name  string
		args  []string
		usage bool
	}{
		{"CertWithoutKey", []string{"--tls-cert", cert}, true},
		{"KeyWithoutCert", []string{"--tls-key", key}, true},
		{"BadReloadInterval", []string{"--tls-reload-interval", "0"}, true},
		{"UnknownRole", []string{"--rate-limit-writes", "robot=1/s"}, true},
		{"BadUnit", []string{"--rate-limit-expensive", "5/d"}, true},
		{"ZeroBurst", []string{"--rate-limit-writes", "ingest=5/s:0"}, true},
		{"BadProxy", []string{"--trusted-proxies", "10.0.0.0/33"}, true},
		{"UnreadablePair", []string{"--tls-cert", cert, "--tls-key", key}, false},
		{"MissingFiles", []string{"--tls-cert", cert + ".gone", "--tls-key", key}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", data}, tc.args...)
			var out, errb bytes.Buffer
			err := run(context.Background(), args, env(nil), nil, &out, &errb)
			if err == nil {
				t.Fatal("serve started")
			}
			var ue *usageError
			if errors.As(err, &ue) != tc.usage {
				t.Errorf("%v: usage error %v, want %v", err, !tc.usage, tc.usage)
			}
			if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the data directory exists after a failed start (%v)", err)
			}
		})
	}
}

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pedigree test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue writes a server certificate for 127.0.0.1 and localhost, and its key, to certFile and
// keyFile (each replaced in one rename), and returns the certificate.
func (ca *testCA) issue(t *testing.T, serial int64, certFile, keyFile string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: fmt.Sprint("registry ", serial)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Duration(serial) * time.Hour).Truncate(time.Second),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeAtomically(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	writeAtomically(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func writeAtomically(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// startTLSServer runs "registryd serve" with TLS through run(), on a random port, and waits until
// /readyz answers over TLS to a client that trusts ca.
func startTLSServer(t *testing.T, ca *testCA, extra ...string) (url string, stderr *syncBuffer) {
	t.Helper()
	url, _, stderr, _ = launch(t, t.TempDir(), extra...)
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("listening on %q, want an https URL", url)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := tlsGet(ca.pool, 0, url+"/readyz")
		if err == nil && resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready over TLS: %v\n%s", err, stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return url, stderr
}

// tlsGet makes one GET on a new connection, trusting roots (nil: the system's), with at most TLS
// version maxVersion (0: Go's default).
func tlsGet(roots *x509.CertPool, maxVersion uint16, url string) (*http.Response, error) {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MaxVersion: maxVersion}, DisableKeepAlives: true, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// servedSerial is the serial number of the certificate a new connection sees.
func servedSerial(t *testing.T, ca *testCA, url string) int64 {
	t.Helper()
	resp, err := tlsGet(ca.pool, 0, url+"/healthz")
	if err != nil {
		t.Fatalf("GET over TLS: %v", err)
	}
	return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
}

// TestTLSEndToEnd: the server speaks TLS 1.2 or later with the configured certificate, which a
// client checks against the test's CA; a new certificate written over the files is served to new
// connections, a broken one is refused while the last good one stays, and SIGHUP reloads at once.
func TestTLSEndToEnd(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca.issue(t, 1, certFile, keyFile)
	url, stderr := startTLSServer(t, ca, "--tls-cert", certFile, "--tls-key", keyFile, "--tls-reload-interval", "20ms")

	resp, err := tlsGet(ca.pool, 0, url+"/readyz")
	if err != nil {
		t.Fatal(err)
	}
	if resp.TLS.Version < tls.VersionTLS12 || resp.TLS.PeerCertificates[0].SerialNumber.Int64() != 1 {
		t.Fatalf("TLS version %x, serial %v", resp.TLS.Version, resp.TLS.PeerCertificates[0].SerialNumber)
	}
	if resp.ProtoMajor != 2 {
		t.Errorf("protocol %s, want HTTP/2 over TLS", resp.Proto)
	}
	var verr *tls.CertificateVerificationError
	if _, err := tlsGet(nil, 0, url+"/readyz"); !errors.As(err, &verr) {
		t.Errorf("a client that does not trust the CA: %v, want a certificate verification error", err)
	}
	if _, err := tlsGet(ca.pool, tls.VersionTLS11, url+"/readyz"); err == nil {
		t.Error("a TLS 1.1 client was served")
	}

	// A new certificate written over the files reaches new connections.
	second := ca.issue(t, 2, certFile, keyFile)
	deadline := time.Now().Add(20 * time.Second)
	for servedSerial(t, ca, url) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the new certificate was not served:\n%s", stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A key that does not parse is refused, once; the last good certificate stays. (A pair caught
	// half-written while ca.issue rotated it is not reported: the server waits for a second check.)
	const failed = "reloading the TLS certificate failed"
	before := strings.Count(stderr.String(), failed)
	writeAtomically(t, keyFile, []byte("-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n"))
	for strings.Count(stderr.String(), failed) == before {
		if time.Now().After(deadline) {
			t.Fatalf("a broken key was not reported:\n%s", stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := servedSerial(t, ca, url); got != 2 {
		t.Fatalf("after a failed reload the server shows certificate %d, want 2", got)
	}
	time.Sleep(200 * time.Millisecond) // ten more checks of the same broken files
	failures := strings.Count(stderr.String(), failed)
	if failures != before+1 {
		t.Errorf("the same broken files were reported %d times, want once", failures-before)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}
	fams := scrape(t, client.New(url, "", client.WithHTTPClient(&http.Client{Transport: spectest.Transport(t, tr)})))
	wantSample(t, fams, "pedigree_tls_reloads_total", map[string]string{"result": "ok"}, 1)
	wantSample(t, fams, "pedigree_tls_reloads_total", map[string]string{"result": "error"}, float64(failures))
	wantSample(t, fams, "pedigree_tls_certificate_not_after_timestamp_seconds", nil, float64(second.NotAfter.Unix()))

	t.Run("SIGHUP", func(t *testing.T) {
		dir := t.TempDir()
		certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
		ca.issue(t, 3, certFile, keyFile)
		url, stderr := startTLSServer(t, ca, "--tls-cert", certFile, "--tls-key", keyFile, "--tls-reload-interval", "1h")
		ca.issue(t, 4, certFile, keyFile)
		if got := servedSerial(t, ca, url); got != 3 {
			t.Fatalf("before SIGHUP the server shows certificate %d, want 3 (it checks the files hourly)", got)
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Skipf("cannot signal this process: %v", err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for servedSerial(t, ca, url) != 4 {
			if time.Now().After(deadline) {
				t.Fatalf("SIGHUP did not reload:\n%s", stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(stderr.String(), "trigger=SIGHUP") {
			t.Errorf("the reload was not logged as SIGHUP's:\n%s", stderr)
		}
	})
}

// TestOperatorMetricsOnPostgres: on PostgreSQL too, a restarted server counts the stored samples
// by origin and generation in the database, and times the writes' wait for the log's sequencer.
func TestOperatorMetricsOnPostgres(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := context.Background()
	dir := t.TempDir()
	srv := startServer(t, dir, "--db", dsn)
	must[[]client.IngestedSample](t)(srv.Client(srv.Key(registry.RoleIngest)).IngestBatch(ctx, humans("Postgres", 7), ""))
	fams := scrape(t, srv.Client(""))
	if n, _ := sample(fams, "pedigree_store_write_wait_seconds", nil); n < 2 {
		t.Errorf("pedigree_store_write_wait_seconds counted %v writes, want at least 2 (a key, a batch)", n)
	}
	srv.Stop()

	srv = startServer(t, dir, "--db", dsn)
	deadline := time.Now().Add(30 * time.Second)
	for {
		fams = scrape(t, srv.Client(""))
		if _, ok := sample(fams, "pedigree_samples", nil); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sample count after 30 s:\n%s", srv.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	wantSample(t, fams, "pedigree_samples", map[string]string{"origin": "human", "generation": "0"}, 7)
	wantSample(t, fams, "pedigree_log_leaves", nil, logSize(t, srv.Admin()))
}
