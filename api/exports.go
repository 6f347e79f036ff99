package api

import (
	"context"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/pedigreeml/pedigree/mixer/export"
	"github.com/pedigreeml/pedigree/registry"
)

// exportMixAs streams the mix's samples in a training-ready format (?format=jsonl, the default,
// chat or parquet), in manifest order and constant memory, through the checked store: each text is
// checked against its content hash as it streams, the ids and hashes against the logged manifest at
// the end, and each prompt of the chat format is read and proven like any sample.
//
// Errors found before the first byte are problems. After it, the status is sent and the only
// honest signal left is to break the response: the connection is aborted, so the client sees a
// truncated body (and a Parquet file without its footer, which no reader opens), never a complete
// looking file with samples missing. The error is logged.
func (s *Server) exportMixAs(c echo.Context) error {
	q, err := newQuery(c, "format")
	if err != nil {
		return err
	}
	format := q.oneOf("format", export.FormatJSONL, export.Formats...)
	if err := q.done(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	m, err := s.store.GetMix(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, export.ContentType(format))
	w.Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+export.FileName(m.ID, format)+`"`)
	w.WriteHeader(http.StatusOK)
	// From here on the status is sent: whatever goes wrong, a panic included, must break the
	// response rather than end it as if the export were complete.
	defer func() {
		if r := recover(); r != nil {
			if r != http.ErrAbortHandler {
				s.log.ErrorContext(ctx, "mix export panicked", "mix", m.ID, "format", format, "panic", r, "stack", string(debug.Stack()))
			}
			panic(http.ErrAbortHandler)
		}
	}()
	// The client learns at once that the export started, before the first rows are read. Flush the
	// underlying writer: echo's Response.Flush panics where flushing is not supported, and such a
	// writer sends the headers with the first bytes anyway.
	_ = http.NewResponseController(w.Writer).Flush()
	prompts := &promptChunks{s: s, ctx: ctx, texts: map[string]string{}}
	ew, err := export.New(format, w, export.Options{Mix: m, Prompt: prompts.text})
	if err == nil {
		alive := keepWriting(w.Writer)
		write := ew.Write
		if format == export.FormatChat {
			prompts.write = ew.Write
			write = prompts.add
		}
		err = s.store.ExportMix(ctx, m.ID, func(smp *registry.Sample) error {
			alive()
			return write(smp)
		})
		if err == nil && format == export.FormatChat {
			err = prompts.flush()
		}
	}
	if err == nil {
		err = ew.Close()
	}
	if err != nil {
		s.log.ErrorContext(ctx, "mix export cut short", "mix", m.ID, "format", format,
			"request_id", w.Header().Get(echo.HeaderXRequestID), "err", err)
		panic(http.ErrAbortHandler) // net/http closes the connection without ending the body
	}
	return nil
}

// exportStall is how long an export may make no progress before the server gives up writing it.
// The server's WriteTimeout bounds a whole response, which a large mix outlasts (a 10,000,000-sample
// mix at 5,000 rows a second takes half an hour), so the export moves its write deadline forward
// as it goes instead: a client that stops reading is still dropped, one that keeps reading is not.
const exportStall = 5 * time.Minute

// keepWriting returns a function to call for each sample streamed: at most every ten seconds it
// moves the response's write deadline exportStall ahead. Writers that have no deadline ignore it.
func keepWriting(w http.ResponseWriter) func() {
	rc := http.NewResponseController(w)
	var last time.Time
	return func() {
		if now := time.Now(); now.Sub(last) >= 10*time.Second {
			last = now
			_ = rc.SetWriteDeadline(now.Add(exportStall))
		}
	}
}

// promptChunks feeds the chat format its prompts: it holds a chunk of samples, reads and proves all
// their prompts at once through the checked store (GetSamples), then writes the chunk. The export
// holds no more than a chunk and its prompts.
type promptChunks struct {
	s     *Server
	ctx   context.Context
	write func(*registry.Sample) error
	chunk []*registry.Sample
	texts map[string]string // the prompts of the chunk being written
}

// promptChunk is how many samples share one read of their prompts.
const promptChunk = 256

func (p *promptChunks) add(smp *registry.Sample) error {
	if p.chunk = append(p.chunk, smp); len(p.chunk) == promptChunk {
		return p.flush()
	}
	return nil
}

func (p *promptChunks) flush() error {
	clear(p.texts)
	var ids []string
	for _, smp := range p.chunk {
		if smp.PromptID != "" {
			if _, ok := p.texts[smp.PromptID]; !ok {
				p.texts[smp.PromptID] = ""
				ids = append(ids, smp.PromptID)
			}
		}
	}
	if len(ids) > 0 {
		got, err := p.s.store.GetSamples(p.ctx, ids)
		if err != nil {
			return err
		}
		clear(p.texts)
		for _, prompt := range got {
			p.texts[prompt.ID] = prompt.Text
		}
	}
	for _, smp := range p.chunk {
		if err := p.write(smp); err != nil {
			return err
		}
	}
	p.chunk = p.chunk[:0]
	return nil
}

// text is the chat writer's prompt lookup, from the chunk's prompts.
func (p *promptChunks) text(id string) (string, error) {
	t, ok := p.texts[id]
	if !ok {
		return "", registry.Errorf(registry.ENOTFOUND, "sample %s not found", id)
	}
	return t, nil
}

// describedMix gathers what a dataset card and a Croissant description are built from, through the
// checked store: the mix, its decision, its policy version and every model that generated samples
// in it.
func (s *Server) describedMix(ctx context.Context, id, baseURL string) (*export.Description, error) {
	m, err := s.store.GetMix(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &export.Description{Mix: m, BaseURL: baseURL}
	if d.Decision, err = s.store.GetDecision(ctx, m.DecisionID); err != nil {
		return nil, err
	}
	if d.Policy, err = s.store.GetPolicyVersion(ctx, m.Policy.Name, m.Policy.Version); err != nil {
		return nil, err
	}
	for _, ref := range sortedKeys(m.Stats.Models) {
		model, err := s.store.GetModel(ctx, ref)
		if err != nil {
			return nil, err
		}
		d.Models = append(d.Models, model)
	}
	return d, nil
}

// baseURL is the registry's address as the client reached it, for the links a card and a
// Croissant description give.
func baseURL(c echo.Context) string {
	return c.Scheme() + "://" + c.Request().Host
}

// mixCard answers a Hugging Face dataset card (README.md with YAML front matter) for the mix.
func (s *Server) mixCard(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	d, err := s.describedMix(c.Request().Context(), c.Param("id"), baseURL(c))
	if err != nil {
		return err
	}
	card, err := export.Card(d)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "text/markdown; charset=utf-8", card)
}

// mixCroissant answers the mix's Croissant 1.1 JSON-LD description. The checksums of the jsonl and
// parquet downloads it lists are computed by one checked pass over the mix's samples, as an export
// would read them: the description costs about as much as an export.
func (s *Server) mixCroissant(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	d, err := s.describedMix(ctx, c.Param("id"), baseURL(c))
	if err != nil {
		return err
	}
	summer, err := export.NewSummer(export.Options{Mix: d.Mix}, export.FormatJSONL, export.FormatParquet)
	if err != nil {
		return err
	}
	alive := keepWriting(c.Response().Writer) // the answer is written after a pass over the whole mix
	if err := s.store.ExportMix(ctx, d.Mix.ID, func(smp *registry.Sample) error {
		alive()
		return summer.Write(smp)
	}); err != nil {
		return err
	}
	if d.Files, err = summer.Sums(); err != nil {
		return err
	}
	doc, err := export.Croissant(d)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, export.CroissantContentType, doc)
}
