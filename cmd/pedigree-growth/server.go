package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pedigreeml/pedigree/internal/serverproc"
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
type server = serverproc.Server

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
