package api

import (
	"context"
	"encoding/base64"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/pedigreeml/pedigree/registry"
)

// ingested is a sample as an ingest returns it: the record plus whether it already existed.
type ingested struct {
	*registry.Sample
	Duplicate bool `json:"duplicate"`
}

func (s *Server) countIngest(results []registry.IngestResult, replayed bool) []ingested {
	out := make([]ingested, len(results))
	for i, r := range results {
		out[i] = ingested{Sample: r.Sample, Duplicate: r.Duplicate}
		if replayed {
			continue
		}
		s.metrics.sampleIngested(r)
	}
	return out
}

func (s *Server) createSample(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	body, _, err := readBody(c, s.cfg.MaxBodyBytes, typesJSON)
	if err != nil {
		return err
	}
	var in registry.NewSample
	if err := decodeStrict(body, &in, ""); err != nil {
		return err
	}
	idem, err := idempotency(c, body)
	if err != nil {
		return err
	}
	res, err := s.svc.IngestOne(c.Request().Context(), in, idem)
	if err != nil {
		return err
	}
	markReplay(c, res.Replayed)
	out := s.countIngest(res.Results, res.Replayed)
	status := http.StatusCreated
	if out[0].Duplicate {
		status = http.StatusOK
	}
	return c.JSON(status, out[0])
}

// batchBody is the JSON form of a batch.
type batchBody struct {
	Samples []registry.NewSample `json:"samples"`
}

func (s *Server) createSampleBatch(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	body, mt, err := readBody(c, s.cfg.MaxBatchBytes, typesBatch)
	if err != nil {
		return err
	}
	var samples []registry.NewSample
	if contains(typesJSONLines, mt) {
		if samples, err = decodeJSONLines(body); err != nil {
			return err
		}
	} else {
		var b batchBody
		if err := decodeStrict(body, &b, ""); err != nil {
			return err
		}
		samples = b.Samples
	}
	idem, err := idempotency(c, body)
	if err != nil {
		return err
	}
	res, err := s.svc.Ingest(c.Request().Context(), samples, idem)
	if err != nil {
		return err
	}
	markReplay(c, res.Replayed)
	return c.JSON(http.StatusCreated, map[string]any{"samples": s.countIngest(res.Results, res.Replayed)})
}

// markReplay tells the client that a response replays an earlier request with the same
// Idempotency-Key, so that a resumed upload can tell what it wrote from what was already there.
func markReplay(c echo.Context, replayed bool) {
	if replayed {
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
}

func (s *Server) getSample(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	smp, err := s.store.GetSample(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, smp)
}

// page is a list response: the items under their name, and a cursor unless this is the last page.
// Stores are asked for limit+1 items, so that a full last page has no cursor; page trims the extra one.
func page[T any](name string, items []T, limit int, id func(T) string) map[string]any {
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	if items == nil {
		items = []T{}
	}
	out := map[string]any{name: items}
	if more {
		out["next_cursor"] = base64.RawURLEncoding.EncodeToString([]byte(id(items[len(items)-1])))
	}
	return out
}

// listByCursor answers a list route whose only parameters are cursor and limit, from a store method
// that lists records with ids after a given one.
func listByCursor[T any](c echo.Context, name string, list func(ctx context.Context, after string, limit int) ([]T, error), id func(T) string) error {
	q, err := newQuery(c, "cursor", "limit")
	if err != nil {
		return err
	}
	limit := q.intOr("limit", defaultLimit, 1, maxLimit)
	if err := q.done(); err != nil {
		return err
	}
	after, err := cursor(q)
	if err != nil {
		return err
	}
	items, err := list(c.Request().Context(), after, limit+1)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page(name, items, limit, id))
}

// cursor decodes a next_cursor value into the id to list after.
func cursor(q *query) (string, error) {
	s := q.str("cursor")
	if s == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !registry.ValidID(string(b)) {
		return "", registry.FieldErrorf("cursor", "is not a cursor this API returned")
	}
	return string(b), nil
}

const (
	defaultLimit = 100
	maxLimit     = 1000
)

func (s *Server) listSamples(c echo.Context) error {
	q, err := newQuery(c, "origin", "model", "dataset", "prompt_id", "min_generation", "max_generation", "cursor", "limit")
	if err != nil {
		return err
	}
	f := registry.SampleFilter{
		Origin:        q.oneOf("origin", "", registry.OriginHuman, registry.OriginModel),
		Dataset:       q.str("dataset"),
		PromptID:      q.str("prompt_id"),
		MinGeneration: q.intp("min_generation", 0, 1<<30),
		MaxGeneration: q.intp("max_generation", 0, 1<<30),
	}
	limit := q.intOr("limit", defaultLimit, 1, maxLimit)
	f.Limit = limit + 1
	if err := q.done(); err != nil {
		return err
	}
	if f.PromptID != "" && !registry.ValidID(f.PromptID) {
		return registry.FieldErrorf("prompt_id", "is not a sample id")
	}
	if f.After, err = cursor(q); err != nil {
		return err
	}
	if ref := q.str("model"); ref != "" {
		m, err := s.store.GetModel(c.Request().Context(), ref)
		if registry.ErrorCode(err) == registry.ENOTFOUND {
			return registry.FieldErrorf("model", "model %q is not registered", ref)
		}
		if err != nil {
			return err
		}
		f.ModelID = m.ID
	}
	list, err := s.store.ListSamples(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page("samples", list, limit, func(s *registry.Sample) string { return s.ID }))
}

func (s *Server) getLineage(c echo.Context) error {
	q, err := newQuery(c, "direction", "max_depth", "max_nodes")
	if err != nil {
		return err
	}
	dir := q.oneOf("direction", registry.DirectionAncestors, registry.DirectionAncestors, registry.DirectionDescendants, registry.DirectionBoth)
	depth := q.intOr("max_depth", registry.DefaultLineageDepth, 1, registry.MaxLineageDepth)
	nodes := q.intOr("max_nodes", 1000, 1, registry.MaxLineageNodes)
	if err := q.done(); err != nil {
		return err
	}
	l, err := s.store.Lineage(c.Request().Context(), c.Param("id"), dir, depth, nodes)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

func (s *Server) getCandidates(c echo.Context) error {
	q, err := newQuery(c, "objective", "model")
	if err != nil {
		return err
	}
	objective := q.oneOf("objective", registry.ObjectiveMTLD, registry.Objectives...)
	if err := q.done(); err != nil {
		return err
	}
	modelID, modelRef := "", ""
	if ref := q.str("model"); ref != "" {
		m, err := s.store.GetModel(c.Request().Context(), ref)
		if registry.ErrorCode(err) == registry.ENOTFOUND {
			return registry.FieldErrorf("model", "model %q is not registered", ref)
		}
		if err != nil {
			return err
		}
		modelID, modelRef = m.ID, m.Ref()
	}
	list, err := s.store.Candidates(c.Request().Context(), c.Param("id"), objective, modelID)
	if err != nil {
		return err
	}
	list.Model = modelRef
	return c.JSON(http.StatusOK, list)
}

// lookupSamples answers which samples have the given ids, external ids or contents, for the
// ingest role as for auditors: what a pipeline needs to link its own work, not a listing. Each
// sample found is read through the checked store, so it is proven in the log as any other read.
func (s *Server) lookupSamples(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	body, _, err := readBody(c, s.cfg.MaxBodyBytes, typesJSON)
	if err != nil {
		return err
	}
	var l registry.Lookup
	if err := decodeStrict(body, &l, ""); err != nil {
		return err
	}
	out, err := s.svc.Lookup(c.Request().Context(), &l)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"samples": out})
}
