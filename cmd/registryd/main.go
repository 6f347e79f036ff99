// Command registryd is Pedigree's server and command-line tool: serve the registry, create API keys,
// ingest files of samples, and verify the tamper-evident log.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "registryd:", err)
		os.Exit(exitCode(err))
	}
}
