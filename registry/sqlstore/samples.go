package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pedigreeml/pedigree/ledger"
	"github.com/pedigreeml/pedigree/registry"
)

// sampleColumns is the column list every sample read selects, in scanSample's order: the columns
// an ingest writes, and the metrics digest a re-score keeps (registry.Sample.IngestMetrics).
const sampleColumns = sampleInsertColumns + `, ingest_metrics`

// sampleInsertColumns is the column list of a new sample's row, in SampleArgs order.
const sampleInsertColumns = `id, text, content_sha256, identity_sha256, origin, model_id, model, prompt_id, dataset,
	source_kind, source_name, source_uri, license, metadata, generation, generation_basis,
	tokens, mtld, toxicity, metrics_version, toxicity_scorer, created_at, log_index,
	norm_sha256, cluster, near_duplicate_of, near_similarity, external_id, collected_at`

const insertSample = `INSERT INTO samples (` + sampleInsertColumns + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

// SampleArgs returns the insert arguments of a sample in sampleInsertColumns order. Benchmarks use it to
// insert the same rows raw.
func SampleArgs(s *registry.Sample) []any {
	var tox any
	if s.Metrics.Toxicity != nil {
		tox = *s.Metrics.Toxicity
	}
	var meta any
	if len(s.Metadata) > 0 {
		meta = string(s.Metadata)
	}
	return []any{s.ID, s.Text, s.ContentSHA256, hexBytes(s.IdentitySHA256), s.Origin, nullString(s.ModelID), nullString(s.Model),
		nullString(s.PromptID), s.Dataset, s.Source.Kind, s.Source.Name, s.Source.URI, s.Source.License, meta,
		s.Generation, s.GenerationBasis, s.Metrics.Tokens, s.Metrics.MTLD, tox, s.Metrics.Version,
		s.Metrics.ToxicityScorer, millis(s.CreatedAt), s.LogIndex,
		hexBytes(s.NormSHA256), clusterArg(s), nullString(s.NearDuplicateOf), nullFloat(s.Similarity), nullString(s.ExternalID),
		nullMillis(s.CollectedAt)}
}

// nullMillis stores an optional time as Unix milliseconds, NULL when absent.
func nullMillis(t *time.Time) any {
	if t == nil {
		return nil
	}
	return millis(*t)
}

// clusterArg stores a sample's cluster, NULL when it is the sample's own.
func clusterArg(s *registry.Sample) any {
	if s.Cluster == s.ID {
		return nil
	}
	return nullString(s.Cluster)
}

func nullFloat(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// InsertSQL is the statement that inserts one sample row, for benchmarks' raw baseline.
const InsertSQL = insertSample

func scanSample(sc interface{ Scan(...any) error }) (*registry.Sample, error) {
	var (
		s                            registry.Sample
		identity, normKey            []byte
		modelID, model, prompt, meta sql.NullString
		cluster, nearOf, external    sql.NullString
		ingestMetrics                sql.NullString
		tox, sim                     sql.NullFloat64
		created                      int64
		collected                    sql.NullInt64
	)
	err := sc.Scan(&s.ID, &s.Text, &s.ContentSHA256, &identity, &s.Origin, &modelID, &model, &prompt, &s.Dataset,
		&s.Source.Kind, &s.Source.Name, &s.Source.URI, &s.Source.License, &meta, &s.Generation, &s.GenerationBasis,
		&s.Metrics.Tokens, &s.Metrics.MTLD, &tox, &s.Metrics.Version, &s.Metrics.ToxicityScorer, &created, &s.LogIndex,
		&normKey, &cluster, &nearOf, &sim, &external, &collected, &ingestMetrics)
	if err != nil {
		return nil, err
	}
	s.ModelID, s.Model, s.PromptID = modelID.String, model.String, prompt.String
	s.IdentitySHA256 = hex.EncodeToString(identity)
	s.NormSHA256 = hex.EncodeToString(normKey)
	s.Cluster, s.NearDuplicateOf, s.ExternalID = cluster.String, nearOf.String, external.String
	s.IngestMetrics = ingestMetrics.String
	if !cluster.Valid {
		s.Cluster = s.ID
	}
	if sim.Valid {
		v := sim.Float64
		s.Similarity = &v
	}
	if meta.Valid {
		s.Metadata = json.RawMessage(meta.String)
	}
	if tox.Valid {
		v := tox.Float64
		s.Metrics.Toxicity = &v
	}
	s.CreatedAt = fromMillis(created)
	if collected.Valid {
		t := fromMillis(collected.Int64)
		s.CollectedAt = &t
	}
	s.Parents = []string{}
	return &s, nil
}

// Resolve implements registry.Store.
func (s *Store) Resolve(ctx context.Context, sampleIDs, modelRefs []string) (*registry.Resolution, error) {
	res := &registry.Resolution{
		Samples: make(map[string]registry.GenerationFact, len(sampleIDs)),
		Models:  make(map[string]*registry.Model, len(modelRefs)),
	}
	err := batches(s.d, storableOnly(sampleIDs), 500, func(ids []string) error {
		cond, args := in(s.d, "id", ids)
		rows, err := s.r.QueryContext(ctx, "SELECT id, generation, generation_basis FROM samples WHERE "+cond, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var f registry.GenerationFact
			if err := rows.Scan(&id, &f.Generation, &f.Basis); err != nil {
				return err
			}
			res.Samples[id] = f
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("resolve samples: %w", err)
	}
	for _, ref := range modelRefs {
		m, err := getModel(ctx, s.r, ref)
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

func lookupIdentities(ctx context.Context, q queryer, identities []string, into map[string]string) error {
	return batches(q.dialect(), identities, 500, func(ids []string) error {
		keys := make([][]byte, len(ids))
		for i, id := range ids {
			keys[i] = hexBytes(id)
		}
		cond, args := in(q.dialect(), "identity_sha256", keys)
		rows, err := q.QueryContext(ctx, "SELECT identity_sha256, id FROM samples WHERE "+cond, args...)
		if err != nil {
			return fmt.Errorf("lookup identities: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var ident []byte
			var id string
			if err := rows.Scan(&ident, &id); err != nil {
				return err
			}
			into[hex.EncodeToString(ident)] = id
		}
		return rows.Err()
	})
}

func lookupModelNorms(ctx context.Context, q queryer, keys []string, into map[string]registry.ModelText) error {
	return batches(q.dialect(), keys, 500, func(part []string) error {
		bs := make([][]byte, len(part))
		for i, k := range part {
			bs[i] = hexBytes(k)
		}
		cond, args := in(q.dialect(), "norm_sha256", bs)
		// The first registered sample with the key (ids are time-ordered), which the partial index on
		// model text finds.
		rows, err := q.QueryContext(ctx, "SELECT norm_sha256, id, cluster FROM samples WHERE origin = 'model' AND "+cond+
			" ORDER BY norm_sha256, id", args...)
		if err != nil {
			return fmt.Errorf("lookup model text: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var key []byte
			var m registry.ModelText
			var cluster sql.NullString
			if err := rows.Scan(&key, &m.ID, &cluster); err != nil {
				return err
			}
			m.Cluster = cluster.String
			if !cluster.Valid {
				m.Cluster = m.ID
			}
			if _, ok := into[hex.EncodeToString(key)]; !ok {
				into[hex.EncodeToString(key)] = m
			}
		}
		return rows.Err()
	})
}

// nearCandidates reads the model samples that hold any of the band keys, with their texts.
func nearCandidates(ctx context.Context, q queryer, bands []int64, into map[int64][]registry.ModelText) error {
	return batches(q.dialect(), bands, 500, func(part []int64) error {
		cond, args := in(q.dialect(), "b.band", part)
		rows, err := q.QueryContext(ctx, "SELECT b.band, s.id, s.cluster, s.text FROM sample_bands b JOIN samples s ON s.log_index = b.log_index WHERE "+
			cond+" ORDER BY b.band, s.id", args...)
		if err != nil {
			return fmt.Errorf("near-duplicate candidates: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var band int64
			var m registry.ModelText
			var cluster sql.NullString
			if err := rows.Scan(&band, &m.ID, &cluster, &m.Text); err != nil {
				return err
			}
			m.Cluster = cluster.String
			if !cluster.Valid {
				m.Cluster = m.ID
			}
			into[band] = append(into[band], m)
		}
		return rows.Err()
	})
}

// Write implements registry.Writer: fn runs in one transaction that holds the log's sequencer, and
// the leaves it appends are written, with their stored hashes and the new head, before it commits.
func (s *Store) Write(ctx context.Context, fn func(registry.Tx) error) error {
	return s.write(ctx, func(tx *txn, log *logWriter) error { return fn(writeTx{tx, log}) })
}

// writeTx is the store's registry.Tx: a transaction and the log it appends to.
type writeTx struct {
	tx  *txn
	log *logWriter
}

var _ registry.Tx = writeTx{}

func (t writeTx) LookupIdentities(ctx context.Context, ids []string) (map[string]string, error) {
	m := map[string]string{}
	return m, lookupIdentities(ctx, t.tx, ids, m)
}

func (t writeTx) LookupModelNorms(ctx context.Context, keys []string) (map[string]registry.ModelText, error) {
	m := map[string]registry.ModelText{}
	return m, lookupModelNorms(ctx, t.tx, keys, m)
}

func (t writeTx) LookupExternal(ctx context.Context, keys []registry.ExternalKey) (map[registry.ExternalKey]registry.ExternalSample, error) {
	return lookupExternal(ctx, t.tx, keys)
}

// LookupExternal implements registry.Store.
func (s *Store) LookupExternal(ctx context.Context, keys []registry.ExternalKey) (map[registry.ExternalKey]registry.ExternalSample, error) {
	return lookupExternal(ctx, s.r, keys)
}

// Identities implements registry.Store.
func (s *Store) Identities(ctx context.Context, identities []string) (map[string]string, error) {
	m := map[string]string{}
	return m, lookupIdentities(ctx, s.r, identities, m)
}

// lookupExternal reads the samples with any of the keys' external ids, keeping those of the keys'
// datasets.
func lookupExternal(ctx context.Context, q queryer, keys []registry.ExternalKey) (map[registry.ExternalKey]registry.ExternalSample, error) {
	out := map[registry.ExternalKey]registry.ExternalSample{}
	want := make(map[registry.ExternalKey]bool, len(keys))
	var ids []string
	for _, k := range keys {
		if !want[k] {
			want[k] = true
			ids = append(ids, k.ExternalID)
		}
	}
	err := batches(q.dialect(), storableOnly(ids), 500, func(part []string) error {
		cond, args := in(q.dialect(), "external_id", part)
		rows, err := q.QueryContext(ctx, "SELECT dataset, external_id, id, identity_sha256, generation, generation_basis FROM samples WHERE "+cond, args...)
		if err != nil {
			return fmt.Errorf("lookup external ids: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var k registry.ExternalKey
			var e registry.ExternalSample
			var ident []byte
			if err := rows.Scan(&k.Dataset, &k.ExternalID, &e.ID, &ident, &e.Generation, &e.Basis); err != nil {
				return err
			}
			if want[k] {
				e.Identity = hex.EncodeToString(ident)
				out[k] = e
			}
		}
		return rows.Err()
	})
	return out, err
}

// NearCandidates implements registry.Store.
// Where the store keeps a band filter, only the keys it may hold are looked up.
func (s *Store) NearCandidates(ctx context.Context, bands []int64) (map[int64][]registry.ModelText, error) {
	m := map[int64][]registry.ModelText{}
	if s.bands != nil {
		var err error
		if bands, err = s.bands.maybe(ctx, s, bands); err != nil {
			return nil, err
		}
		if len(bands) == 0 {
			return m, nil
		}
	}
	return m, nearCandidates(ctx, s.r, bands, m)
}

func (t writeTx) WriteSamples(ctx context.Context, s []*registry.Sample) error {
	return writeSamples(ctx, t.tx, t.log, s)
}

func (t writeTx) ReadSamples(ctx context.Context, ids []string) ([]*registry.Sample, error) {
	return samplesByIDs(ctx, t.tx, ids)
}

func (t writeTx) Rank(ctx context.Context, s []*registry.Sample) error { return rank(ctx, t.tx, s) }

// Idempotent implements registry.Tx.
func (t writeTx) Idempotent(ctx context.Context, scope, key string) (*registry.IdempotentResult, error) {
	return idempotent(ctx, t.tx, scope, key)
}

// WriteIdempotent implements registry.Tx.
func (t writeTx) WriteIdempotent(ctx context.Context, idem *registry.Idempotency, r registry.IdempotentResult) error {
	return recordIdempotent(ctx, t.tx, t.log, idem, r)
}

// writeSamples inserts rows, lineage edges and log leaves.
func writeSamples(ctx context.Context, tx *txn, log *logWriter, samples []*registry.Sample) error {
	for _, smp := range samples {
		leaf, err := smp.Leaf()
		if err != nil {
			return fmt.Errorf("log leaf of sample %s: %w", smp.ID, err)
		}
		if smp.LogIndex, err = log.add(ledger.KindSample, smp.ID, leaf); err != nil {
			return err
		}
	}
	if err := insertRows(ctx, tx, samples); err != nil {
		return err
	}
	keys, err := writeBands(ctx, tx, samples)
	if err != nil {
		return err
	}
	log.bands = append(log.bands, keys...)
	return writeEdges(ctx, tx, samples)
}

// writeBands indexes the near-duplicate band keys of model samples: the texts that human text is
// compared with.
func writeBands(ctx context.Context, tx *txn, samples []*registry.Sample) ([]int64, error) {
	var rows [][]any
	var keys []int64
	for _, smp := range samples {
		if smp.Origin != registry.OriginModel {
			continue
		}
		for _, b := range registry.DistinctBands(smp) {
			rows = append(rows, []any{b, smp.LogIndex})
			keys = append(keys, b)
		}
	}
	return keys, insertMany(ctx, tx, bandsTable, rows)
}

// samplesTable and edgesTable are the targets of a batch's bulk inserts. A sample's row is
// SampleArgs and its statistics group (statgroups.go).
var (
	sampleArgColumns = strings.Split(strings.Join(strings.Fields(sampleInsertColumns), ""), ",")
	samplesTable     = &table{name: "samples", cols: append(slices.Clone(sampleArgColumns), "stat_group"),
		types: []string{"text", "text", "text", "bytea", "text", "text", "text", "text", "text", "text", "text", "text", "text", "text",
			"bigint", "text", "bigint", "float8", "float8", "text", "text", "bigint", "bigint", "bytea", "text", "text", "float8", "text", "bigint",
			"bigint"}}
	bandsTable = &table{name: "sample_bands", cols: []string{"band", "log_index"}, types: []string{"bigint", "bigint"}}
	edgesTable = &table{name: "edges", cols: []string{"child_id", "parent_id", "kind"}, types: []string{"text", "text", "text"}}
)

// insertRows inserts sample rows, each with its statistics group.
func insertRows(ctx context.Context, tx *txn, samples []*registry.Sample) error {
	groups, err := statGroups(ctx, tx, samples)
	if err != nil {
		return err
	}
	rows := make([][]any, len(samples))
	for i, smp := range samples {
		rows[i] = append(SampleArgs(smp), groups[i])
	}
	return insertMany(ctx, tx, samplesTable, rows)
}

// writeEdges inserts the lineage edges of samples, an edge from each parent to its child.
func writeEdges(ctx context.Context, tx *txn, samples []*registry.Sample) error {
	var rows [][]any
	for _, smp := range samples {
		for _, p := range smp.Parents {
			rows = append(rows, []any{smp.ID, p, registry.EdgeKind(smp, p)})
		}
	}
	return insertMany(ctx, tx, edgesTable, rows)
}

// samplesByIDs reads samples with their parents and best-of-k ranks, in the order of ids.
func samplesByIDs(ctx context.Context, q queryer, ids []string) ([]*registry.Sample, error) {
	byID := make(map[string]*registry.Sample, len(ids))
	err := batches(q.dialect(), ids, 500, func(part []string) error {
		cond, args := in(q.dialect(), "id", part)
		rows, err := q.QueryContext(ctx, "SELECT "+sampleColumns+" FROM samples WHERE "+cond, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			smp, err := scanSample(rows)
			if err != nil {
				return err
			}
			byID[smp.ID] = smp
		}
		return rows.Err()
	})
	if err != nil {
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

// GetSamples implements registry.Store.
func (s *Store) GetSamples(ctx context.Context, ids []string) ([]*registry.Sample, error) {
	var out []*registry.Sample
	err := batches(s.d, storableOnly(ids), 500, func(part []string) error {
		cond, args := in(s.d, "id", part)
		rows, err := s.r.QueryContext(ctx, "SELECT "+sampleColumns+" FROM samples WHERE "+cond, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			smp, err := scanSample(rows)
			if err != nil {
				return err
			}
			out = append(out, smp)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read samples: %w", err)
	}
	return out, parents(ctx, s.r, out)
}

// decorate fills parents and best-of-k ranks of samples.
func decorate(ctx context.Context, q queryer, samples []*registry.Sample) error {
	if err := parents(ctx, q, samples); err != nil {
		return err
	}
	return rank(ctx, q, samples)
}

// parents fills the parents of samples.
func parents(ctx context.Context, q queryer, samples []*registry.Sample) error {
	if len(samples) == 0 {
		return nil
	}
	byID := make(map[string]*registry.Sample, len(samples))
	ids := make([]string, 0, len(samples))
	for _, s := range samples {
		byID[s.ID] = s
		ids = append(ids, s.ID)
	}
	err := batches(q.dialect(), ids, 500, func(part []string) error {
		cond, args := in(q.dialect(), "child_id", part)
		rows, err := q.QueryContext(ctx, "SELECT child_id, parent_id, kind FROM edges WHERE "+cond+" ORDER BY child_id, parent_id", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c, p, kind string
			if err := rows.Scan(&c, &p, &kind); err != nil {
				return err
			}
			if err := registry.CheckEdge(byID[c], p, kind); err != nil {
				return err
			}
			byID[c].Parents = append(byID[c].Parents, p)
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("read parents: %w", err)
	}
	return nil
}

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
	prompts := make([]string, 0, len(promptSet))
	for p := range promptSet {
		prompts = append(prompts, p)
	}
	sort.Strings(prompts)
	return batches(q.dialect(), prompts, 200, func(part []string) error {
		cond, args := in(q.dialect(), "prompt_id", part)
		rows, err := q.QueryContext(ctx, rankSQL+" WHERE "+cond, args...)
		if err != nil {
			return fmt.Errorf("read ranks: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var b registry.BestOfK
			if err := rows.Scan(&id, &b.K, &b.Rank.MTLD, &b.Rank.Length, &b.Rank.Toxicity); err != nil {
				return err
			}
			if smp, ok := byID[id]; ok {
				bk := b
				smp.BestOfK = &bk
			}
		}
		return rows.Err()
	})
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
	registry.ObjectiveLength:   "tokens",
	registry.ObjectiveToxicity: "toxicity",
}

const rankSQL = `SELECT id,
	count(*) OVER (PARTITION BY prompt_id),
	row_number() OVER (PARTITION BY prompt_id ORDER BY mtld DESC, id),
	row_number() OVER (PARTITION BY prompt_id ORDER BY tokens DESC, id),
	row_number() OVER (PARTITION BY prompt_id ORDER BY toxicity IS NULL, toxicity, id)
	FROM samples`

// GetSample implements registry.Store.
func (s *Store) GetSample(ctx context.Context, id string) (*registry.Sample, error) {
	if !registry.ValidID(id) {
		return nil, registry.Errorf(registry.ENOTFOUND, "sample %s not found", id)
	}
	out, err := samplesByIDs(ctx, s.r, []string{id})
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
	cond := func(c string, v any) { where = append(where, c); args = append(args, v) }
	if f.Origin != "" {
		cond("origin = ?", f.Origin)
	}
	if f.ModelID != "" {
		cond("model_id = ?", f.ModelID)
	}
	if f.Dataset != "" {
		cond("dataset = ?", f.Dataset)
	}
	if f.PromptID != "" {
		cond("prompt_id = ?", f.PromptID)
	}
	if f.MinGeneration != nil {
		cond("generation >= ?", *f.MinGeneration)
	}
	if f.MaxGeneration != nil {
		cond("generation <= ?", *f.MaxGeneration)
	}
	if f.After != "" {
		cond("id > ?", f.After)
	}
	q := "SELECT " + sampleColumns + " FROM samples"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id LIMIT ?"
	args = append(args, f.Limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list samples: %w", err)
	}
	var out []*registry.Sample
	for rows.Next() {
		smp, err := scanSample(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, smp)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := decorate(ctx, s.r, out); err != nil {
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
	q := "SELECT id, coalesce(model, ''), " + rankScore[objective] + ", row_number() OVER (ORDER BY " + order + ") AS r FROM samples WHERE prompt_id = ?"
	args := []any{promptID}
	if modelID != "" {
		q += " AND model_id = ?"
		args = append(args, modelID)
	}
	rows, err := s.r.QueryContext(ctx, q+" ORDER BY r", args...)
	if err != nil {
		return nil, fmt.Errorf("candidates: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c registry.Candidate
		var score sql.NullFloat64
		if err := rows.Scan(&c.ID, &c.Model, &score, &c.Rank); err != nil {
			return nil, err
		}
		if score.Valid {
			v := score.Float64
			c.Score = &v
		}
		out.Candidates = append(out.Candidates, c)
	}
	return out, rows.Err()
}

func idempotent(ctx context.Context, q queryer, scope, key string) (*registry.IdempotentResult, error) {
	if !storable(scope, key) {
		return nil, nil
	}
	var hash, result string
	var index, created int64
	err := q.QueryRowContext(ctx, "SELECT request_sha256, result, log_index, created_at FROM idempotency WHERE scope = ? AND key = ?", scope, key).Scan(&hash, &result, &index, &created)
	if errors.Is(err, sql.ErrNoRows) {
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
func recordIdempotent(ctx context.Context, tx *txn, log *logWriter, idem *registry.Idempotency, r registry.IdempotentResult) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	now := time.Now()
	leaf, err := registry.IdempotencyLeaf(idem, &r, now)
	if err != nil {
		return err
	}
	id := registry.IdempotencyID(idem.Scope, idem.Key)
	idx, err := log.add(ledger.KindIdempotency, id, leaf)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO idempotency (scope, key, request_sha256, result, created_at, log_index, record_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
		idem.Scope, idem.Key, idem.RequestSHA256, string(b), now.UnixMilli(), idx, id)
	if err != nil {
		return fmt.Errorf("record idempotency: %w", err)
	}
	return nil
}

// Idempotent implements registry.Store.
func (s *Store) Idempotent(ctx context.Context, scope, key string) (*registry.IdempotentResult, error) {
	return idempotent(ctx, s.r, scope, key)
}

// hexBytes is the 32 bytes of a SHA-256 the registry writes in hex: stored hashes that only the
// registry reads are kept binary, half the bytes in the row and in its index. A string that is not
// hex (no registry hash) is kept as its own bytes, so that it matches nothing.
func hexBytes(h string) []byte {
	b, err := hex.DecodeString(h)
	if err != nil {
		return []byte(h)
	}
	return b
}
