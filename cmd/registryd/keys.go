package main

import (
	"context"
	"fmt"
	"io"

	"github.com/pedigreeml/pedigree/registry"
)

// keysCreateCommand creates a key directly in the database, so it works with no server running and
// while one runs on the same data directory. The key alone goes to stdout, for scripts.
func keysCreateCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config
	var role string
	f := newFlags("keys create", getenv, stderr)
	cfg.register(f, false)
	f.StringVar(&role, "role", "", "role of the new key: ingest, auditor or admin")
	if err := f.parse(args); err != nil {
		return err
	}
	if role == "" {
		return &usageError{"--role is required (ingest, auditor or admin)"}
	}
	store, err := openStore(ctx, &cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	key, rec, err := (&registry.Service{Store: store}).CreateKey(ctx, role)
	if err != nil {
		return fmt.Errorf("create key: %s", registry.ErrorMessage(err))
	}
	fmt.Fprintln(stdout, key)
	fmt.Fprintf(stderr, "created %s key %s\n", rec.Role, rec.ID)
	return nil
}
