// Package serverproc starts and stops registryd serve processes on loopback for the load and
// growth drivers (cmd/pedigree-load, cmd/pedigree-growth): the address the server prints, a wait for
// its readiness, the admin key of its data directory, and a stop that cannot hang.
package serverproc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Server is a registryd serve process started by Start.
type Server struct {
	URL, Key string        // its base URL and the admin key of its data directory
	PID      int           // its process
	Startup  time.Duration // from exec until /readyz answered 200
	Stop     func() error  // interrupts it and waits; idempotent, safe to defer
}

// stopWait is how long a stopped server may take to shut down (it signs a final checkpoint) before
// it is killed.
const stopWait = 2 * time.Minute

// Start runs registryd serve on 127.0.0.1:0 with the data directory dir and waits, at most
// timeout, until its readiness endpoint answers 200. bin is the registryd binary; "" runs
// "go run ./cmd/registryd" (from the repository's root). The admin key is the one the first start
// wrote to the data directory.
func Start(ctx context.Context, bin, dir string, extra []string, timeout time.Duration) (*Server, error) {
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir}, extra...)
	cmd := exec.Command(bin, args...)
	if bin == "" {
		cmd = exec.Command("go", append([]string{"run", "./cmd/registryd"}, args...)...)
	}
	pr, pw := io.Pipe()
	logs := &tailBuffer{}
	cmd.Stdout, cmd.Stderr = pw, logs
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	waited := make(chan error, 1)
	go func() {
		waited <- cmd.Wait()
		pw.Close()
	}()
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cmd.Process.Signal(os.Interrupt)
			select {
			case err := <-waited:
				if err != nil {
					stopErr = fmt.Errorf("registryd ended with %v: %s", err, logs.tail())
				}
			case <-time.After(stopWait):
				cmd.Process.Kill()
				<-waited
				stopErr = fmt.Errorf("registryd did not stop within %s and was killed", stopWait)
			}
		})
		return stopErr
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				found <- strings.TrimSpace(addr)
				break
			}
		}
		io.Copy(io.Discard, pr)
	}()
	fail := func(err error) (*Server, error) {
		stop()
		return nil, err
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var base string
	select {
	case base = <-found:
	case err := <-waited:
		waited <- err // for stop
		return fail(fmt.Errorf("registryd exited (%v): %s", err, logs.tail()))
	case <-deadline.C:
		return fail(fmt.Errorf("registryd did not start within %s: %s", timeout, logs.tail()))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	if err := CheckLoopbackURL(base); err != nil {
		return fail(err)
	}
	for {
		ok, err := ready(ctx, base)
		if ok {
			break
		}
		select {
		case err := <-waited:
			waited <- err
			return fail(fmt.Errorf("registryd exited (%v): %s", err, logs.tail()))
		case <-deadline.C:
			return fail(fmt.Errorf("registryd did not answer /readyz within %s (last: %v): %s", timeout, err, logs.tail()))
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	elapsed := time.Since(started)
	key, err := os.ReadFile(filepath.Join(dir, "admin.key"))
	if err != nil {
		return fail(err)
	}
	return &Server{URL: base, Key: strings.TrimSpace(string(key)), PID: cmd.Process.Pid, Startup: elapsed, Stop: stop}, nil
}

// ready asks /readyz once, within a few seconds.
func ready(ctx context.Context, base string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return false, err
	}
	resp, err := LoopbackClient.Do(req)
	if err != nil {
		return false, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("/readyz: %s", resp.Status)
	}
	return true, nil
}

// LoopbackClient never goes through a proxy; requests are bounded by their contexts.
var LoopbackClient = &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}}

// CheckLoopbackURL refuses a server address that is not on loopback.
func CheckLoopbackURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("registryd listens on %q: %w", s, err)
	}
	if ip := net.ParseIP(u.Hostname()); u.Scheme != "http" || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("registryd listens on %q, not on plain HTTP on loopback", s)
	}
	return nil
}

// tailBuffer keeps the last few KiB of what a process writes, for an error message.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 16<<10 {
		b.buf = append([]byte(nil), b.buf[len(b.buf)-4<<10:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf[max(0, len(b.buf)-2<<10):])
}
