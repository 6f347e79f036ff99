package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/mixer/export"
	"github.com/pedigreeml/pedigree/registry"
)

// exportFixture is a running registry holding a mix of human text from two datasets, prompts
// answered by two teachers (best-of-k groups), and model rewrites of human text (parents without a
// prompt).
type exportFixture struct {
	srv             *testServer
	ingest, auditor *client.Client
	ingestKey       string
	mix             *registry.Mix
	prompts         map[string]string // prompt id → text
}

func newExportFixture(t *testing.T, extra ...string) *exportFixture {
	t.Helper()
	ctx := context.Background()
	srv := startServer(t, "", extra...)
	f := &exportFixture{srv: srv, ingestKey: srv.Key(registry.RoleIngest), prompts: map[string]string{}}
	f.ingest, f.auditor = srv.Client(f.ingestKey), srv.Client(srv.Key(registry.RoleAuditor))
	if _, _, err := srv.Admin().PutPolicy(ctx, "cap", capPolicy); err != nil {
		t.Fatal(err)
	}
	zero := 0
	var teachers []string
	for _, name := range []string{"teacher-a", "teacher-b"} {
		m := must[*registry.Model](t)(f.ingest.CreateModel(ctx, registry.NewModel{Name: name, Version: "1", DeclaredGeneration: &zero}, ""))
		teachers = append(teachers, m.Ref())
	}
	wiki := &registry.Source{Kind: "public_dataset", Name: "Wikipedia", URI: "https://dumps.example.org/wiki", License: "CC-BY-SA-4.0"}
	var batch []registry.NewSample
	collected := time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC) // the dump the wiki sentences came from
	for i := range 30 {
		s := human(fmt.Sprintf("Human sentence %d, written by a person about rivers and the weather.", i))
		s.Dataset, s.Source, s.CollectedAt = "wiki", wiki, &collected
		batch = append(batch, s)
	}
	for i := range 10 {
		s := human(fmt.Sprintf("Prompt %d: describe a quiet harbour town in two sentences.", i))
		s.Dataset, s.Source = "prompts", &registry.Source{Kind: "user_data", License: "MIT"}
		s.ExternalID = fmt.Sprintf("prompt-%d", i)
		batch = append(batch, s)
	}
	stored := must[[]client.IngestedSample](t)(f.ingest.IngestBatch(ctx, batch, ""))
	batch = nil
	for i, p := range stored[30:] {
		f.prompts[p.ID] = p.Text
		for j, teacher := range teachers {
			batch = append(batch, modelOut(fmt.Sprintf("Answer %d from teacher %d: boats rest by the pier while gulls circle overhead.", i, j), teacher, p.ID))
		}
	}
	for i := range 10 {
		batch = append(batch, modelOut(fmt.Sprintf("Rewrite %d: a person wrote about rivers, and the weather turned.", i), teachers[i%2], "", stored[i].ID))
	}
	must[[]client.IngestedSample](t)(f.ingest.IngestBatch(ctx, batch, ""))
	f.mix = must[*registry.Mix](t)(f.ingest.CreateMix(ctx, registry.MixRequest{Policy: "cap", Size: 1000, Seed: 7}, ""))
	if f.mix.Stats.Synthetic == 0 || f.mix.Stats.Human == 0 {
		t.Fatalf("the mix has %+v", f.mix.Stats)
	}
	return f
}

// readAll reads a whole export stream: readAll(t)(c.ExportMixFormat(…)).
func readAll(t *testing.T) func(io.ReadCloser, error) []byte {
	return func(rc io.ReadCloser, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// exportRow is a line of the jsonl export as a client declares it, decoded strictly.
type exportRow struct {
	ID              string   `json:"id"`
	ExternalID      *string  `json:"external_id"`
	Text            string   `json:"text"`
	Origin          string   `json:"origin"`
	Model           *string  `json:"model"`
	Generation      int      `json:"generation"`
	GenerationBasis string   `json:"generation_basis"`
	Dataset         *string  `json:"dataset"`
	Source          source   `json:"source"`
	Parents         []string `json:"parents"`
	PromptID        *string  `json:"prompt_id"`
	Metrics         struct {
		Tokens         int      `json:"tokens"`
		MTLD           float64  `json:"mtld"`
		Toxicity       *float64 `json:"toxicity"`
		Version        string   `json:"metrics_version"`
		ToxicityScorer string   `json:"toxicity_scorer"`
	} `json:"metrics"`
	CollectedAt *time.Time `json:"collected_at"`
}

type source struct {
	Kind    string  `json:"kind"`
	Name    *string `json:"name"`
	URI     *string `json:"uri"`
	License *string `json:"license"`
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// TestExportFormatsEndToEnd reads every format back with a real reader and checks it against the
// registry's own records: JSON Lines with encoding/json (strictly, every column, stable types),
// chat rows against the prompts, Parquet with parquet-go's reader, the dataset card's front matter
// and the Croissant description's required fields and checksums against the downloads.
func TestExportFormatsEndToEnd(t *testing.T) {
	f := newExportFixture(t)
	ctx := context.Background()
	mix := f.mix

	jsonl := readAll(t)(f.ingest.ExportMixFormat(ctx, mix.ID, "jsonl"))
	if def := readAll(t)(f.ingest.ExportMixFormat(ctx, mix.ID, "")); !bytes.Equal(def, jsonl) {
		t.Fatal("the default format is not jsonl")
	}
	if first := readAll(t)(f.ingest.ExportMix(ctx, mix.ID)); !bytes.Equal(first, jsonl) {
		t.Fatal("GET /v1/mixes/{id}/samples is not the jsonl export")
	}
	var rows []exportRow
	manifest := registry.NewManifestHash()
	sc := bufio.NewScanner(bytes.NewReader(jsonl))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var row exportRow
		if err := dec.Decode(&row); err != nil {
			t.Fatalf("line %d: %v: %s", len(rows)+1, err, sc.Bytes())
		}
		var raw struct {
			Metrics map[string]json.RawMessage `json:"metrics"`
		}
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil || len(raw.Metrics) != 5 {
			t.Fatalf("line %d metrics: %s", len(rows)+1, sc.Bytes())
		}
		for _, k := range []string{"mtld", "toxicity"} {
			if v := string(raw.Metrics[k]); v != "null" && !strings.ContainsAny(v, ".eE") {
				t.Fatalf("line %d: %s %s has no decimal point", len(rows)+1, k, v)
			}
		}
		sum := sha256.Sum256([]byte(row.Text))
		if err := manifest.Add(row.ID, hex.EncodeToString(sum[:])); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	if len(rows) != mix.Size || manifest.Sum() != mix.ManifestSHA256 {
		t.Fatalf("jsonl: %d rows hashing to %s; the mix has %d and %s", len(rows), manifest.Sum(), mix.Size, mix.ManifestSHA256)
	}
	withPrompt, withParents := 0, 0
	for _, row := range rows {
		s := must[*registry.Sample](t)(f.auditor.GetSample(ctx, row.ID))
		if row.Text != s.Text || row.Origin != s.Origin || deref(row.Model) != s.Model || row.Generation != s.Generation ||
			row.GenerationBasis != s.GenerationBasis || deref(row.Dataset) != s.Dataset || row.Source.Kind != s.Source.Kind ||
			deref(row.Source.Name) != s.Source.Name || deref(row.Source.URI) != s.Source.URI || deref(row.Source.License) != s.Source.License ||
			!slices.Equal(row.Parents, s.Parents) && !(len(row.Parents) == 0 && len(s.Parents) == 0) || deref(row.PromptID) != s.PromptID ||
			deref(row.ExternalID) != s.ExternalID ||
			row.Metrics.Tokens != s.Metrics.Tokens || row.Metrics.MTLD != s.Metrics.MTLD || row.Metrics.Version != s.Metrics.Version ||
			row.Metrics.ToxicityScorer != s.Metrics.ToxicityScorer || (row.Metrics.Toxicity == nil) != (s.Metrics.Toxicity == nil) ||
			row.Metrics.Toxicity != nil && *row.Metrics.Toxicity != *s.Metrics.Toxicity ||
			(row.CollectedAt == nil) != (s.CollectedAt == nil) || row.CollectedAt != nil && !row.CollectedAt.Equal(*s.CollectedAt) ||
			(s.CollectedAt != nil) != (s.Dataset == "wiki") {
			t.Fatalf("export row %+v\ndoes not hold the registry's sample %+v", row, s)
		}
		if row.Parents == nil {
			t.Fatalf("row %s: parents is null, want []", row.ID)
		}
		if row.PromptID != nil {
			withPrompt++
		}
		if len(row.Parents) > 0 {
			withParents++
		}
	}
	if withPrompt == 0 || withParents <= withPrompt {
		t.Fatalf("the mix has %d answers and %d samples with parents: the fixture should have both, and rewrites", withPrompt, withParents)
	}

	t.Run("Chat", func(t *testing.T) {
		chat := readAll(t)(f.ingest.ExportMixFormat(ctx, mix.ID, "chat"))
		var got []string
		sc := bufio.NewScanner(bytes.NewReader(chat))
		for sc.Scan() {
			var row struct {
				Messages []struct{ Role, Content string } `json:"messages"`
				exportRow
			}
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(rows, func(r exportRow) bool { return r.ID == row.ID })
			if i < 0 || rows[i].PromptID == nil || len(row.Messages) != 2 || row.Messages[0].Role != "user" ||
				row.Messages[0].Content != f.prompts[*rows[i].PromptID] || row.Messages[1].Role != "assistant" ||
				row.Messages[1].Content != rows[i].Text || deref(row.PromptID) != *rows[i].PromptID || row.Text != "" {
				t.Fatalf("chat row %s", sc.Bytes())
			}
			got = append(got, row.ID)
		}
		var want []string
		for _, r := range rows {
			if r.PromptID != nil {
				want = append(want, r.ID)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("chat rows %d, want the %d answers in manifest order", len(got), len(want))
		}
	})

	var parquetBody []byte
	t.Run("Parquet", func(t *testing.T) {
		resp, body := f.srv.send(t, f.ingestKey, "GET", "/v1/mixes/"+mix.ID+"/export?format=parquet", nil, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.apache.parquet" ||
			resp.Header.Get("Content-Disposition") != `attachment; filename="mix-`+mix.ID+`.parquet"` {
			t.Fatalf("%d %v", resp.StatusCode, resp.Header)
		}
		parquetBody = body
		file, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := file.Lookup(export.MetaManifestSHA256); v != mix.ManifestSHA256 {
			t.Fatalf("manifest metadata %q", v)
		}
		type pqRow struct {
			ID              string  `parquet:"id"`
			ExternalID      *string `parquet:"external_id"`
			Origin          string  `parquet:"origin"`
			Model           *string `parquet:"model"`
			Generation      int64   `parquet:"generation"`
			GenerationBasis string  `parquet:"generation_basis"`
			Dataset         *string `parquet:"dataset"`
			Source          struct {
				URI     *string `parquet:"uri"`
				License *string `parquet:"license"`
			} `parquet:"source"`
			Parents  []string `parquet:"parents,list"`
			PromptID *string  `parquet:"prompt_id"`
			Metrics  struct {
				Tokens   int64    `parquet:"tokens"`
				MTLD     float64  `parquet:"mtld"`
				Toxicity *float64 `parquet:"toxicity"`
			} `parquet:"metrics"`
			CollectedAt *time.Time `parquet:"collected_at,timestamp(millisecond)"`
			Text        string     `parquet:"text"`
		}
		got, err := parquet.Read[pqRow](bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(rows) {
			t.Fatalf("%d parquet rows, %d jsonl rows", len(got), len(rows))
		}
		for i, p := range got {
			r := rows[i]
			if p.ID != r.ID || deref(p.ExternalID) != deref(r.ExternalID) || p.Text != r.Text || deref(p.Model) != deref(r.Model) || p.Generation != int64(r.Generation) ||
				p.GenerationBasis != r.GenerationBasis || deref(p.Dataset) != deref(r.Dataset) || deref(p.Source.License) != deref(r.Source.License) ||
				deref(p.Source.URI) != deref(r.Source.URI) || !slices.Equal(p.Parents, r.Parents) && len(p.Parents)+len(r.Parents) > 0 ||
				deref(p.PromptID) != deref(r.PromptID) || p.Metrics.Tokens != int64(r.Metrics.Tokens) || p.Metrics.MTLD != r.Metrics.MTLD ||
				(p.Metrics.Toxicity == nil) != (r.Metrics.Toxicity == nil) || p.Metrics.Toxicity != nil && *p.Metrics.Toxicity != *r.Metrics.Toxicity ||
				(p.CollectedAt == nil) != (r.CollectedAt == nil) || p.CollectedAt != nil && !p.CollectedAt.Equal(*r.CollectedAt) {
				t.Fatalf("parquet row %d %+v\njsonl row %+v", i, p, r)
			}
		}
	})

	t.Run("Card", func(t *testing.T) {
		card := string(must[[]byte](t)(f.ingest.MixCard(ctx, mix.ID)))
		meta, _, ok := strings.Cut(strings.TrimPrefix(card, "---\n"), "\n---\n")
		if !strings.HasPrefix(card, "---\n") || !ok {
			t.Fatalf("no front matter:\n%s", card)
		}
		for _, want := range []string{`- "cc-by-sa-4.0"`, `- "mit"`, `size_categories:` + "\n" + `- "n<1K"`, `- "extended|wiki"`,
			`- "machine-generated"`, `- "synthetic"`} {
			if !strings.Contains(meta, want) {
				t.Errorf("front matter lacks %q:\n%s", want, meta)
			}
		}
		for _, want := range []string{mix.ManifestSHA256, "registryd verify", "--mix " + mix.ID, "teacher-a@1", "teacher-b@1", "`cap@1`",
			f.srv.URL + "/v1/mixes/" + mix.ID + "/export?format=parquet"} {
			if !strings.Contains(card, want) {
				t.Errorf("the card lacks %q", want)
			}
		}
	})

	t.Run("Croissant", func(t *testing.T) {
		doc := must[[]byte](t)(f.auditor.MixCroissant(ctx, mix.ID))
		if err := export.CheckCroissant(doc); err != nil {
			t.Fatalf("Croissant check:\n%v", err)
		}
		var d struct {
			Distribution []struct {
				ID     string `json:"@id"`
				URL    string `json:"contentUrl"`
				SHA256 string `json:"sha256"`
				Size   string `json:"contentSize"`
			} `json:"distribution"`
			RecordSet []struct {
				Field []struct {
					Name     string `json:"name"`
					SubField []struct {
						Name string `json:"name"`
					} `json:"subField"`
				} `json:"field"`
			} `json:"recordSet"`
			GeneratedBy []struct {
				Agent struct {
					Name string `json:"name"`
				} `json:"prov:wasAssociatedWith"`
			} `json:"prov:wasGeneratedBy"`
			DerivedFrom []struct {
				Name string `json:"name"`
				URL  string `json:"url"`
			} `json:"prov:wasDerivedFrom"`
		}
		if err := json.Unmarshal(doc, &d); err != nil {
			t.Fatal(err)
		}
		bodies := map[string][]byte{export.FileIDJSONL: jsonl, export.FileIDParquet: parquetBody}
		for _, fo := range d.Distribution {
			sum := sha256.Sum256(bodies[fo.ID])
			if fo.SHA256 != hex.EncodeToString(sum[:]) || fo.Size != fmt.Sprintf("%d B", len(bodies[fo.ID])) ||
				!strings.HasPrefix(fo.URL, f.srv.URL+"/v1/mixes/"+mix.ID+"/export?format=") {
				t.Errorf("FileObject %s: sha256 %s, %s, %s; the download is %x, %d bytes", fo.ID, fo.SHA256, fo.Size, fo.URL, sum, len(bodies[fo.ID]))
			}
		}
		// The record set's fields are the jsonl columns, nested ones included.
		var line map[string]json.RawMessage
		if err := json.Unmarshal(jsonl[:bytes.IndexByte(jsonl, '\n')], &line); err != nil {
			t.Fatal(err)
		}
		var fields, columns []string
		for _, fl := range d.RecordSet[0].Field {
			fields = append(fields, fl.Name)
			var sub map[string]json.RawMessage
			if len(fl.SubField) > 0 {
				if err := json.Unmarshal(line[fl.Name], &sub); err != nil {
					t.Fatalf("%s: %v", fl.Name, err)
				}
				var subs, keys []string
				for _, s := range fl.SubField {
					subs = append(subs, s.Name)
				}
				for k := range sub {
					keys = append(keys, k)
				}
				slices.Sort(subs)
				slices.Sort(keys)
				if !slices.Equal(subs, keys) {
					t.Errorf("field %s has sub-fields %v; the export's object has %v", fl.Name, subs, keys)
				}
			}
		}
		for k := range line {
			columns = append(columns, k)
		}
		slices.Sort(fields)
		slices.Sort(columns)
		if !slices.Equal(fields, columns) {
			t.Errorf("record set fields %v, export columns %v", fields, columns)
		}
		var agents []string
		for _, g := range d.GeneratedBy {
			agents = append(agents, g.Agent.Name)
		}
		if !slices.Contains(agents, "teacher-a@1") || !slices.Contains(agents, "teacher-b@1") {
			t.Errorf("prov:wasGeneratedBy names %v", agents)
		}
		if !slices.ContainsFunc(d.DerivedFrom, func(e struct {
			Name string `json:"name"`
			URL  string `json:"url"`
		}) bool {
			return e.Name == "Wikipedia" && e.URL == "https://dumps.example.org/wiki"
		}) {
			t.Errorf("prov:wasDerivedFrom %+v lacks the Wikipedia source", d.DerivedFrom)
		}
	})

	t.Run("Refusals", func(t *testing.T) {
		base := "/v1/mixes/" + mix.ID
		resp, body := f.srv.send(t, f.ingestKey, "GET", base+"/export?format=csv", nil, nil)
		wantProblem(t, resp, body, http.StatusBadRequest, registry.EINVALID, "format")
		for _, path := range []string{"/export", "/export?format=parquet", "/card", "/croissant"} {
			resp, body := f.srv.send(t, f.ingestKey, "GET", "/v1/mixes/"+missingID+path, nil, nil)
			wantProblem(t, resp, body, http.StatusNotFound, registry.ENOTFOUND, "")
			resp, body = f.srv.send(t, "", "GET", base+path, nil, nil)
			wantProblem(t, resp, body, http.StatusUnauthorized, registry.EUNAUTHORIZED, "")
			resp, body = f.srv.send(t, "pdg_not_a_key", "GET", base+path, nil, nil)
			wantProblem(t, resp, body, http.StatusUnauthorized, registry.EUNAUTHORIZED, "")
		}
		// Every role may export and describe a mix (ingest to train on it, auditor to check it,
		// admin everything), so there is no role to refuse with a 403; a revoked key is a 401.
		admin := f.srv.Admin()
		k := must[*client.CreatedKey](t)(admin.CreateKey(ctx, registry.RoleIngest))
		if _, err := f.srv.Client(k.Key).MixCard(ctx, mix.ID); err != nil {
			t.Fatal(err)
		}
		must[*registry.APIKey](t)(admin.RevokeKey(ctx, k.ID))
		for _, path := range []string{"/export?format=chat", "/card", "/croissant"} {
			resp, body := f.srv.send(t, k.Key, "GET", base+path, nil, nil)
			wantProblem(t, resp, body, http.StatusUnauthorized, registry.EUNAUTHORIZED, "")
		}
		if _, err := admin.MixCard(ctx, mix.ID); err != nil {
			t.Fatal(err)
		}
	})
}

// TestExportsOfAnAlteredMixAreCutShort edits the text of one of a mix's samples under the running
// server: every format must break its response instead of ending it normally, so that no client
// takes a partial or altered export for the mix, and the card and Croissant description (which
// reads the whole mix) must be refused.
func TestExportsOfAnAlteredMixAreCutShort(t *testing.T) {
	f := newExportFixture(t, "--audit-interval", "0")
	ctx := context.Background()
	var prompt string
	for id := range f.prompts {
		prompt = id // a sample of the mix, and a prompt the chat format reads
		break
	}
	// A plain client: the spec-checking transport would fail on the broken body before the test sees it.
	plain := client.New(f.srv.URL, f.ingestKey)
	for _, format := range export.Formats {
		if b := readAll(t)(plain.ExportMixFormat(ctx, f.mix.ID, format)); len(b) == 0 {
			t.Fatalf("%s: an empty export before the edit", format)
		}
	}
	execSQL(t, f.srv.DataDir, fmt.Sprintf("UPDATE samples SET text = 'rewritten by an attacker' WHERE id = '%s'", prompt))
	for _, format := range export.Formats {
		rc, err := plain.ExportMixFormat(ctx, f.mix.ID, format)
		if err != nil {
			t.Fatalf("%s: %v; the export should have started (its status is sent before the samples are read)", format, err)
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err == nil || errors.Is(err, io.EOF) {
			t.Fatalf("%s: the altered export ended normally (%d bytes)", format, len(body))
		}
		if bytes.Contains(body, []byte("rewritten by an attacker")) {
			t.Fatalf("%s: the altered text was served", format)
		}
	}
	if _, err := plain.MixCroissant(ctx, f.mix.ID); client.StatusOf(err) != http.StatusInternalServerError {
		t.Fatalf("croissant of an altered mix: %v, want a 500 problem", err)
	}
	if !strings.Contains(f.srv.stderr.String(), "mix export cut short") {
		t.Fatal("the server's log does not say the export was cut short")
	}
}

// TestExportsCarryOnlyLoggedProvenance edits what an export carries besides the text — a sample's
// licence, its generation — under the running server: the export breaks off before serving it.
func TestExportsCarryOnlyLoggedProvenance(t *testing.T) {
	for _, edit := range []struct{ name, sql, served string }{
		{"Licence", "UPDATE samples SET license = 'LicenseRef-stolen' WHERE dataset = 'prompts'", "LicenseRef-stolen"},
		{"Generation", "UPDATE samples SET generation = 0, generation_basis = 'human' WHERE origin = 'model'", ""},
	} {
		t.Run(edit.name, func(t *testing.T) {
			f := newExportFixture(t, "--audit-interval", "0")
			ctx := context.Background()
			plain := client.New(f.srv.URL, f.ingestKey)
			execSQL(t, f.srv.DataDir, edit.sql)
			rc, err := plain.ExportMixFormat(ctx, f.mix.ID, "jsonl")
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(rc)
			rc.Close()
			if err == nil || errors.Is(err, io.EOF) {
				t.Fatalf("the export ended normally after %q (%d bytes)", edit.sql, len(body))
			}
			if edit.served != "" && bytes.Contains(body, []byte(edit.served)) {
				t.Fatalf("the edited value was served")
			}
		})
	}
}
