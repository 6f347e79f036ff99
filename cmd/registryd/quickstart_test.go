package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/registry"
)

// quickstartCLIEnv is set in the environment of the quickstart's shell, where "./registryd" runs this
// test binary as the command (see TestQuickstartCLI).
const quickstartCLIEnv = "PEDIGREE_QUICKSTART_CLI"

// readmeAddr is the address the README's Quickstart uses; the test replaces it with its server's.
const readmeAddr = "http://127.0.0.1:8080"

// TestQuickstart runs the Quickstart section of README.md as written: its ```sh blocks, in bash, in a
// temporary directory, against a real server. Three substitutions, and only these, stand between the
// README and the run:
//
//   - The first block's "go run ./cmd/registryd serve [flags]" becomes a server started through run()
//     on a free port, with the README's flags and its ./data in the temporary directory; that block's
//     "go test ./..." is the suite this test runs in, and is not run again.
//   - "go build -o registryd ./cmd/registryd" becomes a ./registryd that runs this test binary's
//     main() (TestQuickstartCLI), the same code the build would produce, without a minute of linking.
//   - Every "http://127.0.0.1:8080" in the blocks becomes the test server's URL.
//
// examples/ is linked into the directory, as the README runs at the root of the checkout. Any other
// "go" command in the Quickstart fails the test: it would need a substitution of its own. The
// script runs with "set -euo pipefail", so every command must succeed; the test then checks that the
// mix was admitted and that the outputs the README shows are the ones the run printed.
func TestQuickstart(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("the Quickstart is a shell session; no bash here")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("the Quickstart fetches the report with curl; no curl here")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := quickstartBlocks(t, string(readme))
	if len(blocks) < 2 {
		t.Fatalf("the Quickstart has %d sh blocks; want the server's, then the session's", len(blocks))
	}
	serveArgs := quickstartServe(t, blocks[0])

	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(root, "examples"), filepath.Join(dir, "examples")); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, filepath.Join(dir, "data"), serveArgs...)

	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	built := false
	for _, b := range blocks[1:] {
		for _, line := range strings.Split(b, "\n") {
			code := strings.TrimSpace(stripComment(line))
			if code == "go build -o registryd ./cmd/registryd" {
				writeCLI(t, filepath.Join(dir, "registryd"))
				built = true
				continue
			}
			if strings.HasPrefix(code, "go ") {
				t.Fatalf("the Quickstart runs %q; this test knows how to stand in only for go build -o registryd ./cmd/registryd", code)
			}
			script.WriteString(line + "\n")
		}
	}
	if !built {
		t.Fatal("the Quickstart never builds ./registryd (go build -o registryd ./cmd/registryd)")
	}
	body := script.String()
	if !strings.Contains(body, readmeAddr) {
		t.Fatalf("the Quickstart's commands never name %s: the test cannot point them at its server", readmeAddr)
	}
	body = strings.ReplaceAll(body, readmeAddr, srv.URL)
	if strings.Contains(body, ":8080") || strings.Contains(body, "localhost") {
		t.Fatal("the Quickstart names the server in a way the test does not replace: it would reach a server on this machine's port 8080")
	}

	home := filepath.Join(dir, "home") // nothing the session writes leaves the temporary directory
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "-x", "-c", body)
	cmd.Dir = dir
	cmd.Env = append(quickstartEnv(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), quickstartCLIEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the Quickstart failed: %v\n--- trace and errors:\n%s\n--- output:\n%s", err, stderr.String(), stdout.String())
	}
	out := stdout.String()

	// The mix the session built is stored, admitted by the default policy, and as the README says.
	var printed registry.Mix
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "mix.json")), &printed); err != nil {
		t.Fatalf("mix.json: %v", err)
	}
	auditor := srv.Client(srv.Key(registry.RoleAuditor))
	mix, err := auditor.GetMix(ctx, printed.ID)
	if err != nil {
		t.Fatalf("the mix the Quickstart printed: %v", err)
	}
	decision, err := auditor.GetDecision(ctx, mix.DecisionID)
	if err != nil {
		t.Fatal(err)
	}
	if !decision.Allowed || mix.Policy.Name != "default" || mix.Stats.Human < 100 || mix.Stats.Synthetic == 0 || len(mix.Stats.Models) != 2 {
		t.Fatalf("the Quickstart's mix: allowed %v under %s, %d human and %d synthetic samples from %v; want an admitted mix of the default policy with both teachers",
			decision.Allowed, mix.Policy.Name, mix.Stats.Human, mix.Stats.Synthetic, mix.Stats.Models)
	}
	if mix.Strategy.Name != registry.StrategyBestOfK || mix.ManifestSHA256 != printed.ManifestSHA256 {
		t.Fatalf("stored mix %+v differs from the printed one %+v", mix.Strategy, printed.Strategy)
	}
	section := strings.Join(blocks, "\n")
	for _, want := range []string{
		fmt.Sprintf(`"size": %d`, mix.Size),
		fmt.Sprintf(`"human": %d, "synthetic": %d`, mix.Stats.Human, mix.Stats.Synthetic),
		fmt.Sprintf(`"pool": %d`, mix.Stats.Pool),
		fmt.Sprintf(": %d exported samples match the manifest hash in log entry %d", mix.Size, mix.LogIndex),
	} {
		if !strings.Contains(section, want) {
			t.Errorf("the README's Quickstart does not show %s, which the run printed", want)
		}
	}
	for m, n := range mix.Stats.Models {
		if want := fmt.Sprintf("%q: %d", m, n); !strings.Contains(section, want) {
			t.Errorf("the README's Quickstart does not show %s, which the run printed", want)
		}
	}

	// Each step's output: the ingest line as the README shows it, the export, the report, verify.
	ingested := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "ingested ") {
			ingested = line
		}
	}
	if ingested == "" || !hasLine(section, "# "+ingested) {
		t.Errorf("registryd ingest printed %q; the README shows another line", ingested)
	}
	export := strings.Split(strings.TrimSpace(string(readFile(t, filepath.Join(dir, "mix.jsonl")))), "\n")
	if len(export) != mix.Size {
		t.Errorf("mix.jsonl holds %d lines; the mix %d samples", len(export), mix.Size)
	}
	report := string(readFile(t, filepath.Join(dir, "report.md")))
	for _, want := range []string{"# Public summary of training content: mix " + mix.ID, "### 2.5 Synthetic AI-generated data", "godoc-trigram@1", "godoc-bigram@1", mix.ManifestSHA256} {
		if !strings.Contains(report, want) {
			t.Errorf("report.md does not hold %q", want)
		}
	}
	if want := fmt.Sprintf("ok   mix %s: %d exported samples match the manifest hash in log entry %d", mix.ID, mix.Size, mix.LogIndex); !strings.Contains(out, want) {
		t.Errorf("registryd verify did not print %q:\n%s", want, out)
	}
	// The log as verify saw it (the auditor key above came later), as the README shows it.
	var entries int64
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "ok   checkpoint "); ok {
			if _, n, ok := strings.Cut(rest, ": "); ok {
				fmt.Sscanf(n, "%d entries", &entries)
			}
		}
	}
	if entries == 0 || !strings.Contains(section, fmt.Sprintf("# ok   checkpoint pedigree-registry: %d entries", entries)) {
		t.Errorf("registryd verify saw %d log entries; the README shows another number", entries)
	}
	if _, err := os.Stat(filepath.Join(dir, "verify.checkpoint")); err != nil {
		t.Errorf("verify kept no state file: %v", err)
	}
}

// TestQuickstartCLI is the registryd command of TestQuickstart's shell session: with
// PEDIGREE_QUICKSTART_CLI=1 it runs main() on the arguments after "--" and exits as the binary
// would. Otherwise it does nothing.
func TestQuickstartCLI(t *testing.T) {
	if os.Getenv(quickstartCLIEnv) != "1" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Args = append([]string{"registryd"}, args...)
	main()
	os.Exit(0)
}

// writeCLI writes the session's ./registryd: this test binary, running TestQuickstartCLI.
func writeCLI(t *testing.T, path string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sh := fmt.Sprintf("#!/bin/sh\nexec '%s' -test.run='^TestQuickstartCLI$' -- \"$@\"\n", strings.ReplaceAll(self, "'", `'\''`))
	if err := os.WriteFile(path, []byte(sh), 0o755); err != nil {
		t.Fatal(err)
	}
}

// quickstartEnv is this process's environment without REGISTRYD_* variables, HOME and
// XDG_CONFIG_HOME, so that the session sees only what the README sets.
func quickstartEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "REGISTRYD_") || k == "HOME" || k == "XDG_CONFIG_HOME" || k == quickstartCLIEnv {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// quickstartBlocks returns the bodies of the ```sh blocks of README's Quickstart section.
func quickstartBlocks(t *testing.T, readme string) []string {
	t.Helper()
	_, section, ok := strings.Cut(readme, "\n## Quickstart\n")
	if !ok {
		t.Fatal("README.md has no Quickstart section")
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var blocks []string
	for {
		_, rest, ok := strings.Cut(section, "```sh\n")
		if !ok {
			return blocks
		}
		body, after, ok := strings.Cut(rest, "```")
		if !ok {
			t.Fatal("an unclosed ```sh block in the Quickstart")
		}
		blocks = append(blocks, strings.TrimSuffix(body, "\n"))
		section = after
	}
}

// quickstartServe reads the first block: the command that starts the server (its flags are
// returned) and go test ./... . Anything else in it fails the test.
func quickstartServe(t *testing.T, block string) []string {
	t.Helper()
	var args []string
	served := false
	for _, line := range strings.Split(block, "\n") {
		f := strings.Fields(stripComment(line))
		switch {
		case len(f) == 0:
		case len(f) >= 4 && f[0] == "go" && f[1] == "run" && f[2] == "./cmd/registryd" && f[3] == "serve":
			args, served = f[4:], true
		case strings.Join(f, " ") == "go test ./...":
		default:
			t.Fatalf("the Quickstart's first block runs %q; the test knows only the server's command and go test ./...", line)
		}
	}
	if !served {
		t.Fatal("the Quickstart's first block does not start the server with go run ./cmd/registryd serve")
	}
	for _, a := range args {
		if strings.HasPrefix(strings.TrimLeft(a, "-"), "addr") || strings.HasPrefix(strings.TrimLeft(a, "-"), "data-dir") {
			t.Fatalf("the Quickstart starts the server with %s; the test sets the address and data directory itself", a)
		}
	}
	return args
}

// stripComment drops a shell comment: a # at the start of the line or after white space.
func stripComment(line string) string {
	if strings.HasPrefix(strings.TrimSpace(line), "#") {
		return ""
	}
	if i := strings.Index(line, " #"); i >= 0 {
		return line[:i]
	}
	return line
}

// hasLine reports whether text has a line equal to line, white space around it aside.
func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
