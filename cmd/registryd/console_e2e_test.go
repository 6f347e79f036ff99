package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/pedigreeml/pedigree/client"
	"github.com/pedigreeml/pedigree/internal/spectest"
	"github.com/pedigreeml/pedigree/registry"
	"golang.org/x/mod/sumdb/tlog"
)

// treeRoots returns the root of the log's tree at every size up to n, in base64, computed here from
// the entries as the registry serves them.
func treeRoots(t *testing.T, c *client.Client, n int64) map[int64]string {
	t.Helper()
	var stored []tlog.Hash
	read := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	roots := map[int64]string{}
	for i := range n {
		leaf := must[[]byte](t)(c.LogEntry(context.Background(), i))
		hs := must[[]tlog.Hash](t)(tlog.StoredHashes(i, leaf, read))
		stored = append(stored, hs...)
		root := must[tlog.Hash](t)(tlog.TreeHash(i+1, read))
		roots[i+1] = base64.StdEncoding.EncodeToString(root[:])
	}
	return roots
}

// chromiumPath finds Debian's chromium (or another Chrome) for the browser tests, which skip
// without one.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium binary on PATH (apt-get install -y chromium): the console's browser tests are skipped")
	return ""
}

// consoleBrowser is one headless chromium tab for a test, with a download directory.
type consoleBrowser struct {
	t         *testing.T
	ctx       context.Context
	base      string
	downloads string
}

// newConsoleBrowser starts a headless chromium with a fresh profile, stopped when the test ends.
func newConsoleBrowser(t *testing.T, base string) *consoleBrowser {
	t.Helper()
	exe := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &consoleBrowser{t: t, ctx: ctx, base: base, downloads: t.TempDir()}
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: b.downloads})
		return err
	})); err != nil {
		t.Fatalf("starting chromium (%s): %v", exe, err)
	}
	return b
}

// do runs browser actions with a time limit, failing the test on an error.
func (b *consoleBrowser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// open navigates to a console page by its hash.
func (b *consoleBrowser) open(hash string) {
	b.t.Helper()
	b.do("open "+hash, chromedp.Navigate(b.base+"/ui/"+hash))
}

// wait waits until the JavaScript expression is truthy; on a timeout it fails with the page's text.
func (b *consoleBrowser) wait(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("main")?.innerText.slice(0, 2000) ?? ""`))
		b.t.Fatalf("waiting for %s: %v\nthe page says:\n%s", what, err, text)
	}
}

// use makes t the test of the following steps; if t fails, a screenshot of the page is saved at a
// path the test prints.
func (b *consoleBrowser) use(t *testing.T) {
	b.t = t
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		sctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancel()
		png, err := chromedp.Run(sctx, chromedp.FullScreenshot(90))
		if err != nil {
			t.Logf("no screenshot: %v", err)
			return
		}
		path := filepath.Join(os.TempDir(), fmt.Sprintf("pedigree-console-%s-%d.png", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano()))
		if err := os.WriteFile(path, png, 0o644); err == nil {
			t.Logf("screenshot of the failing page: %s", path)
		}
	})
}

// eval evaluates a JavaScript expression into v.
func eval[T any](b *consoleBrowser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// consoleFixture is a registry with what every console page shows: a lineage chain with
// descendants, a prompt with candidates, a mix under a capped policy, a refusal and a model
// trained on the mix.
type consoleFixture struct {
	srv                        *testServer
	auditorKey, ingestKey      string
	auditor                    *client.Client
	chain                      []*client.IngestedSample // prompt, answer, gen2, edit, rewrite
	mix                        *registry.Mix
	refusal                    *client.Problem
	student                    *registry.Model
	lineageNodes, lineageEdges int                    // of chain[2], both directions
	samples                    int                    // ingested in all
	wide                       *client.IngestedSample // a prompt with 300 answers
}

func newConsoleFixture(t *testing.T) *consoleFixture {
	t.Helper()
	srv := startServer(t, "")
	ctx := context.Background()
	fx := &consoleFixture{srv: srv, auditorKey: srv.Key(registry.RoleAuditor), ingestKey: srv.Key(registry.RoleIngest)}
	fx.auditor = srv.Client(fx.auditorKey)
	ingest := srv.Client(fx.ingestKey)
	if _, _, err := srv.Admin().PutPolicy(ctx, "cap", capPolicy); err != nil {
		t.Fatal(err)
	}
	zero := 0
	var teachers []string
	for _, name := range []string{"teacher-a", "teacher-b"} {
		m := must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: name, Version: "1", DeclaredGeneration: &zero}, ""))
		teachers = append(teachers, m.Ref())
	}
	create := func(s registry.NewSample) *client.IngestedSample {
		t.Helper()
		s.Dataset = "chain"
		return must[*client.IngestedSample](t)(ingest.CreateSample(ctx, s, ""))
	}
	prompt := create(human("Explain why the sky is blue to a curious child, in two sentences."))
	answer := create(modelOut("Sunlight scatters off air molecules, and blue light scatters the most of all colours.", teachers[0], prompt.ID))
	create(modelOut("Air molecules scatter short blue wavelengths far more strongly than long red ones.", teachers[1], prompt.ID))
	create(modelOut("Blue light bounces around the sky, so blue is what reaches our eyes from everywhere.", teachers[0], prompt.ID))
	gen2 := create(modelOut("Air scatters blue light more than red light, so the whole sky looks blue to us.", teachers[1], "", answer.ID))
	edit := create(human("Air scatters blue light more than red, which is why we see a blue sky overhead.", gen2.ID))
	rewrite := create(modelOut("Blue light bounces around the air the most, so the sky above us is blue.", teachers[0], "", edit.ID))
	for i := range 3 {
		create(modelOut(fmt.Sprintf("Variant %d: scattered blue light fills the sky from every direction.", i), teachers[i%2], "", gen2.ID))
	}
	fx.chain = []*client.IngestedSample{prompt, answer, gen2, edit, rewrite}
	lin := must[*registry.Lineage](t)(fx.auditor.Lineage(ctx, gen2.ID, registry.DirectionBoth, 16))
	fx.lineageNodes, fx.lineageEdges = len(lin.Nodes), len(lin.Edges)

	var batch []registry.NewSample
	for i := range 30 {
		batch = append(batch, human(fmt.Sprintf("Human sentence %d, written by a person about the weather.", i)))
	}
	for i := range 80 {
		batch = append(batch, modelOut(fmt.Sprintf("Model sentence %d, generated about the weather today.", i), teachers[i%2], ""))
	}
	for i := range batch {
		batch[i].Dataset = "weather"
	}
	must[[]client.IngestedSample](t)(ingest.IngestBatch(ctx, batch, ""))
	// A prompt with 300 answers: a lineage graph of a few hundred nodes.
	fx.wide = create(human("Name one thing about the weather, in your own words."))
	var answers []registry.NewSample
	for i := range 300 {
		a := modelOut(fmt.Sprintf("Answer %d: the weather today is mild, with a chance of rain number %d.", i, i), teachers[i%2], fx.wide.ID)
		a.Dataset = "wide"
		answers = append(answers, a)
	}
	must[[]client.IngestedSample](t)(ingest.IngestBatch(ctx, answers, ""))
	fx.samples = 11 + len(batch) + len(answers)
	fx.mix = must[*registry.Mix](t)(ingest.CreateMix(ctx, registry.MixRequest{Policy: "cap", Size: 100, Seed: 7, Filter: registry.MixFilter{Datasets: []string{"weather"}}}, ""))
	_, err := ingest.CreateMix(ctx, registry.MixRequest{Size: 50}, "") // the default policy wants 100 human samples
	fx.refusal = problemOf(t, err)
	if len(fx.refusal.Violations) == 0 {
		t.Fatalf("the refusal has no violations: %+v", fx.refusal)
	}
	fx.student = must[*registry.Model](t)(ingest.CreateModel(ctx, registry.NewModel{Name: "student", Version: "1", TrainedOn: []string{fx.mix.ID}}, ""))
	return fx
}

// session makes key the tab's signed-in key unless it is already, so that a subtest runs alone too.
func (b *consoleBrowser) session(key string) {
	b.t.Helper()
	b.open("#/")
	b.do("keep the key", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`sessionStorage.setItem("pedigree.key", %q)`, key)))
}

// signIn signs in on the console's form with key.
func (b *consoleBrowser) signIn(key string) {
	b.t.Helper()
	b.open("#/")
	b.wait("the sign-in form", `document.querySelector("#signin input[name=key]")`)
	b.do("sign in", chromedp.SetValue(chromedp.CSS("#signin input[name=key]"), key), chromedp.Click(chromedp.CSS("#signin button[type=submit]")))
}

func TestConsoleInABrowser(t *testing.T) {
	chromiumPath(t)
	fx := newConsoleFixture(t)
	b := newConsoleBrowser(t, fx.srv.URL)

	t.Run("SignIn", func(t *testing.T) {
		b.use(t)
		// / redirects to the console, whose sign-in refuses a wrong key and keeps nothing.
		b.do("open /", chromedp.Navigate(fx.srv.URL+"/"))
		b.wait("the redirect to /ui/", `location.pathname === "/ui/" && document.querySelector("#signin")`)
		b.signIn("pdg_not_a_key")
		b.wait("the refusal", `document.querySelector("#signin .problem")`)
		if stored := eval[string](b, `sessionStorage.getItem("pedigree.key") || ""`); stored != "" {
			t.Fatalf("a refused key was kept: %q", stored)
		}
		b.signIn(fx.auditorKey)
		b.wait("the overview", `document.querySelector("main h1")?.textContent === "Overview" && document.querySelector("#readiness")`)
		if role := eval[string](b, `document.querySelector("#who .role").dataset.role`); role != registry.RoleAuditor {
			t.Fatalf("signed in as %q", role)
		}
		if got := eval[string](b, `sessionStorage.getItem("pedigree.key")`); got != fx.auditorKey {
			t.Fatal("the key is not in session storage")
		}
		if strings.Contains(eval[string](b, `location.href`), fx.auditorKey) {
			t.Fatal("the key is in the URL")
		}
		// The overview counts every sample (from /metrics) and states the signed checkpoint.
		b.wait("the sample count", `document.querySelector("[data-total]")`)
		if n := eval[int](b, `Number(document.querySelector("[data-total]").dataset.total)`); n != fx.samples {
			t.Fatalf("the overview counts %d samples; %d were ingested", n, fx.samples)
		}
		if !eval[bool](b, `/^\d+$/.test(document.querySelector(".note").textContent.split("\n")[1])`) {
			t.Fatal("the overview shows no checkpoint")
		}
	})

	t.Run("FindSampleAndLineage", func(t *testing.T) {
		b.use(t)
		b.session(fx.auditorKey)
		// A search the API refuses shows its problem, naming the field.
		b.open("#/samples?model=ghost@1")
		b.wait("the refusal", `document.querySelector("main .problem")`)
		if msg := eval[string](b, `document.querySelector("main .problem").textContent`); !strings.Contains(msg, "model: ") || !strings.Contains(msg, "ghost@1") {
			t.Fatalf("the refusal says %q", msg)
		}
		b.open("#/samples?dataset=chain&origin=model&min_generation=2")
		b.wait("the search results", `document.querySelectorAll("#sample-results tbody tr").length > 0`)
		// Generation ≥ 2 model samples of the chain: gen2, the rewrite (3) and the three variants.
		if n := eval[int](b, `document.querySelectorAll("#sample-results tbody tr").length`); n != 5 {
			t.Fatalf("the search shows %d samples, want 5", n)
		}
		b.do("open gen2", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#sample-results a[href="#/samples/%s"]`, fx.chain[2].ID))))
		b.wait("the lineage graph", `document.querySelectorAll("svg.lineage g.node").length > 0`)
		nodes := eval[int](b, `document.querySelectorAll("svg.lineage g.node").length`)
		edges := eval[int](b, `document.querySelectorAll("svg.lineage path.edge").length`)
		if nodes != fx.lineageNodes || edges != fx.lineageEdges || nodes != 8 {
			t.Fatalf("drawn: %d nodes and %d edges; the API has %d and %d (want 8 nodes)", nodes, edges, fx.lineageNodes, fx.lineageEdges)
		}
		if n := eval[int](b, `document.querySelectorAll("svg.lineage path.edge.prompt").length`); n != 1 {
			t.Fatalf("%d prompt edges drawn, want 1 (prompt → answer)", n)
		}
		if root := eval[string](b, `document.querySelector("svg.lineage g.node.root").dataset.id`); root != fx.chain[2].ID {
			t.Fatalf("the root node is %s", root)
		}
		// Every edge points down: a child's layer is below its parent's.
		if !eval[bool](b, `[...document.querySelectorAll("svg.lineage path.edge")].every(e => {
			const y = id => Number(document.querySelector('g.node[data-id="'+id+'"]').getAttribute("transform").match(/,([-\d.]+)\)/)[1]);
			return y(e.dataset.from) < y(e.dataset.to) })`) {
			t.Fatal("an edge points up")
		}
		// Provenance on the page: its id, and its parent (the answer) as a link.
		if got := eval[string](b, `document.querySelector("main h1 code").title`); got != fx.chain[2].ID {
			t.Fatalf("the page is of %s", got)
		}
		if parents := eval[string](b, `[...document.querySelectorAll("main .facts dt")].find(dt => dt.textContent === "parents").nextElementSibling.textContent`); parents != "…"+fx.chain[1].ID[len(fx.chain[1].ID)-12:] {
			t.Fatalf("parents shown as %q, want the answer %s", parents, fx.chain[1].ID)
		}
		// The keyboard walks the graph: from this sample up to its parent (the answer), up to the
		// prompt; Enter opens it.
		focused := func() string { return eval[string](b, `document.activeElement?.dataset?.id ?? ""`) }
		b.do("focus this sample's node", chromedp.Focus(chromedp.CSS(`svg.lineage g.node.root`)), chromedp.KeyEvent(kb.ArrowUp))
		if got := focused(); got != fx.chain[1].ID {
			t.Fatalf("ArrowUp from the sample focused %q, want its parent %s", got, fx.chain[1].ID)
		}
		b.do("up to the prompt", chromedp.KeyEvent(kb.ArrowUp))
		if got := focused(); got != fx.chain[0].ID {
			t.Fatalf("ArrowUp from the answer focused %q, want the prompt %s", got, fx.chain[0].ID)
		}
		b.do("down to the answer, back up, and open the prompt", chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowUp), chromedp.KeyEvent("\r"))
		b.wait("the prompt's page", fmt.Sprintf(`location.hash === "#/samples/%s" && document.querySelector("svg.lineage g.node.root")?.dataset.id === %q`, fx.chain[0].ID, fx.chain[0].ID))
		if !eval[bool](b, `[...document.querySelectorAll("main .facts dt")].some(dt => dt.textContent === "origin" && dt.nextElementSibling.textContent === "human")`) {
			t.Fatal("the prompt's provenance does not say human")
		}
		// Its candidates, ranked by each objective.
		b.open("#/prompts/" + fx.chain[0].ID)
		b.wait("the candidates", `document.querySelectorAll("[data-objective] tbody tr").length === 9`)
	})

	t.Run("LineageOfHundredsOfNodes", func(t *testing.T) {
		b.use(t)
		b.session(fx.auditorKey)
		b.open("#/samples/" + fx.wide.ID)
		b.wait("the graph", `document.querySelectorAll("svg.lineage g.node").length > 0`)
		if n := eval[int](b, `document.querySelectorAll("svg.lineage g.node").length`); n != 301 {
			t.Fatalf("%d nodes drawn, want the prompt and its 300 answers", n)
		}
		if n := eval[int](b, `document.querySelectorAll("svg.lineage path.edge.prompt").length`); n != 300 {
			t.Fatalf("%d prompt edges drawn, want 300", n)
		}
		// The answers wrap into rows, so the graph stays about a screen wide.
		if w := eval[int](b, `Number(document.querySelector("svg.lineage").getAttribute("width"))`); w > 2000 {
			t.Fatalf("the graph is %d px wide", w)
		}
	})

	t.Run("MixCharts", func(t *testing.T) {
		b.use(t)
		b.session(fx.auditorKey)
		b.open("#/mixes/" + fx.mix.ID)
		b.wait("the charts", `document.querySelector('[data-chart="synthetic-share"] rect.bar') && document.querySelectorAll("#mix-distributions figure").length === 3`)
		type bar struct {
			Label string  `json:"label"`
			Value float64 `json:"value"`
			Cap   string  `json:"cap"`
		}
		read := func(chart string) []bar {
			return eval[[]bar](b, fmt.Sprintf(`[...document.querySelectorAll('[data-chart=%q] rect.bar')].map(r => ({label: r.dataset.label, value: Number(r.dataset.value), cap: r.dataset.cap || ""}))`, chart))
		}
		st := fx.mix.Stats
		gens := read("generations")
		if len(gens) != len(st.Generations) {
			t.Fatalf("generation bars %+v, stats %+v", gens, st.Generations)
		}
		for _, g := range gens {
			if float64(st.Generations[g.Label]) != g.Value {
				t.Errorf("generation %s: chart %v, mix %d", g.Label, g.Value, st.Generations[g.Label])
			}
		}
		share := read("synthetic-share")
		if len(share) != 1 || share[0].Value != st.SyntheticRatio || share[0].Cap != "0.5" {
			t.Fatalf("synthetic share chart %+v; mix %v, cap 0.5", share, st.SyntheticRatio)
		}
		models := read("model-share")
		if len(models) != len(st.Models) {
			t.Fatalf("model bars %+v, stats %+v", models, st.Models)
		}
		for _, m := range models {
			if want := float64(st.Models[m.Label]) / float64(fx.mix.Size); m.Value != want || m.Cap != "0.5" {
				t.Errorf("model %s: chart %v cap %s, want %v cap 0.5", m.Label, m.Value, m.Cap, want)
			}
		}
		// The distributions are read from the export: as many human and synthetic samples as the mix.
		counts := eval[[]string](b, `[...document.querySelectorAll('[data-chart="dist-tokens"] table.chart-data tbody tr')].map(r => r.cells[1].textContent)`)
		if len(counts) != 2 || counts[0] != fmt.Sprint(st.Human) || counts[1] != fmt.Sprint(st.Synthetic) {
			t.Fatalf("token distribution counts %v; mix has %d human, %d synthetic", counts, st.Human, st.Synthetic)
		}
		if !eval[bool](b, `document.querySelector('main').textContent.includes("cap version 1") || document.querySelector('main a[href^="#/policies/cap"]') !== null`) {
			t.Fatal("the mix page does not link its policy version")
		}
	})

	t.Run("Refusal", func(t *testing.T) {
		b.use(t)
		b.session(fx.auditorKey)
		b.open("#/decisions?allowed=false")
		b.wait("the refusals", `document.querySelectorAll("#decisions li.refused").length > 0`)
		if n := eval[int](b, `document.querySelectorAll("#decisions li.allowed").length`); n != 0 {
			t.Fatalf("the refused filter shows %d allowed decisions", n)
		}
		got := eval[[]string](b, fmt.Sprintf(`[...document.querySelectorAll('#decisions li[data-id=%q] ul.violations li')].map(li => li.textContent)`, fx.refusal.DecisionID))
		if strings.Join(got, "\n") != strings.Join(fx.refusal.Violations, "\n") {
			t.Fatalf("violations shown %q; the API said %q", got, fx.refusal.Violations)
		}
	})

	t.Run("InclusionInTheBrowser", func(t *testing.T) {
		b.use(t)
		b.session(fx.auditorKey)
		s := fx.chain[3]
		b.open(fmt.Sprintf("#/log?index=%d&id=%s", s.LogIndex, s.ID))
		b.wait("the verdict", `document.querySelector("#inclusion [data-verdict]")`)
		b.open(fmt.Sprintf("#/log?index=%d&id=%s&again=1", s.LogIndex, s.ID))
		// The second visit proves the log consistent with the checkpoint the first one saw.
		b.wait("the second visit's consistency check", `document.querySelector("#inclusion [data-verdict]") && document.querySelector("#consistency")?.dataset.status === "consistent"`)
		if v := eval[string](b, `document.querySelector("#inclusion [data-verdict]").dataset.verdict`); v != "included" {
			t.Fatalf("verdict %q: %s", v, eval[string](b, `document.querySelector("#inclusion").textContent`))
		}
		sig := eval[string](b, `document.querySelector("#signature").dataset.status`)
		if sig != "verified" && sig != "unsupported" {
			t.Fatalf("the checkpoint's signature: %s", eval[string](b, `document.querySelector("#signature").textContent`))
		}
		t.Logf("checkpoint signature checked in the browser: %s", sig)

		// Consistency with the checkpoint the tab saw before, proven in the browser: from trees of
		// several sizes (powers of two among them) with their true roots, and refused for a root that
		// is not the log's or a tree larger than the log.
		note := must[[]byte](t)(fx.auditor.Checkpoint(context.Background()))
		lines := strings.Split(string(note), "\n")
		size := must[int64](t)(strconv.ParseInt(lines[1], 10, 64))
		roots := treeRoots(t, fx.auditor, size)
		for _, c := range []struct {
			from   int64
			root   string
			status string
		}{
			{1, roots[1], "consistent"}, {2, roots[2], "consistent"}, {64, roots[64], "consistent"}, {100, roots[100], "consistent"},
			{size - 1, roots[size-1], "consistent"}, {size, roots[size], "consistent"},
			{100, roots[99], "inconsistent"}, {64, roots[63], "inconsistent"}, {size + 1, roots[size], "shrunk"},
		} {
			b.do("a checkpoint seen before", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
				`sessionStorage.setItem("pedigree.checkpoint", JSON.stringify({origin: %q, size: %d, root: %q}))`, lines[0], c.from, c.root)))
			b.open(fmt.Sprintf("#/log?from=%d", c.from)) // a new hash, so that the page renders again
			b.wait("the consistency check", `document.querySelector("#consistency")?.dataset.status`)
			if got := eval[string](b, `document.querySelector("#consistency").dataset.status`); got != c.status {
				t.Fatalf("from %d leaves to %d: %q (%s), want %q", c.from, size, got, eval[string](b, `document.querySelector("#consistency").textContent`), c.status)
			}
		}

		b.do("forget the checkpoints", chromedp.Evaluate[chromedp.Void](`sessionStorage.removeItem("pedigree.checkpoint")`))
		b.open(fmt.Sprintf("#/log?index=%d&id=%s&tamper=1", s.LogIndex, s.ID))
		b.wait("the verdict", `document.querySelector("#inclusion [data-verdict]")`)

		// The same index with leaf bytes that differ by one byte does not verify.
		leaf := must[[]byte](t)(fx.auditor.LogEntry(context.Background(), s.LogIndex))
		leaf[len(leaf)/2] ^= 1
		b.do("check a wrong leaf", chromedp.SetValue(chromedp.CSS("#verify textarea[name=leaf]"), base64.StdEncoding.EncodeToString(leaf)),
			chromedp.Evaluate[chromedp.Void](`document.querySelector("#inclusion").replaceChildren()`),
			chromedp.Click(chromedp.CSS("#verify button[type=submit]")))
		b.wait("the verdict on the wrong leaf", `document.querySelector("#inclusion [data-verdict]")`)
		if v := eval[string](b, `document.querySelector("#inclusion [data-verdict]").dataset.verdict`); v != "not-included" {
			t.Fatalf("a tampered leaf got the verdict %q", v)
		}
		// A tampered proof (one hash changed on its way to the page) does not verify either.
		b.do("tamper with proofs", chromedp.Evaluate[chromedp.Void](`(() => {
			const real = window.fetch;
			window.fetch = async (...args) => {
				const res = await real(...args);
				if (!String(args[0]).startsWith("/v1/log/proof/inclusion")) return res;
				const body = await res.json();
				const h = atob(body.proof[0]); body.proof[0] = btoa(String.fromCharCode(h.charCodeAt(0) ^ 1) + h.slice(1));
				return new Response(JSON.stringify(body), {status: 200, headers: {"Content-Type": "application/json"}});
			};
		})()`),
			chromedp.Evaluate[chromedp.Void](`document.querySelector("#verify textarea[name=leaf]").value = ""`),
			chromedp.Evaluate[chromedp.Void](`document.querySelector("#inclusion").replaceChildren()`),
			chromedp.Click(chromedp.CSS("#verify button[type=submit]")))
		b.wait("the verdict on the tampered proof", `document.querySelector("#inclusion [data-verdict]")`)
		if v := eval[string](b, `document.querySelector("#inclusion [data-verdict]").dataset.verdict`); v != "not-included" {
			t.Fatalf("a tampered proof got the verdict %q", v)
		}
	})

	t.Run("Model", func(t *testing.T) {
		b.use(t)
		b.session(fx.auditorKey)
		b.open("#/models/" + fx.student.ID)
		b.wait("the model", `document.querySelector("#disclosure p")`)
		if !eval[bool](b, fmt.Sprintf(`document.querySelector('main a[href="#/mixes/%s"]') !== null`, fx.mix.ID)) {
			t.Fatal("the student's page does not link the mix it was trained on")
		}
		if !eval[bool](b, `document.querySelector("#disclosure .notice") !== null`) {
			t.Fatalf("a model without a disclosure: %s", eval[string](b, `document.querySelector("#disclosure").textContent`))
		}
		b.open("#/models/teacher-a@1")
		b.wait("the teacher", `document.querySelector("#disclosure p") && document.querySelectorAll("main table tbody tr").length > 0`)
		if n := eval[int](b, `document.querySelectorAll("main table tbody tr").length`); n != 50 {
			t.Fatalf("the teacher's page lists %d of its samples, want a first page of 50", n)
		}
	})

	t.Run("DownloadReport", func(t *testing.T) {
		b.use(t)
		b.session(fx.auditorKey)
		b.open("#/report?model=" + fx.student.ID)
		b.wait("the summary", `document.querySelector("#report .report-title") && document.querySelector("#completeness [data-publishable]")`)
		// The completeness check, where the server has it, as the API states it.
		shown := eval[string](b, `document.querySelector("#completeness [data-publishable]").dataset.publishable`)
		_, body, err := fx.auditor.Do(context.Background(), client.Request{Method: http.MethodGet, Path: "/v1/reports/eu-ai-act/completeness?model=" + fx.student.ID})
		switch {
		case client.StatusOf(err) == http.StatusNotFound:
			if shown != "unknown" {
				t.Fatalf("the server has no completeness check; the page says %q", shown)
			}
		case err != nil:
			t.Fatal(err)
		default:
			var c struct {
				Publishable bool              `json:"publishable"`
				Missing     []json.RawMessage `json:"missing"`
			}
			if err := json.Unmarshal(body, &c); err != nil {
				t.Fatal(err)
			}
			rows := eval[int](b, `document.querySelectorAll("#missing tbody tr").length`)
			if shown != fmt.Sprint(c.Publishable) || rows != len(c.Missing) {
				t.Fatalf("completeness shown: publishable %s with %d missing; the API: %v with %d", shown, rows, c.Publishable, len(c.Missing))
			}
		}
		// The HTML summary shows in a frame sandboxed without scripts.
		b.do("show the HTML summary", chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("main button")].find(b => b.textContent === "Show the HTML summary").click()`))
		b.wait("the summary's frame", `document.querySelector("iframe.report-frame")?.srcdoc.includes("student@1")`)
		if sandbox := eval[string](b, `document.querySelector("iframe.report-frame").getAttribute("sandbox")`); sandbox != "" {
			t.Fatalf("the report's frame is sandboxed with %q; want no permission at all", sandbox)
		}
		file := fmt.Sprintf("model-%s-eu-ai-act.md", fx.student.ID)
		b.do("download the Markdown summary", chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[data-file=%q]`, file))))
		b.wait("the download", fmt.Sprintf(`document.querySelector("#download-status").dataset.file === %q`, file))
		var got []byte
		for range 100 { // the browser writes the file after the page has handed it over
			var err error
			if got, err = os.ReadFile(filepath.Join(b.downloads, file)); err == nil && len(got) > 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		want := must[[]byte](t)(fx.auditor.EUAIActReport(context.Background(), fx.student.ID, "", "text/markdown"))
		for _, s := range []string{"student", "teacher-a@1", fx.mix.ManifestSHA256} {
			if !strings.Contains(string(got), s) || !strings.Contains(string(want), s) {
				t.Fatalf("the downloaded report (%d bytes) lacks %q", len(got), s)
			}
		}
	})

	t.Run("Narrow", func(t *testing.T) {
		b.use(t)
		b.session(fx.auditorKey)
		b.do("a 390 px viewport", chromedp.EmulateViewport(390, 844))
		for _, page := range []string{"#/mixes/" + fx.mix.ID, "#/samples/" + fx.chain[2].ID, "#/decisions"} {
			b.open(page)
			b.wait(page, `document.querySelector("main h1") && !document.querySelector("main").textContent.includes("Reading the mix")`)
			if w := eval[int](b, `document.documentElement.scrollWidth`); w > 390 {
				t.Errorf("%s is %d px wide at 390 px", page, w)
			}
		}
		b.do("back to 1280 px", chromedp.EmulateViewport(1280, 900))
	})

	t.Run("RolesOfferOnlyWhatTheyMay", func(t *testing.T) {
		b.use(t)
		b.session(fx.auditorKey)
		b.open("#/policies/cap")
		b.wait("the policy", `document.querySelector("#module")`)
		if eval[bool](b, `document.querySelector("#upload") !== null`) {
			t.Fatal("an auditor is offered the upload form")
		}
		if tests := eval[[]string](b, `[...document.querySelectorAll("#tests code")].map(c => c.textContent)`); len(tests) != 1 || tests[0] != "test_refuses_too_synthetic" {
			t.Fatalf("tests listed: %q", tests)
		}
		if eval[bool](b, `document.querySelector('#nav a[href="#/keys"]') !== null`) {
			t.Fatal("an auditor is offered the keys page")
		}
		b.do("sign out", chromedp.Click(chromedp.CSS("#signout")))
		b.wait("the sign-in form", `document.querySelector("#signin") && !sessionStorage.getItem("pedigree.key")`)
		b.signIn(fx.ingestKey)
		b.wait("the ingest key's page", `document.querySelector("#who .role")?.dataset.role === "ingest"`)
		if n := eval[int](b, `document.querySelectorAll("#nav a").length`); n != 0 {
			t.Fatalf("an ingest key is offered %d pages", n)
		}
		b.do("sign out", chromedp.Click(chromedp.CSS("#signout")))
		b.signIn(fx.srv.AdminKey)
		b.open("#/policies/cap")
		b.wait("the admin's upload form", `document.querySelector("#upload textarea")`)
		// The admin uploads a second version and sees the diff against the first.
		b.do("upload version 2", chromedp.SetValue(chromedp.CSS("#upload textarea"), strings.Replace(capPolicy, `"max_generation": 2`, `"max_generation": 3`, 1)),
			chromedp.Click(chromedp.CSS("#upload button[type=submit]")))
		b.wait("version 2", `location.hash.includes("version=2") && document.querySelector("#diff-summary")`)
		if s := eval[string](b, `document.querySelector("#diff-summary").textContent`); s != "Version 1 → 2: 1 lines added, 1 removed." {
			t.Fatalf("diff summary %q", s)
		}
		if got := eval[[]string](b, `[...document.querySelectorAll("#diff .add, #diff .del")].map(s => s.textContent.trim())`); len(got) != 2 ||
			!strings.Contains(got[0], `"max_generation": 2`) || !strings.Contains(got[1], `"max_generation": 3`) {
			t.Fatalf("diff lines %q", got)
		}

		// The admin creates a key, which works, and revokes it, after which it does not.
		b.open("#/keys")
		b.wait("the keys", `document.querySelectorAll("#keys tbody tr").length > 0`)
		b.do("create an auditor key", chromedp.SetValue(chromedp.CSS("#create-key select"), "auditor"), chromedp.Click(chromedp.CSS("#create-key button[type=submit]")))
		b.wait("the new key", `document.querySelector("#created-key .secret")`)
		key := eval[string](b, `document.querySelector("#created-key .secret").textContent`)
		var k registry.APIKey
		_, body, err := fx.srv.Client(key).Do(context.Background(), client.Request{Method: http.MethodGet, Path: "/v1/whoami"})
		if err != nil || json.Unmarshal(body, &k) != nil || k.Role != registry.RoleAuditor {
			t.Fatalf("the key the console created: %s %v", body, err)
		}
		b.do("revoke it", chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`#keys button[data-revoke=%q]`, k.ID))))
		b.wait("the revocation", fmt.Sprintf(`!document.querySelector('#keys button[data-revoke=%q]')`, k.ID))
		if _, _, err := fx.srv.Client(key).Do(context.Background(), client.Request{Method: http.MethodGet, Path: "/v1/whoami"}); client.StatusOf(err) != 401 {
			t.Fatalf("the revoked key: %v", err)
		}
	})
}

// TestConsoleServing checks the console's files and the routes it relies on without a browser: the
// redirect, the security headers, conditional requests, unknown files, whoami and the decisions list.
func TestConsoleServing(t *testing.T) {
	srv := startServer(t, "")
	ctx := context.Background()
	// Every exchange below but the unknown paths is checked against openapi.yaml.
	checked := spectest.Transport(t, http.DefaultTransport)
	noRedirect := &http.Client{Transport: checked, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"/", "/ui"} {
		res, err := noRedirect.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/ui/" {
			t.Fatalf("GET %s: %d to %q", p, res.StatusCode, res.Header.Get("Location"))
		}
	}
	res, err := noRedirect.Get(srv.URL + "/ui/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	etag := res.Header.Get("ETag")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || etag == "" ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("GET /ui/: %d %v", res.StatusCode, res.Header)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/ui/", nil)
	req.Header.Set("If-None-Match", etag)
	if res, err := noRedirect.Do(req); err != nil || res.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional GET: %v %v", res, err)
	}
	for _, p := range []string{"/ui/app.js", "/ui/merkle.js", "/ui/style.css"} {
		res, err := http.Get(srv.URL + p)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", p, res, err)
		}
		res.Body.Close()
	}
	for _, p := range []string{"/ui/nope.js", "/ui/../openapi.yaml", "/ui/assets/app.js"} {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		var prob client.Problem
		json.NewDecoder(res.Body).Decode(&prob)
		res.Body.Close()
		if p == "/ui/../openapi.yaml" { // the client cleans the path: it is /openapi.yaml, not a console file
			continue
		}
		if res.StatusCode != 404 || prob.Status != 404 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
			t.Fatalf("GET %s: %d %+v", p, res.StatusCode, prob)
		}
	}

	// whoami tells each key its role, and refuses no key.
	for _, role := range []string{registry.RoleIngest, registry.RoleAuditor} {
		_, body, err := srv.Client(srv.Key(role)).Do(ctx, client.Request{Method: http.MethodGet, Path: "/v1/whoami"})
		if err != nil {
			t.Fatal(err)
		}
		var k registry.APIKey
		if err := json.Unmarshal(body, &k); err != nil || k.Role != role || k.ID == "" || strings.Contains(string(body), "pdg_") {
			t.Fatalf("whoami as %s: %s", role, body)
		}
	}
	if _, _, err := srv.Client("").Do(ctx, client.Request{Method: http.MethodGet, Path: "/v1/whoami"}); client.StatusOf(err) != 401 {
		t.Fatalf("whoami without a key: %v", err)
	}
	if _, _, err := srv.Admin().Do(ctx, client.Request{Method: http.MethodGet, Path: "/v1/whoami?x=1"}); client.StatusOf(err) != 400 {
		t.Fatalf("whoami with a query: %v", err)
	}

	checkDecisionList(t, srv)
}

// TestDecisionListOnPostgres runs the decisions list against PostgreSQL, whose allowed column is a
// boolean (SQLite's an integer).
func TestDecisionListOnPostgres(t *testing.T) {
	checkDecisionList(t, startServer(t, "", "--db", postgresDSN(t)))
}

// checkDecisionList: decisions listed allowed and refused, in order, paged, filtered by allowed;
// bad parameters refused; an ingest key may not read them.
func checkDecisionList(t *testing.T, srv *testServer) {
	ctx := context.Background()
	ingest := srv.Client(srv.Key(registry.RoleIngest))
	auditor := srv.Client(srv.Key(registry.RoleAuditor))
	if _, _, err := srv.Admin().PutPolicy(ctx, "cap", capPolicy); err != nil {
		t.Fatal(err)
	}
	must[[]client.IngestedSample](t)(ingest.IngestBatch(ctx, []registry.NewSample{
		human("A first sentence that a person wrote down."), human("A second sentence that a person wrote down.")}, ""))
	// Decisions in this order: refused, allowed, refused, refused.
	var ids []string
	refuse := func() {
		_, err := ingest.CreateMix(ctx, registry.MixRequest{Size: 10}, "") // the default policy wants 100 human samples
		ids = append(ids, problemOf(t, err).DecisionID)
	}
	refuse()
	mix := must[*registry.Mix](t)(ingest.CreateMix(ctx, registry.MixRequest{Size: 10, Policy: "cap"}, ""))
	ids = append(ids, mix.DecisionID)
	refuse()
	refuse()
	type page struct {
		Decisions  []registry.Decision `json:"decisions"`
		NextCursor string              `json:"next_cursor"`
	}
	list := func(query string) []registry.Decision {
		t.Helper()
		var got []registry.Decision
		path := "/v1/decisions?limit=2" + query
		for path != "" {
			_, body, err := auditor.Do(ctx, client.Request{Method: http.MethodGet, Path: path})
			if err != nil {
				t.Fatal(err)
			}
			var p page
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatal(err)
			}
			got = append(got, p.Decisions...)
			path = ""
			if p.NextCursor != "" {
				path = "/v1/decisions?limit=2&cursor=" + p.NextCursor + query
			}
		}
		return got
	}
	for _, c := range []struct {
		query string
		want  []int // indexes into ids
	}{{"", []int{0, 1, 2, 3}}, {"&allowed=false", []int{0, 2, 3}}, {"&allowed=true", []int{1}}} {
		got := list(c.query)
		if len(got) != len(c.want) {
			t.Fatalf("%q: %d decisions listed, want %d", c.query, len(got), len(c.want))
		}
		for i, d := range got {
			want := ids[c.want[i]]
			if d.ID != want || d.Allowed != (c.want[i] == 1) || (d.MixID == mix.ID) != d.Allowed || (len(d.Violations) == 0) != d.Allowed {
				t.Fatalf("%q: decision %d is %+v, want %s", c.query, i, d, want)
			}
		}
	}
	for _, q := range []string{"allowed=yes", "allowed=true&allowed=false", "cursor=!!", "limit=0", "state=x"} {
		if _, _, err := auditor.Do(ctx, client.Request{Method: http.MethodGet, Path: "/v1/decisions?" + q}); client.StatusOf(err) != 400 {
			t.Fatalf("GET /v1/decisions?%s: %v", q, err)
		}
	}
	if _, _, err := ingest.Do(ctx, client.Request{Method: http.MethodGet, Path: "/v1/decisions"}); client.StatusOf(err) != 403 {
		t.Fatalf("an ingest key listing decisions: %v", err)
	}
}
