package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pedigreeml/pedigree/api"
	"github.com/prometheus/client_golang/prometheus"
)

// exposure is the configuration of a server that serves beyond loopback: TLS, the per-key rate
// limits and the reverse proxies it trusts.
type exposure struct {
	TLSCert        string        // PEM certificate chain; with TLSKey, serve HTTPS
	TLSKey         string        // PEM private key
	TLSReload      time.Duration // how often to look for new certificate files
	RateLimits     api.RateLimits
	TrustedProxies []*net.IPNet
}

// register adds the flags of x to f and returns what checks them once parsed.
func (x *exposure) register(f *flags) func() error {
	var reload, writes, expensive, proxies string
	f.string(&x.TLSCert, "tls-cert", "", "serve HTTPS with this PEM certificate (chain); needs --tls-key; reloaded on SIGHUP and when the file changes")
	f.string(&x.TLSKey, "tls-key", "", "the PEM private key of --tls-cert")
	f.string(&reload, "tls-reload-interval", "10s", "how often to check --tls-cert and --tls-key for new contents")
	f.string(&writes, "rate-limit-writes", "", `per-key limits on writes, by role: ROLE=N/s:BURST entries, comma-separated (unit s, m or h; "off" for none); a limit without ROLE= applies to ingest and auditor keys (default `+limitsText(api.DefaultRateLimits().Write)+")")
	f.string(&expensive, "rate-limit-expensive", "", `per-key limits on mix builds, exports, lineage and reports, by role, as --rate-limit-writes (default `+limitsText(api.DefaultRateLimits().Expensive)+")")
	f.string(&proxies, "trusted-proxies", "", "comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For names the client in the request log")
	return func() error {
		if (x.TLSCert == "") != (x.TLSKey == "") {
			return &usageError{"--tls-cert and --tls-key go together: give both or neither"}
		}
		d, err := time.ParseDuration(reload)
		if err != nil || d <= 0 {
			return &usageError{"--tls-reload-interval must be a positive duration such as 10s"}
		}
		x.TLSReload = d
		x.RateLimits = api.DefaultRateLimits()
		if err := api.ParseRoleRateLimits(writes, x.RateLimits.Write); err != nil {
			return &usageError{"--rate-limit-writes: " + err.Error()}
		}
		if err := api.ParseRoleRateLimits(expensive, x.RateLimits.Expensive); err != nil {
			return &usageError{"--rate-limit-expensive: " + err.Error()}
		}
		for p := range strings.SplitSeq(proxies, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			if !strings.Contains(p, "/") {
				if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
					p += "/32"
				} else {
					p += "/128"
				}
			}
			_, n, err := net.ParseCIDR(p)
			if err != nil {
				return &usageError{fmt.Sprintf("--trusted-proxies: %q is not an address or a CIDR range", p)}
			}
			x.TrustedProxies = append(x.TrustedProxies, n)
		}
		return nil
	}
}

// limitsText writes a role's limits for a flag's help.
func limitsText(m map[string]api.RateLimit) string {
	var parts []string
	for _, role := range []string{"ingest", "auditor", "admin"} {
		parts = append(parts, role+"="+m[role].String())
	}
	return strings.Join(parts, ",")
}

// certReloader holds the server's certificate and swaps in a new one when the files change or the
// process gets SIGHUP. A pair that fails to load (unreadable, not PEM, a key that does not match
// the certificate) is logged and the old certificate stays.
type certReloader struct {
	certFile, keyFile string
	logger            *slog.Logger

	cert atomic.Pointer[tls.Certificate]

	mu         sync.Mutex // serializes reloads
	loaded     [32]byte   // digest of the files' contents that cert came from
	lastFailed [32]byte   // digest of the last contents that failed to load
	failedSeen int        // how many loads in a row found those contents

	reloads  *prometheus.CounterVec
	notAfter prometheus.Gauge

	hup chan os.Signal // SIGHUP, from the start: a reload asked for early is not lost, nor fatal
}

// newCertReloader loads the key pair, or says why it cannot.
func newCertReloader(certFile, keyFile string, logger *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, logger: logger,
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pedigree_tls_reloads_total",
			Help: "Loads of a changed TLS certificate, by result: ok, or error (the old certificate stays).",
		}, []string{"result"}),
		notAfter: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pedigree_tls_certificate_not_after_timestamp_seconds",
			Help: "When the served TLS certificate expires (Unix time).",
		}),
	}
	if _, _, err := r.reload(); err != nil {
		return nil, err
	}
	r.hup = make(chan os.Signal, 1)
	signal.Notify(r.hup, syscall.SIGHUP)
	return r, nil
}

// stop stops the reloader's interest in SIGHUP.
func (r *certReloader) stop() { signal.Stop(r.hup) }

// collectors are the reloader's series, for /metrics.
func (r *certReloader) collectors() []prometheus.Collector {
	return []prometheus.Collector{r.reloads, r.notAfter}
}

// reload loads the files if their contents changed since the last load. changed says whether a
// new certificate is now served; seen, on failure, how many loads in a row found these same failing
// contents.
func (r *certReloader) reload() (changed bool, seen int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	certPEM, err := os.ReadFile(r.certFile)
	if err != nil {
		return false, 0, fmt.Errorf("--tls-cert: %w", err)
	}
	keyPEM, err := os.ReadFile(r.keyFile)
	if err != nil {
		return false, 0, fmt.Errorf("--tls-key: %w", err)
	}
	h := sha256.New()
	h.Write(certPEM)
	h.Write([]byte{0})
	h.Write(keyPEM)
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	if r.cert.Load() != nil && sum == r.loaded {
		return false, 0, nil
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err == nil && (cert.Leaf == nil || !bytes.Equal(cert.Leaf.Raw, cert.Certificate[0])) {
		err = errors.New("the certificate does not parse")
	}
	if err != nil {
		if sum == r.lastFailed {
			r.failedSeen++
		} else {
			r.lastFailed, r.failedSeen = sum, 1
		}
		return false, r.failedSeen, fmt.Errorf("--tls-cert and --tls-key: %w", err)
	}
	r.cert.Store(&cert)
	r.loaded, r.failedSeen = sum, 0
	r.notAfter.Set(float64(cert.Leaf.NotAfter.Unix()))
	return true, 0, nil
}

// getCertificate serves the current certificate to every handshake.
func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cert.Load(), nil
}

// config is the server's TLS configuration: TLS 1.2 at least, Go's default cipher suites (which
// offer only AEAD suites with forward secrecy for TLS 1.2) and curves, HTTP/2 and HTTP/1.1.
func (r *certReloader) config() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.getCertificate, NextProtos: []string{"h2", "http/1.1"}}
}

// watch reloads the certificate on SIGHUP and when the files change (checked every interval), until
// ctx ends.
func (r *certReloader) watch(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.hup:
			r.logged("SIGHUP", true)
		case <-tick.C:
			r.logged("the files changed", false)
		}
	}
}

// logged reloads and says what happened: a new certificate, or a failure. A failure the files'
// change found is reported once per failing contents, and only when a second check finds them
// still the same: a pair caught half-written (a new certificate beside the old key) is not an error
// but a moment in a rotation. A reload an operator asked for reports at once.
func (r *certReloader) logged(why string, asked bool) {
	changed, seen, err := r.reload()
	switch {
	case err != nil && (asked || seen == 2):
		r.reloads.WithLabelValues("error").Inc()
		r.logger.Error("reloading the TLS certificate failed; still serving the previous one", "trigger", why, "err", err)
	case err != nil:
	case changed:
		r.reloads.WithLabelValues("ok").Inc()
		leaf := r.cert.Load().Leaf
		r.logger.Info("TLS certificate reloaded", "trigger", why, "subject", leaf.Subject.String(),
			"dns_names", strings.Join(leaf.DNSNames, ","), "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	case asked:
		r.logger.Info("TLS certificate unchanged", "trigger", why)
	}
}

// serveOn serves srv on ln, over TLS when certs is set.
func serveOn(srv *http.Server, ln net.Listener, certs *certReloader) error {
	if certs == nil {
		return srv.Serve(ln)
	}
	srv.TLSConfig = certs.config()
	return srv.ServeTLS(ln, "", "")
}
