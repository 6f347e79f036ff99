// Package export writes a mix's samples in training-ready formats and describes the mix for the
// places training data is published: JSON Lines with every provenance column, chat JSON Lines (a user
// and an assistant turn per sample that answers a prompt), Parquet with typed columns, a Hugging Face
// dataset card and Croissant 1.1 JSON-LD.
//
// The writers take one sample at a time and hold at most a bounded batch (a Parquet row group), so
// an export streams in constant memory whatever the mix's size. The package reads nothing: the
// caller streams the samples (through a checked store, in manifest order) and, for the chat format,
// looks prompts up.
package export

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/pedigreeml/pedigree/registry"
)

// The formats of an export.
const (
	FormatJSONL   = "jsonl"
	FormatChat    = "chat"
	FormatParquet = "parquet"
)

// Formats lists the export formats, the default first.
var Formats = []string{FormatJSONL, FormatChat, FormatParquet}

// ContentType returns the media type a format is served as.
func ContentType(format string) string {
	if format == FormatParquet {
		return "application/vnd.apache.parquet"
	}
	return "application/jsonl"
}

// FileName returns the file name a format is offered under for mix id.
func FileName(id, format string) string {
	switch format {
	case FormatChat:
		return "mix-" + id + ".chat.jsonl"
	case FormatParquet:
		return "mix-" + id + ".parquet"
	}
	return "mix-" + id + ".jsonl"
}

// PromptFunc returns the text of the prompt sample id. The chat format calls it once for each
// sample that answers a prompt; it must read the prompt through the same checks as the export.
type PromptFunc func(id string) (string, error)

// Options configure a writer.
type Options struct {
	// Mix is the mix being exported; Parquet files carry its id and manifest hash in their
	// key-value metadata.
	Mix *registry.Mix
	// Prompt looks prompts up for the chat format; required there.
	Prompt PromptFunc
}

// A Writer writes samples in one format. Close completes the output (a Parquet file's last row
// group and footer); after an error the output is incomplete, and Close must not be called, so that
// a Parquet file lacks its footer and is refused by every reader.
type Writer interface {
	Write(s *registry.Sample) error
	Close() error
}

// New returns a writer of format to w.
func New(format string, w io.Writer, opts Options) (Writer, error) {
	switch format {
	case FormatJSONL:
		return newJSONL(w), nil
	case FormatChat:
		if opts.Prompt == nil {
			return nil, fmt.Errorf("export: the chat format needs a prompt lookup")
		}
		return &chatWriter{jsonLines: newJSONL(w), prompt: opts.Prompt}, nil
	case FormatParquet:
		return newParquet(w, opts), nil
	}
	return nil, fmt.Errorf("export: unknown format %q", format)
}

// jsonLines writes one JSON object a line, buffered; HTML characters are not escaped.
type jsonLines struct {
	bw  *bufio.Writer
	enc *json.Encoder
}

func newJSONL(w io.Writer) *jsonLines {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &jsonLines{bw: bw, enc: enc}
}

// Write implements Writer.
func (j *jsonLines) Write(s *registry.Sample) error {
	return j.enc.Encode(Row{Provenance: NewProvenance(s), Text: s.Text})
}

// Close implements Writer.
func (j *jsonLines) Close() error { return j.bw.Flush() }

// chatWriter writes the samples that answer a prompt as chat rows and skips the others.
type chatWriter struct {
	*jsonLines
	prompt PromptFunc
}

// Write implements Writer.
func (c *chatWriter) Write(s *registry.Sample) error {
	if s.PromptID == "" {
		return nil
	}
	prompt, err := c.prompt(s.PromptID)
	if err != nil {
		return fmt.Errorf("prompt %s of sample %s: %w", s.PromptID, s.ID, err)
	}
	return c.enc.Encode(ChatRow{
		Messages:   []Message{{Role: "user", Content: prompt}, {Role: "assistant", Content: s.Text}},
		Provenance: NewProvenance(s),
	})
}
