package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

const usage = `registryd — Pedigree, the provenance registry and training-mix policy enforcer

Usage:
  registryd serve   [--addr 127.0.0.1:8080] [--data-dir ./data] [--db PATH|postgres://…]
                    [--toxicity-scorer lexicon|tei:URL|openai:URL|URL] [--checkpoint-mirror DIR|URL]
                    [--audit-rate 5000] [--audit-interval 10m] [--tls-cert FILE --tls-key FILE]
                    [--rate-limit-writes ROLE=N/s:BURST] [--rate-limit-expensive …] [--openlineage-url URL]
  registryd keys create --role ingest|auditor|admin [--data-dir …|--db …]
  registryd ingest  FILE.jsonl --server URL --key INGEST_KEY [--batch 1000] [--ids-out FILE]
  registryd models create --name NAME --version V [--provider P] [--declared-generation N | --trained-on MIX,…]
  registryd mixes create --size N [--policy P] [--seed S] [--best-of-k mtld] [--datasets a,b] [--base-model M] [--dry-run] | --request FILE
  registryd mixes export --mix ID [--format jsonl|chat|parquet|card|croissant] [--out FILE]
  registryd report check --model REF | report disclosure --model REF --file FILE | report get --model REF [--format md]
  registryd verify  --server URL --key AUDITOR_KEY --log-key VERIFIER_KEY [--index I,J] [--mix ID] [--sample N] [--state FILE]
  registryd audit   [--data-dir ./data] [--db PATH|postgres://…] [--checkpoint-mirror DIR|URL]
  registryd rescore --server URL --key ADMIN_KEY [--limit 100] [--after INDEX] [--only-null] [--dry-run]
  registryd version

Every flag can also be set in the environment as REGISTRYD_<FLAG> (for example REGISTRYD_DATA_DIR).
Run "registryd COMMAND --help" for a command's flags.
`

// usageError is a mistake in the command line; it exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// run is the whole program: main only wires the process's arguments, environment and streams to it,
// so tests can run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &usageError{"a command is required"}
	}
	err := runCommand(ctx, args, getenv, stdin, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil // the flags were printed
	}
	return err
}

func runCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	switch args[0] {
	case "serve":
		return serveCommand(ctx, args[1:], getenv, stdout, stderr)
	case "keys":
		if len(args) < 2 || args[1] != "create" {
			return &usageError{`usage: registryd keys create --role ingest|auditor|admin`}
		}
		return keysCreateCommand(ctx, args[2:], getenv, stdout, stderr)
	case "ingest":
		return ingestCommand(ctx, args[1:], getenv, stdout, stderr)
	case "models":
		return modelsCommand(ctx, args[1:], getenv, stdout, stderr)
	case "mixes":
		return mixesCommand(ctx, args[1:], getenv, stdout, stderr)
	case "verify":
		return verifyCommand(ctx, args[1:], getenv, stdout, stderr)
	case "report":
		return reportCommand(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "audit":
		return auditCommand(ctx, args[1:], getenv, stdout, stderr)
	case "rescore":
		return rescoreCommand(ctx, args[1:], getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "registryd", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return &usageError{fmt.Sprintf("unknown command %q (commands: serve, keys create, ingest, models create, mixes create, mixes export, verify, report, audit, rescore, version)", args[0])}
}

// flags is a flag set whose flags default to REGISTRYD_* environment variables.
type flags struct {
	*flag.FlagSet
	getenv func(string) string
}

func newFlags(name string, getenv func(string) string, stderr io.Writer) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &flags{FlagSet: fs, getenv: getenv}
}

func envName(flagName string) string {
	return "REGISTRYD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (f *flags) string(p *string, name, def, help string) {
	if v := f.getenv(envName(name)); v != "" {
		def = v
	}
	f.StringVar(p, name, def, help+" (env "+envName(name)+")")
}

// errHelp is what a command returns once --help has printed its flags: not a failure.
var errHelp = errors.New("help shown")

// parse parses args, turning flag errors into usage errors. No argument may be left over.
func (f *flags) parse(args []string) error {
	_, err := f.parseArgs(args, 0)
	return err
}

// parseArgs parses flags and exactly n positional arguments, in any order, and returns the
// positional ones.
func (f *flags) parseArgs(args []string, n int) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, &usageError{err.Error()}
		}
		if f.NArg() == 0 {
			break
		}
		pos = append(pos, f.Arg(0))
		args = f.Args()[1:]
	}
	if len(pos) > n {
		return nil, &usageError{fmt.Sprintf("unexpected argument %q", pos[n])}
	}
	if len(pos) < n {
		return nil, &usageError{fmt.Sprintf("%d argument(s) missing", n-len(pos))}
	}
	return pos, nil
}
