package export_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/pedigreeml/pedigree/mixer/export"
	"github.com/pedigreeml/pedigree/registry"
)

func ptr[T any](v T) *T { return &v }

// samples returns n samples: every third a human prompt, the others model answers to the prompt
// before them, with parents, licences, sources and toxicities of 0, 0.5, 1 and null in turn.
func samples(n int) []*registry.Sample {
	var out []*registry.Sample
	prompt := ""
	for i := range n {
		s := &registry.Sample{ID: fmt.Sprintf("01980000-0000-7000-8000-%012d", i), Text: fmt.Sprintf("text %d <b>&</b> é", i),
			Origin: registry.OriginHuman, GenerationBasis: registry.BasisHuman, Source: registry.Source{Kind: "other"},
			Metrics: registry.Metrics{Tokens: i, MTLD: float64(i % 3), Version: "1", ToxicityScorer: "lexicon"}}
		switch i % 4 {
		case 0:
			s.Metrics.Toxicity = ptr(0.0)
		case 1:
			s.Metrics.Toxicity = ptr(0.5)
		case 2:
			s.Metrics.Toxicity = ptr(1.0)
		}
		if i%3 == 0 {
			s.Dataset = "prompts"
			s.Source = registry.Source{Kind: "public_dataset", Name: "Prompts", URI: "https://example.org/prompts", License: "CC-BY-4.0"}
			prompt = s.ID
			s.ExternalID = fmt.Sprintf("q%d", i)
		} else {
			s.Origin, s.Model, s.Generation, s.GenerationBasis = registry.OriginModel, "teacher@1", 1, registry.BasisDeclared
			s.Source.Kind = "synthetic"
			s.PromptID, s.Parents = prompt, []string{prompt}
		}
		out = append(out, s)
	}
	return out
}

func write(t *testing.T, format string, smps []*registry.Sample, opts export.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := export.New(format, &buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range smps {
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFloatJSON(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0.0"}, {1, "1.0"}, {-3, "-3.0"}, {0.25, "0.25"}, {1e-7, "1e-7"}, {2.5e-10, "2.5e-10"},
		{123456789, "123456789.0"}, {1e21, "1e+21"}, {0.000001, "0.000001"}, {62.83333333333333, "62.83333333333333"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			got, err := json.Marshal(export.Float(tc.in))
			if err != nil || string(got) != tc.want {
				t.Fatalf("Float(%v) = %s (%v), want %s", tc.in, got, err, tc.want)
			}
			var back float64
			if err := json.Unmarshal(got, &back); err != nil || back != tc.in {
				t.Fatalf("%s reads back as %v (%v)", got, back, err)
			}
		})
	}
	for _, bad := range []float64{nanValue(), infValue()} {
		if _, err := json.Marshal(export.Float(bad)); err == nil {
			t.Errorf("Float(%v) encoded", bad)
		}
	}
}

func nanValue() float64 { z := 0.0; return z / z }
func infValue() float64 { z := 0.0; return 1 / z }

// TestMetricsTypesAreStable reads every line's metrics as raw JSON numbers: tokens is always an
// integer, mtld and toxicity always carry a decimal point (or are null), whatever their value; the
// registry's own Metrics writes a toxicity of 0 as the integer 0.
func TestMetricsTypesAreStable(t *testing.T) {
	if b, _ := json.Marshal(registry.Metrics{Toxicity: ptr(0.0)}); !strings.Contains(string(b), `"toxicity":0,`) {
		t.Fatalf("registry.Metrics no longer writes 0 as an integer (%s): is this type still needed?", b)
	}
	out := write(t, export.FormatJSONL, samples(12), export.Options{})
	sc := bufio.NewScanner(bytes.NewReader(out))
	nulls, zeros := 0, 0
	for sc.Scan() {
		var line struct {
			Metrics map[string]json.RawMessage `json:"metrics"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		if tok := string(line.Metrics["tokens"]); strings.ContainsAny(tok, ".eE") {
			t.Errorf("tokens %s is not an integer", tok)
		}
		for _, k := range []string{"mtld", "toxicity"} {
			v := string(line.Metrics[k])
			switch {
			case v == "null" && k == "toxicity":
				nulls++
			case !strings.ContainsAny(v, ".eE"):
				t.Errorf("%s %s is written without a decimal point: %s", k, v, sc.Bytes())
			}
			if v == "0.0" {
				zeros++
			}
		}
	}
	if nulls == 0 || zeros == 0 {
		t.Fatalf("the fixture has %d null and %d zero scores; it should have both", nulls, zeros)
	}
}

// TestJSONLColumns decodes every line strictly: each has exactly the documented columns, with
// null, not omission, for absent values, and the values of the sample.
func TestJSONLColumns(t *testing.T) {
	smps := samples(9)
	collected := time.Date(2024, 5, 6, 7, 8, 9, 123e6, time.UTC)
	smps[1].CollectedAt = &collected
	out := write(t, export.FormatJSONL, smps, export.Options{})
	want := []string{"generation", "generation_basis", "dataset", "external_id", "id", "metrics", "model", "origin", "parents", "prompt_id", "source", "text", "collected_at"}
	slices.Sort(want)
	lines := bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n"))
	if len(lines) != len(smps) {
		t.Fatalf("%d lines for %d samples", len(lines), len(smps))
	}
	for i, line := range lines {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(line, &raw); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for k := range raw {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, want) {
			t.Fatalf("line %d has columns %v, want %v", i, keys, want)
		}
		var src map[string]json.RawMessage
		if err := json.Unmarshal(raw["source"], &src); err != nil || len(src) != 4 {
			t.Fatalf("line %d source %s: want kind, name, uri and license", i, raw["source"])
		}
		var row export.Row
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&row); err != nil {
			t.Fatal(err)
		}
		s := smps[i]
		if row.ID != s.ID || row.Text != s.Text || row.Origin != s.Origin || row.Generation != s.Generation ||
			row.GenerationBasis != s.GenerationBasis || row.Source.Kind != s.Source.Kind || str(row.Source.License) != s.Source.License ||
			str(row.Source.URI) != s.Source.URI || str(row.Source.Name) != s.Source.Name || str(row.Model) != s.Model ||
			str(row.Dataset) != s.Dataset || str(row.PromptID) != s.PromptID || !slices.Equal(row.Parents, s.Parents) ||
			str(row.ExternalID) != s.ExternalID ||
			row.Metrics.Tokens != s.Metrics.Tokens || float64(row.Metrics.MTLD) != s.Metrics.MTLD {
			t.Fatalf("line %d: %s\ndoes not hold sample %+v", i, line, s)
		}
		if (row.Metrics.Toxicity == nil) != (s.Metrics.Toxicity == nil) ||
			row.Metrics.Toxicity != nil && float64(*row.Metrics.Toxicity) != *s.Metrics.Toxicity {
			t.Fatalf("line %d: toxicity %s", i, raw["metrics"])
		}
		switch {
		case s.CollectedAt == nil && string(raw["collected_at"]) != "null",
			s.CollectedAt != nil && (row.CollectedAt == nil || !row.CollectedAt.Equal(*s.CollectedAt)):
			t.Fatalf("line %d: collected_at %s, want %v", i, raw["collected_at"], s.CollectedAt)
		}
		if s.Parents == nil && string(raw["parents"]) != "[]" {
			t.Fatalf("line %d: parents %s, want []", i, raw["parents"])
		}
	}
	if bytes.Contains(out, []byte(`\u003c`)) {
		t.Fatal("HTML characters are escaped")
	}
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func TestChat(t *testing.T) {
	smps := samples(9)
	texts := map[string]string{}
	for _, s := range smps {
		texts[s.ID] = s.Text
	}
	lookups := 0
	prompt := func(id string) (string, error) {
		lookups++
		return texts[id], nil
	}
	t.Run("OnlyAnswers", func(t *testing.T) {
		out := write(t, export.FormatChat, smps, export.Options{Prompt: prompt})
		sc := bufio.NewScanner(bytes.NewReader(out))
		n := 0
		for sc.Scan() {
			var row map[string]json.RawMessage
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
				t.Fatal(err)
			}
			if _, ok := row["text"]; ok {
				t.Fatal("a chat row repeats the text")
			}
			for _, k := range []string{"id", "origin", "model", "generation", "generation_basis", "dataset", "source", "parents", "prompt_id", "metrics"} {
				if _, ok := row[k]; !ok {
					t.Fatalf("chat row lacks %s: %s", k, sc.Bytes())
				}
			}
			var chat export.ChatRow
			if err := json.Unmarshal(sc.Bytes(), &chat); err != nil {
				t.Fatal(err)
			}
			s := smps[slices.IndexFunc(smps, func(s *registry.Sample) bool { return s.ID == chat.ID })]
			want := []export.Message{{Role: "user", Content: texts[s.PromptID]}, {Role: "assistant", Content: s.Text}}
			if s.PromptID == "" || !slices.Equal(chat.Messages, want) || str(chat.PromptID) != s.PromptID {
				t.Fatalf("chat row %s for sample %+v", sc.Bytes(), s)
			}
			n++
		}
		if n != 6 || lookups != 6 {
			t.Fatalf("%d chat rows and %d lookups for 6 answers", n, lookups)
		}
	})
	t.Run("LookupFails", func(t *testing.T) {
		boom := errors.New("tampered")
		w, _ := export.New(export.FormatChat, io.Discard, export.Options{Prompt: func(string) (string, error) { return "", boom }})
		if err := w.Write(smps[1]); !errors.Is(err, boom) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("NeedsALookup", func(t *testing.T) {
		if _, err := export.New(export.FormatChat, io.Discard, export.Options{}); err == nil {
			t.Fatal("a chat writer without a prompt lookup")
		}
	})
}

// pqRow is what a reader of the Parquet export declares: the documented column names and types,
// written here independently of the writer's own struct.
type pqRow struct {
	ID              string   `parquet:"id"`
	ExternalID      *string  `parquet:"external_id"`
	Origin          string   `parquet:"origin"`
	Model           *string  `parquet:"model"`
	Generation      int64    `parquet:"generation"`
	GenerationBasis string   `parquet:"generation_basis"`
	Dataset         *string  `parquet:"dataset"`
	Source          pqSource `parquet:"source"`
	Parents         []string `parquet:"parents,list"`
	PromptID        *string  `parquet:"prompt_id"`
	Metrics         struct {
		Tokens         int64    `parquet:"tokens"`
		MTLD           float64  `parquet:"mtld"`
		Toxicity       *float64 `parquet:"toxicity"`
		Version        string   `parquet:"metrics_version"`
		ToxicityScorer string   `parquet:"toxicity_scorer"`
	} `parquet:"metrics"`
	CollectedAt *time.Time `parquet:"collected_at,timestamp(millisecond)"`
	Text        string     `parquet:"text"`
}

type pqSource struct {
	Kind    string  `parquet:"kind"`
	Name    *string `parquet:"name"`
	URI     *string `parquet:"uri"`
	License *string `parquet:"license"`
}

func TestParquetReadsBack(t *testing.T) {
	n := 2*export.RowGroupRows + 123
	smps := samples(n)
	collected := time.Date(2024, 5, 6, 7, 8, 9, 123e6, time.UTC)
	smps[7].CollectedAt = &collected
	mix := &registry.Mix{ID: "01980000-0000-7000-8000-00000000e001", ManifestSHA256: strings.Repeat("ab", 32)}
	out := write(t, export.FormatParquet, smps, export.Options{Mix: mix})

	f, err := parquet.OpenFile(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(f.RowGroups()); got != 3 {
		t.Errorf("%d row groups for %d rows, want 3", got, n)
	}
	if v, _ := f.Lookup(export.MetaMixID); v != mix.ID {
		t.Errorf("mix id metadata %q", v)
	}
	if v, _ := f.Lookup(export.MetaManifestSHA256); v != mix.ManifestSHA256 {
		t.Errorf("manifest metadata %q", v)
	}
	for _, col := range []struct {
		path []string
		kind parquet.Kind
		opt  bool
	}{
		{[]string{"id"}, parquet.ByteArray, false}, {[]string{"text"}, parquet.ByteArray, false},
		{[]string{"model"}, parquet.ByteArray, true}, {[]string{"generation"}, parquet.Int64, false},
		{[]string{"metrics", "tokens"}, parquet.Int64, false}, {[]string{"metrics", "mtld"}, parquet.Double, false},
		{[]string{"metrics", "toxicity"}, parquet.Double, true}, {[]string{"source", "license"}, parquet.ByteArray, true},
		{[]string{"prompt_id"}, parquet.ByteArray, true}, {[]string{"collected_at"}, parquet.Int64, true},
	} {
		leaf, ok := f.Schema().Lookup(col.path...)
		if !ok || leaf.Node.Type().Kind() != col.kind || leaf.Node.Optional() != col.opt {
			t.Errorf("column %v: found %v, %v", col.path, ok, leaf.Node)
		}
	}

	r := parquet.NewGenericReader[pqRow](bytes.NewReader(out))
	defer r.Close()
	got := make([]pqRow, 0, n)
	buf := make([]pqRow, 1000)
	for {
		k, err := r.Read(buf)
		got = append(got, buf[:k]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != n {
		t.Fatalf("read %d rows, wrote %d", len(got), n)
	}
	for i, row := range got {
		s := smps[i]
		if row.ID != s.ID || str(row.ExternalID) != s.ExternalID || row.Text != s.Text || str(row.Model) != s.Model || row.Generation != int64(s.Generation) ||
			str(row.Dataset) != s.Dataset || row.Source.Kind != s.Source.Kind || str(row.Source.License) != s.Source.License ||
			str(row.PromptID) != s.PromptID || !slices.Equal(row.Parents, s.Parents) || row.Metrics.MTLD != s.Metrics.MTLD ||
			row.Metrics.Tokens != int64(s.Metrics.Tokens) || row.Metrics.ToxicityScorer != s.Metrics.ToxicityScorer {
			t.Fatalf("row %d: %+v\nsample %+v", i, row, s)
		}
		if (row.Metrics.Toxicity == nil) != (s.Metrics.Toxicity == nil) || row.Metrics.Toxicity != nil && *row.Metrics.Toxicity != *s.Metrics.Toxicity {
			t.Fatalf("row %d: toxicity %v, want %v", i, row.Metrics.Toxicity, s.Metrics.Toxicity)
		}
		if (row.CollectedAt == nil) != (s.CollectedAt == nil) || row.CollectedAt != nil && !row.CollectedAt.Equal(*s.CollectedAt) {
			t.Fatalf("row %d: collected_at %v, want %v", i, row.CollectedAt, s.CollectedAt)
		}
	}
}

// TestParquetWithoutCloseIsRefused: an export cut short never gets its footer, so readers refuse
// it instead of reading a silently shorter file.
func TestParquetWithoutCloseIsRefused(t *testing.T) {
	var buf bytes.Buffer
	w, _ := export.New(export.FormatParquet, &buf, export.Options{})
	for _, s := range samples(export.RowGroupRows + 200) {
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	if buf.Len() == 0 {
		t.Fatal("nothing was flushed after a full row group")
	}
	if _, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err == nil {
		t.Fatal("a file without its footer opened")
	}
}

// TestSummerMatchesDownloads: the digests a Summer computes in one pass are those of each
// format's own output, and the same on every run.
func TestSummerMatchesDownloads(t *testing.T) {
	smps := samples(500)
	mix := &registry.Mix{ID: "01980000-0000-7000-8000-00000000e001", ManifestSHA256: strings.Repeat("cd", 32)}
	opts := export.Options{Mix: mix}
	var first map[string]export.Digest
	for range 2 {
		s, err := export.NewSummer(opts, export.FormatJSONL, export.FormatParquet)
		if err != nil {
			t.Fatal(err)
		}
		for _, smp := range smps {
			if err := s.Write(smp); err != nil {
				t.Fatal(err)
			}
		}
		sums, err := s.Sums()
		if err != nil {
			t.Fatal(err)
		}
		if first != nil && fmt.Sprint(sums) != fmt.Sprint(first) {
			t.Fatalf("two runs: %v and %v", first, sums)
		}
		first = sums
	}
	for _, f := range []string{export.FormatJSONL, export.FormatParquet} {
		out := write(t, f, smps, opts)
		sum := sha256.Sum256(out)
		if d := first[f]; d.SHA256 != hex.EncodeToString(sum[:]) || d.Size != int64(len(out)) {
			t.Errorf("%s: summer says %+v, the output is %x (%d bytes)", f, d, sum, len(out))
		}
	}
}

func TestNewRefusesUnknownFormat(t *testing.T) {
	if _, err := export.New("csv", io.Discard, export.Options{}); err == nil {
		t.Fatal("csv accepted")
	}
}
