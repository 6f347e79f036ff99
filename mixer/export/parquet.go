package export

import (
	"io"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/pedigreeml/pedigree/registry"
)

// The Parquet file's layout. The columns are those of the jsonl format, typed: strings are UTF-8
// BYTE_ARRAY (String logical type), generation and tokens INT64, mtld and toxicity DOUBLE, parents a
// LIST of strings; a value that is null in JSON is an optional column. source and metrics are nested
// groups, as they are nested objects in JSON, so that pyarrow and datasets read them as struct
// columns with the same field names: a reader selects metrics.toxicity, or flattens the file with
// pyarrow's Table.flatten() into source.kind, metrics.mtld, … The text column comes last, so that a
// reader of the provenance alone skips the bulk of the file.
type parquetRow struct {
	ID              string         `parquet:"id"`
	ExternalID      *string        `parquet:"external_id"`
	Origin          string         `parquet:"origin,dict"`
	Model           *string        `parquet:"model,dict"`
	Generation      int64          `parquet:"generation"`
	GenerationBasis string         `parquet:"generation_basis,dict"`
	Dataset         *string        `parquet:"dataset,dict"`
	Source          parquetSource  `parquet:"source"`
	Parents         []string       `parquet:"parents,list"`
	PromptID        *string        `parquet:"prompt_id"`
	Metrics         parquetMetrics `parquet:"metrics"`
	CollectedAt     *time.Time     `parquet:"collected_at,timestamp(millisecond)"`
	Text            string         `parquet:"text"`
}

type parquetSource struct {
	Kind    string  `parquet:"kind,dict"`
	Name    *string `parquet:"name,dict"`
	URI     *string `parquet:"uri,dict"`
	License *string `parquet:"license,dict"`
}

type parquetMetrics struct {
	Tokens         int64    `parquet:"tokens"`
	MTLD           float64  `parquet:"mtld"`
	Toxicity       *float64 `parquet:"toxicity"`
	Version        string   `parquet:"metrics_version,dict"`
	ToxicityScorer string   `parquet:"toxicity_scorer,dict"`
}

// A row group is flushed every RowGroupRows rows, or sooner once its texts add up to RowGroupBytes:
// the writer holds one row group's pages in memory, so these two bound the memory of an export
// (texts are up to 1 MiB each). Rows are handed to the Parquet writer in batches of batchRows.
const (
	RowGroupRows  = 10_000
	RowGroupBytes = 32 << 20
	batchRows     = 64
	batchBytes    = 4 << 20
)

// Parquet key-value metadata keys that name the exported mix.
const (
	MetaMixID          = "pedigree.mix_id"
	MetaManifestSHA256 = "pedigree.manifest_sha256"
)

// parquetWriter writes samples as one Parquet file, flushing a row group every RowGroupRows rows
// or RowGroupBytes bytes of text.
type parquetWriter struct {
	w          *parquet.GenericWriter[parquetRow]
	batch      []parquetRow
	batchBytes int
	groupRows  int
	groupBytes int
}

func newParquet(w io.Writer, opts Options) *parquetWriter {
	options := []parquet.WriterOption{
		parquet.Compression(&parquet.Snappy),
		// A fixed creator, not the build's: the bytes of an export (and so the SHA-256 that the
		// Croissant description states) depend only on the mix, not on how registryd was built.
		parquet.CreatedBy("pedigree", "1", "export"),
	}
	if m := opts.Mix; m != nil {
		options = append(options, parquet.KeyValueMetadata(MetaMixID, m.ID),
			parquet.KeyValueMetadata(MetaManifestSHA256, m.ManifestSHA256))
	}
	return &parquetWriter{w: parquet.NewGenericWriter[parquetRow](w, options...), batch: make([]parquetRow, 0, batchRows)}
}

// Write implements Writer.
func (p *parquetWriter) Write(s *registry.Sample) error {
	prov := NewProvenance(s)
	row := parquetRow{ID: prov.ID, ExternalID: prov.ExternalID, Origin: prov.Origin, Model: prov.Model, Generation: int64(prov.Generation),
		GenerationBasis: prov.GenerationBasis, Dataset: prov.Dataset,
		Source:   parquetSource{Kind: prov.Source.Kind, Name: prov.Source.Name, URI: prov.Source.URI, License: prov.Source.License},
		Parents:  prov.Parents,
		PromptID: prov.PromptID,
		Metrics: parquetMetrics{Tokens: int64(s.Metrics.Tokens), MTLD: s.Metrics.MTLD, Toxicity: s.Metrics.Toxicity,
			Version: s.Metrics.Version, ToxicityScorer: s.Metrics.ToxicityScorer},
		CollectedAt: prov.CollectedAt,
		Text:        s.Text,
	}
	p.batch = append(p.batch, row)
	p.batchBytes += len(s.Text)
	if len(p.batch) >= batchRows || p.batchBytes >= batchBytes {
		return p.writeBatch()
	}
	return nil
}

// writeBatch hands the batch to the Parquet writer, and flushes the row group when it is full.
func (p *parquetWriter) writeBatch() error {
	if len(p.batch) > 0 {
		if _, err := p.w.Write(p.batch); err != nil {
			return err
		}
		p.groupRows += len(p.batch)
		p.groupBytes += p.batchBytes
		clear(p.batch) // drop the texts now, not when the slots are reused
		p.batch, p.batchBytes = p.batch[:0], 0
	}
	if p.groupRows >= RowGroupRows || p.groupBytes >= RowGroupBytes {
		p.groupRows, p.groupBytes = 0, 0
		return p.w.Flush()
	}
	return nil
}

// Close implements Writer: the last row group and the footer.
func (p *parquetWriter) Close() error {
	if err := p.writeBatch(); err != nil {
		return err
	}
	return p.w.Close()
}

// parquetSchema is the schema of the Parquet format, for tests and documentation.
func parquetSchema() string { return parquet.SchemaOf(parquetRow{}).String() }
