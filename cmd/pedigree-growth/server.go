package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// buildRegistryd builds ./cmd/registryd into dir and returns the binary's path.
func buildRegistryd(ctx context.Context, dir string, log io.Writer) (string, error) {
	bin := filepath.Join(dir, "registryd")
	fmt.Fprintln(log, "building registryd (go build ./cmd/registryd) ...")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/pedigreeml/pedigree/cmd/registryd")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build registryd (run from the repository, or pass --registryd): %w\n%s", err, out)
	}
	return bin, nil
}

// server is a registryd serve process this command started.
type server struct {
	url, key string
	pid      int
	startup  time.Duration // from exec until /readyz answered 200
	stop     func() error  // idempotent; safe to defer
}

// stopWait is how long a stopped server may take to shut down (it signs a final checkpoint) before
// it is killed.
const stopWait = 2 * time.Minute

// startServer runs registryd serve on 127.0.0.1:0 with the data directory dir and waits, at most
// timeout, until its readiness endpoint answers 200. The admin key is the one the first start wrote
// to the data directory.
func startServer(ctx context.Context, bin, dir string, extra []string, timeout time.Duration) (*server, error) {
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir}, extra...)
	cmd := exec.Command(bin, args...)
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
	fail := func(err error) (*server, error) {
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
	if err := checkLoopbackURL(base); err != nil {
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
	return &server{url: base, key: strings.TrimSpace(string(key)), pid: cmd.Process.Pid, startup: elapsed, stop: stop}, nil
}

// ready asks /readyz once, within a few seconds.
func ready(ctx context.Context, base string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return false, err
	}
	resp, err := loopbackClient.Do(req)
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

// loopbackClient never goes through a proxy; requests are bounded by their contexts.
var loopbackClient = &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}}

// checkLoopbackURL refuses a server address that is not on loopback.
func checkLoopbackURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("registryd listens on %q: %w", s, err)
	}
	if ip := net.ParseIP(u.Hostname()); u.Scheme != "http" || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("registryd listens on %q, not on plain HTTP on loopback", s)
	}
	return nil
}

// resetPeakRSS resets the process's peak resident set size (VmHWM) to its current one.
func resetPeakRSS(pid int) error {
	return os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0)
}

// peakRSS reads the process's peak resident set size (VmHWM), in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			f := strings.Fields(string(rest))
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("VmHWM: unexpected %q", line)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
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
