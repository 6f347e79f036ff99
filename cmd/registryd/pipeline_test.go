package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/pedigreeml/pedigree/registry"
	"github.com/pedigreeml/pedigree/registry/storetest"
)

// TestPipelineWithTheCLI runs the pipeline engineer's flow with registryd's own commands only, as the
// README shows it: human text and prompts, two teachers' answers naming their prompts by
// external_id, one ingest with --ids-out; a best-of-k mix under the default policy; its exports; a
// student trained on the mix; the student's answers at generation 2; and a refused mix that says why.
func TestPipelineWithTheCLI(t *testing.T) {
	srv := startServer(t, "")
	ctx := context.Background()
	key := srv.Key(registry.RoleIngest)
	dir := t.TempDir()
	cli := func(args ...string) (string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		err := run(ctx, append(args, "--server", srv.URL, "--key", key), env(nil), nil, &out, &errb)
		if err != nil {
			return errb.String(), err
		}
		return out.String(), nil
	}
	ok := func(args ...string) string {
		t.Helper()
		out, err := cli(args...)
		if err != nil {
			t.Fatalf("registryd %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	var teacherA, teacherB registry.Model
	json.Unmarshal([]byte(ok("models", "create", "--name", "teacher-a", "--version", "1", "--declared-generation", "0")), &teacherA)
	json.Unmarshal([]byte(ok("models", "create", "--name", "teacher-b", "--version", "1", "--declared-generation", "0")), &teacherB)

	var b bytes.Buffer
	line := func(v map[string]any) {
		j, _ := json.Marshal(v)
		b.Write(append(j, '\n'))
	}
	for i := range 150 {
		line(map[string]any{"text": "Essay " + fmt.Sprint(i) + ": " + storetest.Words(fmt.Sprint("essay ", i), 40) + ".",
			"origin": "human", "dataset": "essays", "source": map[string]any{"kind": "public_dataset", "license": "CC-BY-4.0"}})
	}
	for q := range 30 {
		line(map[string]any{"text": "Question " + fmt.Sprint(q) + ": " + storetest.Words(fmt.Sprint("question ", q), 12) + "?",
			"origin": "human", "dataset": "prompts", "external_id": fmt.Sprint("q", q)})
		for _, m := range []string{teacherA.Ref(), teacherB.Ref()} {
			for k := range 2 {
				line(map[string]any{"text": "Answer: " + storetest.Words(fmt.Sprint(m, q, k), 30) + ".", "origin": "model", "model": m,
					"dataset": "answers", "prompt_id": map[string]any{"dataset": "prompts", "external_id": fmt.Sprint("q", q)}})
			}
		}
	}
	data := filepath.Join(dir, "pipeline.jsonl")
	os.WriteFile(data, b.Bytes(), 0o600)
	ok("ingest", data, "--ids-out", filepath.Join(dir, "ids.jsonl"))

	var mix registry.Mix
	json.Unmarshal([]byte(ok("mixes", "create", "--size", "400", "--seed", "7", "--best-of-k", "mtld")), &mix)
	if mix.ID == "" || mix.Stats.Human < 100 || mix.Stats.Synthetic == 0 || mix.Stats.SyntheticRatio > 0.5 {
		t.Fatalf("mix: %+v", mix.Stats)
	}
	for _, format := range []string{"jsonl", "parquet", "card", "croissant"} {
		out := filepath.Join(dir, "mix."+format)
		ok("mixes", "export", "--mix", mix.ID, "--format", format, "--out", out)
		body, err := os.ReadFile(out)
		if err != nil || len(body) == 0 {
			t.Fatalf("%s: %v", format, err)
		}
		switch format {
		case "jsonl":
			if n := bytes.Count(body, []byte("\n")); n != mix.Size {
				t.Fatalf("jsonl: %d lines for a mix of %d", n, mix.Size)
			}
		case "parquet":
			f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
			if err != nil || f.NumRows() != int64(mix.Size) {
				t.Fatalf("parquet: %v", err)
			}
		case "card":
			if !strings.Contains(string(body), mix.ManifestSHA256) {
				t.Fatal("the card does not name the manifest hash")
			}
		}
	}

	var student registry.Model
	json.Unmarshal([]byte(ok("models", "create", "--name", "student", "--version", "1", "--trained-on", mix.ID)), &student)
	if student.Generation != 1 || student.GenerationBasis != registry.BasisDeclared {
		t.Fatalf("student: generation %d basis %s", student.Generation, student.GenerationBasis)
	}
	b.Reset()
	for q := range 30 {
		line(map[string]any{"text": "Student: " + storetest.Words(fmt.Sprint("student", q), 25) + ".", "origin": "model", "model": student.Ref(),
			"dataset": "student", "prompt_id": map[string]any{"dataset": "prompts", "external_id": fmt.Sprint("q", q)}})
	}
	os.WriteFile(data, b.Bytes(), 0o600)
	ids := filepath.Join(dir, "student-ids.jsonl")
	ok("ingest", data, "--ids-out", ids)
	got, _ := os.ReadFile(ids)
	var first idLine
	json.Unmarshal(bytes.SplitN(got, []byte("\n"), 2)[0], &first)
	s := must[*registry.Sample](t)(srv.Client(srv.Key(registry.RoleAuditor)).GetSample(ctx, first.ID))
	if s.Generation != 2 {
		t.Fatalf("the student's output: generation %d, want 2", s.Generation)
	}

	// A dry run saves nothing; --request takes the whole request as JSON, and a bad one is a usage error.
	var dry struct {
		DryRun  bool `json:"dry_run"`
		Allowed bool `json:"allowed"`
		Size    int  `json:"size"`
	}
	json.Unmarshal([]byte(ok("mixes", "create", "--size", "400", "--seed", "3", "--dry-run")), &dry)
	if !dry.DryRun || !dry.Allowed || dry.Size == 0 {
		t.Fatalf("dry run: %+v", dry)
	}
	reqFile := filepath.Join(dir, "request.json")
	os.WriteFile(reqFile, []byte(`{"size": 120, "seed": 9, "filter": {"datasets": ["essays"]}}`), 0o600)
	var fromFile registry.Mix
	json.Unmarshal([]byte(ok("mixes", "create", "--request", reqFile)), &fromFile)
	if fromFile.Size == 0 || fromFile.Stats.Synthetic != 0 || fromFile.Request.Seed != 9 {
		t.Fatalf("a mix from --request: size %d, %d synthetic, seed %d", fromFile.Size, fromFile.Stats.Synthetic, fromFile.Request.Seed)
	}
	os.WriteFile(reqFile, []byte(`{"size": "many"}`), 0o600)
	if _, err := cli("mixes", "create", "--request", reqFile); err == nil || exitCode(err) != 2 {
		t.Fatalf("a malformed --request: %v", err)
	}

	// A refused mix says why, and exits non-zero.
	out, err := cli("mixes", "create", "--size", "100", "--synthetic-ratio", "0.9")
	if err == nil || !strings.Contains(out, "the policy refused the mix") || !strings.Contains(out, "synthetic") {
		t.Fatalf("a refused mix: %v\n%s", err, out)
	}
	if _, err := cli("mixes", "export", "--mix", "nope"); err == nil || exitCode(err) != 2 {
		t.Fatalf("a bad mix id: %v", err)
	}
}
