package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/registry"
)

const reportUsage = "usage: registryd report check --model REF | registryd report disclosure --model REF --file FILE|- | " +
	"registryd report get (--model REF | --mix ID) [--format json|md|html]"

// reportCommand runs the EU AI Act summary's subcommands.
func reportCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{reportUsage}
	}
	switch args[0] {
	case "check":
		return reportCheck(ctx, args[1:], getenv, stdout, stderr)
	case "disclosure":
		return reportDisclosure(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "get":
		return reportGet(ctx, args[1:], getenv, stdout, stderr)
	}
	return &usageError{reportUsage}
}

// notPublishable is reportCheck's failure: the summary lacks required fields (exit status 1).
type notPublishable struct {
	model   string
	missing int
}

func (e *notPublishable) Error() string {
	return fmt.Sprintf("the public summary of %s is not publishable: %d required fields are missing", e.model, e.missing)
}

// reportCheck lists every required field a model's summary still lacks and fails while any does.
func reportCheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var server, key, model string
	f := newFlags("report check", getenv, stderr)
	f.string(&server, "server", "http://127.0.0.1:8080", "the registry's URL")
	f.string(&key, "key", "", "an API key with the auditor role")
	f.string(&model, "model", "", "the model, by id or name@version")
	if err := f.parse(args); err != nil {
		return err
	}
	if key == "" {
		return &usageError{"--key (or REGISTRYD_KEY) is required: an API key with the auditor role"}
	}
	if model == "" {
		return &usageError{"--model is required"}
	}
	c, err := client.New(server, key).EUAIActCompleteness(ctx, model)
	if err != nil {
		return err
	}
	if c.Publishable {
		fmt.Fprintf(stdout, "%s: publishable: every field the template requires is filled\n", c.Model)
		return nil
	}
	fmt.Fprintf(stdout, "%s: %d required fields missing\n", c.Model, len(c.Missing))
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SECTION\tFIELD\tFILLED BY")
	for _, m := range c.Missing {
		fmt.Fprintf(w, "%s\t%s\t%s\n", m.Section, m.Field, m.Fill)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return &notPublishable{model: c.Model, missing: len(c.Missing)}
}

// reportDisclosure states a model's disclosure from a JSON file, as PUT /v1/models/{id}/disclosure
// takes it.
func reportDisclosure(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	var server, key, model, file string
	f := newFlags("report disclosure", getenv, stderr)
	serverFlags(f, &server, &key)
	f.string(&model, "model", "", "the model, by id or name@version")
	f.string(&file, "file", "", "the disclosure as JSON (a file, or - for standard input)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := needKey(key); err != nil {
		return err
	}
	if model == "" || file == "" {
		return &usageError{"--model and --file are required"}
	}
	var body []byte
	var err error
	if file == "-" {
		body, err = io.ReadAll(stdin)
	} else {
		body, err = os.ReadFile(file)
	}
	if err != nil {
		return err
	}
	var d registry.NewDisclosure
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	got, _, err := client.New(server, key).PutDisclosure(ctx, model, d)
	if err != nil {
		return err
	}
	return printJSON(stdout, got)
}

// reportGet writes a summary in one of its formats.
func reportGet(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var server, key, model, mix, format string
	f := newFlags("report get", getenv, stderr)
	f.string(&server, "server", "http://127.0.0.1:8080", "the registry's URL")
	f.string(&key, "key", "", "an API key with the auditor role")
	f.string(&model, "model", "", "the model, by id or name@version")
	f.string(&mix, "mix", "", "a mix id, instead of a model")
	f.string(&format, "format", "md", "json, md (Markdown) or html")
	if err := f.parse(args); err != nil {
		return err
	}
	if key == "" {
		return &usageError{"--key (or REGISTRYD_KEY) is required: an API key with the auditor role"}
	}
	accept := map[string]string{"json": "application/json", "md": "text/markdown", "html": "text/html"}[format]
	if accept == "" {
		return &usageError{"--format must be json, md or html"}
	}
	if (model == "") == (mix == "") {
		return &usageError{"give exactly one of --model and --mix"}
	}
	body, err := client.New(server, key).EUAIActReport(ctx, model, mix, accept)
	if err != nil {
		return err
	}
	_, err = stdout.Write(body)
	return err
}
