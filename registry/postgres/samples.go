package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/leaves"
)

// sampleColumns is the column list every sample read selects, in scanSample's order.
const sampleColumns = `id, text, content_sha256, identity_sha256, origin, model_id, model, prompt_id, dataset,
	source_kind, source_name, source_uri, license, metadata, generation, generation_basis,
	tokens, mtld, toxicity, metrics_version, toxicity_scorer, created_at, log_index`

// InsertSQL is the statement that inserts one sample row from SampleArgs, for benchmarks' raw
// baseline.
const InsertSQL = `INSERT INTO samples (` + sampleColumns + `) VALUES
	($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23)`

// insertSamplesSQL inserts any number of samples in one statement: each column travels as an
// array, in sampleColumns order, and unnest turns the arrays into rows. One statement text for
// every batch size keeps it prepared once per connection.
const insertSamplesSQL = `INSERT INTO samples (` + sampleColumns + `)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
		$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::int[],
		$16::text[], $17::int[], $18::float8[], $19::float8[], $20::text[], $21::text[], $22::bigint[],
		$23::bigint[])`

// SampleArgs returns the insert arguments of a sample in sampleColumns order. Benchmarks use it to
// insert the same rows raw.
func SampleArgs(s *registry.Sample) []any {
	var meta *string
	if len(s.Metadata) > 0 {
		m := string(s.Metadata)
		meta = &m
	}
	return []any{s.ID, s.Text, s.ContentSHA256, s.IdentitySHA256, s.Origin, nullable(s.ModelID), nullable(s.Model),
		nullable(s.PromptID), s.Dataset, s.Source.Kind, s.Source.Name, s.Source.URI, s.Source.License, meta,
		s.Generation, s.GenerationBasis, s.Metrics.Tokens, s.Metrics.MTLD, s.Metrics.Toxicity, s.Metrics.Version,
		s.Metrics.ToxicityScorer, millis(s.CreatedAt), s.LogIndex}
}

// sampleArrays returns the columns of samples as arrays, in sampleColumns order, for
// insertSamplesSQL.
func sampleArrays(samples []*registry.Sample) []any {
	n := len(samples)
	var (
		ids, texts, contents, identities, origins = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		modelIDs, models, prompts, metas          = make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
		datasets, kinds, names, uris, licenses    = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		generations, tokens                       = make([]int, n), make([]int, n)
		bases, versions, scorers                  = make([]string, n), make([]string, n), make([]string, n)
		mtlds                                     = make([]float64, n)
		toxicities                                = make([]*float64, n)
		created, logIndexes                       = make([]int64, n), make([]int64, n)
	)
	for i, s := range samples {
		ids[i], texts[i], contents[i], identities[i], origins[i] = s.ID, s.Text, s.ContentSHA256, s.IdentitySHA256, s.Origin
		modelIDs[i], models[i], prompts[i] = nullable(s.ModelID), nullable(s.Model), nullable(s.PromptID)
		if len(s.Metadata) > 0 {
			m := string(s.Metadata)
			metas[i] = &m
		}
		datasets[i], kinds[i], names[i], uris[i], licenses[i] = s.Dataset, s.Source.Kind, s.Source.Name, s.Source.URI, s.Source.License
		generations[i], bases[i] = s.Generation, s.GenerationBasis
		tokens[i], mtlds[i], toxicities[i] = s.Metrics.Tokens, s.Metrics.MTLD, s.Metrics.Toxicity
		versions[i], scorers[i] = s.Metrics.Version, s.Metrics.ToxicityScorer
		created[i], logIndexes[i] = millis(s.CreatedAt), s.LogIndex
	}
	return []any{ids, texts, contents, identities, origins, modelIDs, models, prompts, datasets, kinds, names, uris,
		licenses, metas, generations, bases, tokens, mtlds, toxicities, versions, scorers, created, logIndexes}
}

func scanSample(sc interface{ Scan(...any) error }) (*registry.Sample, error) {
	var (
		s                            registry.Sample
		modelID, model, prompt, meta *string
		created                      int64
	)
	err := sc.Scan(&s.ID, &s.Text, &s.ContentSHA256, &s.IdentitySHA256, &s.Origin, &modelID, &model, &prompt, &s.Dataset,
		&s.Source.Kind, &s.Source.Name, &s.Source.URI, &s.Source.License, &meta, &s.Generation, &s.GenerationBasis,
		&s.Metrics.Tokens, &s.Metrics.MTLD, &s.Metrics.Toxicity, &s.Metrics.Version, &s.Metrics.ToxicityScorer, &created, &s.LogIndex)
	if err != nil {
		return nil, err
	}
	s.ModelID, s.Model, s.PromptID = deref(modelID), deref(model), deref(prompt)
	if meta != nil {
		s.Metadata = json.RawMessage(*meta)
	}
	s.CreatedAt = fromMillis(created)
	s.Parents = []string{}
	return &s, nil
}

// Resolve implements registry.Store.
func (s *Store) Resolve(ctx context.Context, sampleIDs, modelRefs []string) (*registry.Resolution, error) {
	res := &registry.Resolution{
		Samples: make(map[string]registry.GenerationFact, len(sampleIDs)),
		Models:  make(map[string]*registry.Model, len(modelRefs)),
	}
	if len(sampleIDs) > 0 {
		rows, err := s.pool.Query(ctx, "SELECT id, generation, generation_basis FROM samples WHERE id = ANY($1)", sampleIDs)
		if err != nil {
			return nil, fmt.Errorf("resolve samples: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var f registry.GenerationFact
			if err := rows.Scan(&id, &f.Generation, &f.Basis); err != nil {
				return nil, fmt.Errorf("resolve samples: %w", err)
			}
			res.Samples[id] = f
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("resolve samples: %w", err)
		}
	}
	for _, ref := range modelRefs {
		m, err := getModel(ctx, s.pool, ref)
		if registry.ErrorCode(err) == registry.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		res.Models[ref] = m
	}
	return res, nil
}

// lookupPairs runs query with list as $1 and puts each (key, value) row it returns into into.
func lookupPairs(ctx context.Context, q queryer, query string, list []string, into map[string]string) error {
	if len(list) == 0 {
		return nil
	}
	rows, err := q.Query(ctx, query, list)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		into[k] = v
	}
	return rows.Err()
}

func lookupIdentities(ctx context.Context, q queryer, identities []string, into map[string]string) error {
	err := lookupPairs(ctx, q, "SELECT identity_sha256, id FROM samples WHERE identity_sha256 = ANY($1)", identities, into)
	if err != nil {
		return fmt.Errorf("lookup identities: %w", err)
	}
	return nil
}

func lookupModelText(ctx context.Context, q queryer, hashes []string, into map[string]string) error {
	err := lookupPairs(ctx, q, `SELECT content_sha256, min(id) FROM samples
		WHERE origin = 'model' AND content_sha256 = ANY($1) GROUP BY content_sha256`, hashes, into)
	if err != nil {
		return fmt.Errorf("lookup model text: %w", err)
	}
	return nil
}

// InsertSamples implements registry.Store. The idempotency record, the duplicate and the
// provenance checks are all read after the sequencer lock, so concurrent writers on any instance
// cannot both pass them.
func (s *Store) InsertSamples(ctx context.Context, req registry.InsertSamples) (*registry.InsertedSamples, error) {
	var out *registry.InsertedSamples
	err := s.write(ctx, func(tx pgx.Tx, log *logWriter) error {
		if req.Idempotency != nil {
			replay, err := replayIdempotent(ctx, tx, req.Idempotency)
			if err != nil {
				return err
			}
			if replay != nil {
				results, err := samplesByIDs(ctx, tx, replay.IDs)
				if err != nil {
					return err
				}
				out = registry.Replay(replay, results)
				return nil
			}
			if len(req.Samples) == 0 {
				return registry.Errorf(registry.EUNPROCESSABLE, "nothing to ingest")
			}
		}
		var err error
		out, err = registry.InsertBatch(ctx, batchTx{tx, log}, req.Samples)
		if err != nil {
			return err
		}
		if req.Idempotency != nil {
			r := registry.IdempotentResult{}
			for _, res := range out.Results {
				r.IDs = append(r.IDs, res.Sample.ID)
				r.Duplicate = append(r.Duplicate, res.Duplicate)
			}
			return recordIdempotent(ctx, tx, log, req.Idempotency, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// batchTx adapts a write transaction to registry.BatchTx.
type batchTx struct {
	tx  pgx.Tx
	log *logWriter
}

func (b batchTx) LookupIdentities(ctx context.Context, ids []string) (map[string]string, error) {
	m := map[string]string{}
	return m, lookupIdentities(ctx, b.tx, ids, m)
}

func (b batchTx) LookupModelText(ctx context.Context, hashes []string) (map[string]string, error) {
	m := map[string]string{}
	return m, lookupModelText(ctx, b.tx, hashes, m)
}

func (b batchTx) WriteSamples(ctx context.Context, s []*registry.Sample) error {
	return writeSamples(ctx, b.tx, b.log, s)
}

func (b batchTx) ReadSamples(ctx context.Context, ids []string) ([]*registry.Sample, error) {
	return samplesByIDs(ctx, b.tx, ids)
}

func (b batchTx) Rank(ctx context.Context, s []*registry.Sample) error { return rank(ctx, b.tx, s) }

// writeSamples inserts rows, lineage edges and log leaves: one statement per table.
func writeSamples(ctx context.Context, tx pgx.Tx, log *logWriter, samples []*registry.Sample) error {
	for _, smp := range samples {
		leaf, err := leaves.Sample(smp)
		if err != nil {
			return fmt.Errorf("log leaf of sample %s: %w", smp.ID, err)
		}
		if smp.LogIndex, err = log.add(ledger.KindSample, smp.ID, leaf); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, insertSamplesSQL, sampleArrays(samples)...); err != nil {
		return fmt.Errorf("insert samples: %w", err)
	}
	return writeEdges(ctx, tx, samples)
}

func writeEdges(ctx context.Context, tx pgx.Tx, samples []*registry.Sample) error {
	var children, parents, kinds []string
	for _, smp := range samples {
		for _, p := range smp.Parents {
			kind := registry.EdgeKind(smp, p)
			children, parents, kinds = append(children, smp.ID), append(parents, p), append(kinds, kind)
		}
	}
	if len(children) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO edges (child_id, parent_id, kind)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[])`, children, parents, kinds); err != nil {
		return fmt.Errorf("insert edges: %w", err)
	}
	return nil
}

// samplesByIDs reads samples with their parents and best-of-k ranks, in the order of ids.
func samplesByIDs(ctx context.Context, q queryer, ids []string) ([]*registry.Sample, error) {
	byID := make(map[string]*registry.Sample, len(ids))
	rows, err := q.Query(ctx, "SELECT "+sampleColumns+" FROM samples WHERE id = ANY($1)", ids)
	if err != nil {
		return nil, fmt.Errorf("read samples: %w", err)
	}
	for rows.Next() {
		smp, err := scanSample(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("read samples: %w", err)
		}
		byID[smp.ID] = smp
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read samples: %w", err)
	}
	out := make([]*registry.Sample, 0, len(ids))
	for _, id := range ids {
		smp, ok := byID[id]
		if !ok {
			return nil, registry.Errorf(registry.ENOTFOUND, "sample %s not found", id)
		}
		out = append(out, smp)
	}
	if err := decorate(ctx, q, out); err != nil {
		return nil, err
	}
	return out, nil
}

// decorate fills parents and best-of-k ranks of samples.
func decorate(ctx context.Context, q queryer, samples []*registry.Sample) error {
	if len(samples) == 0 {
		return nil
	}
	if err := parents(ctx, q, samples); err != nil {
		return err
	}
	return rank(ctx, q, samples)
}

// parents fills the parents of samples, sorted by id as the service sorts them.
func parents(ctx context.Context, q queryer, samples []*registry.Sample) error {
	if len(samples) == 0 {
		return nil
	}
	byID := make(map[string]*registry.Sample, len(samples))
	ids := make([]string, 0, len(samples))
	for _, s := range samples {
		if _, ok := byID[s.ID]; !ok {
			ids = append(ids, s.ID)
		}
		byID[s.ID] = s
	}
	rows, err := q.Query(ctx, "SELECT child_id, parent_id, kind FROM edges WHERE child_id = ANY($1) ORDER BY child_id, parent_id", ids)
	if err != nil {
		return fmt.Errorf("read parents: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c, p, kind string
		if err := rows.Scan(&c, &p, &kind); err != nil {
			return fmt.Errorf("read parents: %w", err)
		}
		if err := registry.CheckEdge(byID[c], p, kind); err != nil {
			return err
		}
		byID[c].Parents = append(byID[c].Parents, p)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read parents: %w", err)
	}
	return nil
}

// The ranking rules of best-of-k, shared by sample reads and the candidates endpoint: rank 1 is the
// highest MTLD, the most tokens, the lowest toxicity (unscored last); ties break by sample id. Ranks
// are derived when read, never stored, so an ingest rewrites no other sample's row.
var rankOrder = map[string]string{
	registry.ObjectiveMTLD:     "mtld DESC, id",
	registry.ObjectiveLength:   "tokens DESC, id",
	registry.ObjectiveToxicity: "toxicity IS NULL, toxicity, id",
}

var rankScore = map[string]string{
	registry.ObjectiveMTLD:     "mtld",
	registry.ObjectiveLength:   "tokens::float8",
	registry.ObjectiveToxicity: "toxicity",
}

const rankSQL = `SELECT id,
	count(*) OVER (PARTITION BY prompt_id),
	row_number() OVER (PARTITION BY prompt_id ORDER BY mtld DESC, id),
	row_number() OVER (PARTITION BY prompt_id ORDER BY tokens DESC, id),
	row_number() OVER (PARTITION BY prompt_id ORDER BY toxicity IS NULL, toxicity, id)
	FROM samples WHERE prompt_id = ANY($1)`

// rank fills the best-of-k ranks of the samples that answer a prompt.
func rank(ctx context.Context, q queryer, samples []*registry.Sample) error {
	byID := make(map[string]*registry.Sample, len(samples))
	promptSet := map[string]bool{}
	for _, s := range samples {
		if s.PromptID != "" {
			byID[s.ID] = s
			promptSet[s.PromptID] = true
		}
	}
	if len(promptSet) == 0 {
		return nil
	}
	prompts := make([]string, 0, len(promptSet))
	for p := range promptSet {
		prompts = append(prompts, p)
	}
	sort.Strings(prompts)
	rows, err := q.Query(ctx, rankSQL, prompts)
	if err != nil {
		return fmt.Errorf("read ranks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var b registry.BestOfK
		if err := rows.Scan(&id, &b.K, &b.Rank.MTLD, &b.Rank.Length, &b.Rank.Toxicity); err != nil {
			return fmt.Errorf("read ranks: %w", err)
		}
		if smp, ok := byID[id]; ok {
			bk := b
			smp.BestOfK = &bk
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read ranks: %w", err)
	}
	return nil
}

// GetSample implements registry.Store.
func (s *Store) GetSample(ctx context.Context, id string) (*registry.Sample, error) {
	if !registry.ValidID(id) {
		return nil, registry.Errorf(registry.ENOTFOUND, "sample %s not found", id)
	}
	out, err := samplesByIDs(ctx, s.pool, []string{id})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// ListSamples implements registry.Store.
func (s *Store) ListSamples(ctx context.Context, f registry.SampleFilter) ([]*registry.Sample, error) {
	if !storable(f.After) {
		return nil, invalidCursor()
	}
	if !storable(f.Origin, f.ModelID, f.Dataset, f.PromptID) {
		return nil, nil
	}
	var where []string
	var args []any
	cond := func(c string, v any) {
		args = append(args, v)
		where = append(where, c+" $"+strconv.Itoa(len(args)))
	}
	if f.Origin != "" {
		cond("origin =", f.Origin)
	}
	if f.ModelID != "" {
		cond("model_id =", f.ModelID)
	}
	if f.Dataset != "" {
		cond("dataset =", f.Dataset)
	}
	if f.PromptID != "" {
		cond("prompt_id =", f.PromptID)
	}
	if f.MinGeneration != nil {
		cond("generation >=", *f.MinGeneration)
	}
	if f.MaxGeneration != nil {
		cond("generation <=", *f.MaxGeneration)
	}
	if f.After != "" {
		cond("id >", f.After)
	}
	q := "SELECT " + sampleColumns + " FROM samples"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit)
	q += " ORDER BY id LIMIT $" + strconv.Itoa(len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list samples: %w", err)
	}
	var out []*registry.Sample
	for rows.Next() {
		smp, err := scanSample(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list samples: %w", err)
		}
		out = append(out, smp)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list samples: %w", err)
	}
	if err := decorate(ctx, s.pool, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Candidates implements registry.Store.
func (s *Store) Candidates(ctx context.Context, promptID, objective, modelID string) (*registry.Candidates, error) {
	order, ok := rankOrder[objective]
	if !ok {
		return nil, registry.FieldErrorf("objective", "must be one of mtld, length, toxicity")
	}
	if _, err := s.GetSample(ctx, promptID); err != nil {
		return nil, err
	}
	out := &registry.Candidates{PromptID: promptID, Objective: objective, Candidates: []registry.Candidate{}}
	if !storable(modelID) {
		return out, nil
	}
	q := "SELECT id, coalesce(model, ''), " + rankScore[objective] + ", row_number() OVER (ORDER BY " + order + ") AS r FROM samples WHERE prompt_id = $1"
	args := []any{promptID}
	if modelID != "" {
		q += " AND model_id = $2"
		args = append(args, modelID)
	}
	rows, err := s.pool.Query(ctx, q+" ORDER BY r", args...)
	if err != nil {
		return nil, fmt.Errorf("candidates: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c registry.Candidate
		if err := rows.Scan(&c.ID, &c.Model, &c.Score, &c.Rank); err != nil {
			return nil, fmt.Errorf("candidates: %w", err)
		}
		out.Candidates = append(out.Candidates, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("candidates: %w", err)
	}
	return out, nil
}

func replayIdempotent(ctx context.Context, q queryer, idem *registry.Idempotency) (*registry.IdempotentResult, error) {
	prev, err := idempotent(ctx, q, idem.Scope, idem.Key)
	if err != nil || prev == nil {
		return nil, err
	}
	if prev.RequestSHA256 != idem.RequestSHA256 {
		return nil, registry.Errorf(registry.EUNPROCESSABLE, "the Idempotency-Key %q was already used with a different request", idem.Key)
	}
	return prev, nil
}

func idempotent(ctx context.Context, q queryer, scope, key string) (*registry.IdempotentResult, error) {
	if !storable(scope, key) {
		return nil, nil
	}
	var hash, result string
	var index, created int64
	err := q.QueryRow(ctx, "SELECT request_sha256, result, log_index, created_at FROM idempotency WHERE scope = $1 AND key = $2", scope, key).Scan(&hash, &result, &index, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("idempotency lookup: %w", err)
	}
	r := &registry.IdempotentResult{RequestSHA256: hash, LogIndex: index, CreatedAt: fromMillis(created)}
	if err := json.Unmarshal([]byte(result), r); err != nil {
		return nil, fmt.Errorf("idempotency record: %w", err)
	}
	return r, nil
}

// recordIdempotent stores the result of an idempotent write with its log leaf.
func recordIdempotent(ctx context.Context, tx pgx.Tx, log *logWriter, idem *registry.Idempotency, r registry.IdempotentResult) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	now := time.Now()
	leaf, err := leaves.Idempotency(idem, &r, now)
	if err != nil {
		return err
	}
	id := leaves.IdempotencyID(idem.Scope, idem.Key)
	idx, err := log.add(ledger.KindIdempotency, id, leaf)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, "INSERT INTO idempotency (scope, key, request_sha256, result, created_at, log_index, record_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
		idem.Scope, idem.Key, idem.RequestSHA256, string(b), now.UnixMilli(), idx, id)
	if err != nil {
		return fmt.Errorf("record idempotency: %w", err)
	}
	return nil
}

// Idempotent implements registry.Store.
func (s *Store) Idempotent(ctx context.Context, scope, key string) (*registry.IdempotentResult, error) {
	return idempotent(ctx, s.pool, scope, key)
}
