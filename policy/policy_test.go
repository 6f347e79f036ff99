package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/registry"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"default", true},
		{"a", true},
		{"team-a.v2_strict", true},
		{"0policy", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"Upper", false},
		{"-leading", false},
		{"_leading", false},
		{"name@1", false},
		{"has space", false},
		{"slash/name", false},
		{"naïve", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateName(tc.name)
			if tc.ok && err != nil {
				t.Fatalf("ValidateName(%q) = %v, want nil", tc.name, err)
			}
			if !tc.ok && registry.ErrorCode(err) != registry.EINVALID {
				t.Fatalf("ValidateName(%q) code = %q, want %q", tc.name, registry.ErrorCode(err), registry.EINVALID)
			}
		})
	}
}

const pkg = "package pedigree.mix\n"

// TestCompileRefuses checks each way a module is refused at upload. contains, when set, must
// appear in the error's field messages: OPA's position (file:line:column) or the thing named.
func TestCompileRefuses(t *testing.T) {
	tests := []struct {
		name     string
		policy   string // the policy name; "p" when empty
		module   string
		code     string
		contains []string
	}{
		{name: "ErrBadName", policy: "Bad Name", module: pkg, code: registry.EINVALID},
		{name: "ErrTooLarge", module: pkg + "# " + strings.Repeat("x", MaxModuleBytes), code: registry.ETOOLARGE},
		{name: "ErrNotUTF8", module: pkg + "x := \"\xff\"\n", code: registry.EINVALID},
		{name: "ErrEmpty", module: "", code: registry.EINVALID},
		{name: "ErrOnlyComments", module: "# nothing\n", code: registry.EINVALID},
		{name: "ErrSyntax", module: pkg + "\ninclude if {\n    input.sample.x ==\n}\n", code: registry.EINVALID,
			contains: []string{"policy.rego:5:1: rego_parse_error"}},
		{name: "ErrSyntaxColumn", module: pkg + "limits := {\"a\": 1,, }\n", code: registry.EINVALID,
			contains: []string{"policy.rego:2:", "rego_parse_error"}},
		{name: "ErrRegoV0", module: pkg + "deny[msg] { msg := \"x\" }\n", code: registry.EINVALID,
			contains: []string{"policy.rego:2:"}},
		{name: "ErrWrongPackage", module: "package pedigree.other\n", code: registry.EINVALID,
			contains: []string{"policy.rego:1:1:", "pedigree.other"}},
		{name: "ErrUnsafeVar", module: pkg + "include if x\n", code: registry.EINVALID,
			contains: []string{"policy.rego:2:12: rego_unsafe_var_error"}},
		{name: "ErrUndefinedFunction", module: pkg + "x := no_such_function(1)\n", code: registry.EINVALID,
			contains: []string{"policy.rego:2:"}},

		{name: "ErrHTTPSend", module: pkg + "x := http.send({\"method\": \"GET\", \"url\": \"http://127.0.0.1/\"})\n",
			code: registry.EINVALID, contains: []string{"policy.rego:2:6:", "http.send"}},
		{name: "ErrHTTPSendStatement", module: pkg + "deny contains \"x\" if { http.send({}, r); r.status_code == 200 }\n",
			code: registry.EINVALID, contains: []string{"http.send"}},
		{name: "ErrNetLookup", module: pkg + "x := net.lookup_ip_addr(\"example.com\")\n", code: registry.EINVALID,
			contains: []string{"net.lookup_ip_addr"}},
		{name: "ErrOPARuntime", module: pkg + "x := opa.runtime()\n", code: registry.EINVALID, contains: []string{"opa.runtime"}},
		{name: "ErrRand", module: pkg + "x := rand.intn(\"s\", 10)\n", code: registry.EINVALID, contains: []string{"rand.intn"}},
		{name: "ErrUUID", module: pkg + "x := uuid.rfc4122(\"s\")\n", code: registry.EINVALID, contains: []string{"uuid.rfc4122"}},
		{name: "ErrJSONSchema", module: pkg + "x := json.match_schema({}, {\"$ref\": \"file:///etc/passwd\"})\n",
			code: registry.EINVALID, contains: []string{"json.match_schema"}},
		{name: "ErrTimeInInclude", module: pkg + "include if time.now_ns() > 0\n", code: registry.EINVALID,
			contains: []string{"policy.rego:2:12:", "time.now_ns"}},
		{name: "ErrTimeInLimits", module: pkg + "limits := {\"t\": time.now_ns()}\n", code: registry.EINVALID,
			contains: []string{"time.now_ns"}},
		{name: "ErrTimeThroughHelper", module: pkg + "recent(x) if x > time.now_ns() - 1\ninclude if recent(input.sample.tokens)\n",
			code: registry.EINVALID, contains: []string{"policy.rego:2:", "time.now_ns"}},

		{name: "ErrIncludeStartswith", module: pkg + "include if startswith(input.sample.model, \"gpt\")\n", code: registry.EINVALID,
			contains: []string{"policy.rego:2:12: pe_fragment_error", "startswith"}},
		{name: "ErrIncludeArithmetic", module: pkg + "include if input.sample.tokens * 2 > 100\n", code: registry.EINVALID,
			contains: []string{"policy.rego:2:", "pe_fragment_error"}},
		{name: "ErrIncludeNestedRef", module: pkg + "include if input.sample.metadata.lang.code == \"en\"\n", code: registry.EINVALID,
			contains: []string{"policy.rego:2:12:", "input.sample.metadata.lang.code reads nested metadata"}},
		{name: "ErrIncludeDefault", module: pkg + "default include := false\ninclude if input.sample.origin == \"human\"\n",
			code: registry.EINVALID, contains: []string{"policy.rego:2:", "use of default rule"}},
		{name: "ErrIncludeEvery", module: pkg + "include if every l in input.sample.license { l != \"x\" }\n", code: registry.EINVALID,
			contains: []string{"policy.rego:2:"}},
		{name: "ErrIncludeUnknownColumn", module: pkg + "include if input.sample.text == \"x\"\n", code: registry.EINVALID,
			contains: []string{"policy.rego:2:12:", "input.sample.text is not a column"}},
		{name: "ErrIncludeStringForNumber", module: pkg + "include if input.sample.generation == \"2\"\n", code: registry.EINVALID,
			contains: []string{"policy.rego:2:12:", "generation"}},
		{name: "ErrIncludeNumberForText", module: pkg + "include if input.sample.dataset == 2\n", code: registry.EINVALID,
			contains: []string{"dataset"}},
		{name: "ErrIncludeNumberInTextSet", module: pkg + "include if input.sample.license in {\"MIT\", 1}\n", code: registry.EINVALID,
			contains: []string{"license"}},
		{name: "ErrIncludeBoolean", module: pkg + "include if input.sample.origin == true\n", code: registry.EINVALID},
		{name: "ErrIncludeMixedColumns", module: pkg + "include if input.sample.dataset == input.sample.tokens\n", code: registry.EINVALID},
		{name: "ErrIncludeNUL", module: pkg + "include if input.sample.dataset == \"a\\u0000b\"\n", code: registry.EINVALID},
		{name: "ErrIncludeSet", module: pkg + "include contains 1 if input.sample.origin == \"human\"\n", code: registry.EINVALID,
			contains: []string{"policy.rego:2:1:"}},
		{name: "ErrIncludeElse", module: pkg + "include if input.sample.origin == \"human\" else := false\n", code: registry.EINVALID,
			contains: []string{"policy.rego:2:", "else"}},
		{name: "ErrIncludeHugeNumber", module: pkg + "include if input.sample.tokens > 1e400\n", code: registry.EINVALID},
		{name: "ErrIncludeTooLarge", module: pkg + "include if { some g in numbers.range(1, 12000); input.sample.generation == g }\n",
			code: registry.EINVALID, contains: []string{"policy.rego:2:1:"}},
		{name: "ErrIncludeBuiltinError", module: pkg + "include if input.sample.tokens > to_number(\"many\")\n", code: registry.EINVALID},

		{name: "ErrLimitsNotObject", module: pkg + "limits := [1]\n", code: registry.EINVALID, contains: []string{"policy.rego:2:1:"}},
		{name: "ErrLimitsFromInput", module: pkg + "limits := {\"max_generation\": input.mix.size}\n", code: registry.EINVALID},
		{name: "ErrLimitsEvalError", module: pkg + "limits := {\"max_generation\": to_number(\"x\")}\n", code: registry.EINVALID},
		{name: "ErrLimitsRatioRange", module: pkg + "limits := {\"max_synthetic_ratio\": 1.5}\n", code: registry.EINVALID,
			contains: []string{"max_synthetic_ratio"}},
		{name: "ErrLimitsRatioString", module: pkg + "limits := {\"max_synthetic_ratio\": \"0.5\"}\n", code: registry.EINVALID},
		{name: "ErrLimitsShareNegative", module: pkg + "limits := {\"max_model_share\": -0.1}\n", code: registry.EINVALID},
		{name: "ErrLimitsGenerationFraction", module: pkg + "limits := {\"max_generation\": 2.5}\n", code: registry.EINVALID},
		{name: "ErrLimitsGenerationNegative", module: pkg + "limits := {\"max_generation\": -1}\n", code: registry.EINVALID},
		{name: "ErrLimitsHumansString", module: pkg + "limits := {\"min_human_samples\": \"100\"}\n", code: registry.EINVALID,
			contains: []string{"min_human_samples"}},
		{name: "ErrLimitsHumansHuge", module: pkg + "limits := {\"min_human_samples\": 1e20}\n", code: registry.EINVALID},

		{name: "ErrTestFails", module: pkg + "x := 1\ntest_x_is_two if x == 2\ntest_x_is_one if x == 1\n", code: registry.EINVALID,
			contains: []string{"tests/test_x_is_two", "policy.rego:3:1:"}},
		{name: "ErrTestErrors", module: pkg + "test_divides if 1 / 0\n", code: registry.EINVALID,
			contains: []string{"tests/test_divides", "div"}},
		{name: "ErrTestsFailNamed", module: pkg + "test_a if false\ntest_b if false\n", code: registry.EINVALID,
			contains: []string{"tests/test_a", "tests/test_b"}},
		{name: "ErrNestedTestFails", module: pkg + "checks.test_nested if false\n", code: registry.EINVALID,
			contains: []string{"checks.test_nested"}},
		{name: "ErrTestOfInclude", module: pkg + "include if input.sample.generation < 2\ntest_admits_gen_2 if include with input as {\"sample\": {\"generation\": 2}}\n",
			code: registry.EINVALID, contains: []string{"test_admits_gen_2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.policy
			if name == "" {
				name = "p"
			}
			p, err := Compile(context.Background(), name, tc.module)
			if err == nil {
				t.Fatalf("Compile succeeded (Where %q), want %s", p.Where(SQLite), tc.code)
			}
			if got := registry.ErrorCode(err); got != tc.code {
				t.Fatalf("code = %q, want %q (%v)", got, tc.code, err)
			}
			text := fieldText(err)
			for _, want := range tc.contains {
				if !strings.Contains(text, want) {
					t.Errorf("fields do not contain %q:\n%s", want, text)
				}
			}
			if len(fieldsOf(err)) == 0 && tc.code == registry.EINVALID {
				t.Errorf("no field errors: %v", err)
			}
		})
	}
}

// TestCompileAccepts checks modules at the edges of what is allowed.
func TestCompileAccepts(t *testing.T) {
	tests := []struct {
		name   string
		module string
	}{
		{"OnlyPackage", pkg},
		{"ImportRegoV1", pkg + "import rego.v1\ninclude if input.sample.origin == \"human\"\n"},
		{"TimeInDeny", pkg + "deny contains \"late\" if time.now_ns() > 0\n"},
		{"PrintIsErased", pkg + "deny contains \"x\" if { print(\"hello\"); false }\n"},
		{"PassingAndSkippedTests", pkg + "test_ok if true\ntodo_test_later if false\n"},
		{"TestMocksTime", pkg + "late if time.now_ns() > 5\ntest_late if late with time.now_ns as 10\n"},
		{"LimitsExtraKeys", pkg + "limits := {\"max_generation\": 2.0, \"note\": \"x\", \"weights\": {\"a\": [1, 2]}}\n"},
		{"LimitsRefHead", pkg + "limits.max_generation := 3\nlimits.max_synthetic_ratio := 0\n"},
		{"LimitsNullKnownKey", pkg + "limits := {\"max_generation\": null}\n"},
		{"DenyCompleteSet", pkg + "deny := {\"x\"} if false\n"},
		{"ModuleAtLimit", pkg + "# " + strings.Repeat("x", MaxModuleBytes-len(pkg)-3) + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := MustCompile(t, tc.module)
			sum := sha256.Sum256([]byte(tc.module))
			if p.SHA256() != hex.EncodeToString(sum[:]) {
				t.Errorf("SHA256 = %s, want the hash of the module text", p.SHA256())
			}
			if p.Module() != tc.module || p.Name() != "test" {
				t.Errorf("Module/Name not kept")
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const module = pkg + `
deny contains sprintf("mix of %d is below 10", [input.mix.size]) if input.mix.size < 10
deny contains "too synthetic" if input.mix.stats.synthetic_ratio > 0.5
deny contains {"code": "odd"} if input.mix.size % 2 == 1
deny contains sprintf("bad number %v", [to_number(input.mix.request.label)]) if input.mix.request.label
`
	p := MustCompile(t, module)
	type stats struct {
		SyntheticRatio float64 `json:"synthetic_ratio"`
	}
	type summary struct {
		Size  int            `json:"size"`
		Stats stats          `json:"stats"`
		Req   map[string]any `json:"request"`
	}
	tests := []struct {
		name       string
		policy     *Policy
		mix        any
		at         time.Time
		allowed    bool
		violations []string
		wantError  bool
	}{
		{name: "Allowed", policy: p, mix: map[string]any{"size": 100, "stats": map[string]any{"synthetic_ratio": 0.2}}, at: at, allowed: true},
		{name: "AllowedStruct", policy: p, mix: summary{Size: 100, Stats: stats{0.2}}, at: at, allowed: true},
		{name: "DeniedSorted", policy: p, mix: summary{Size: 5, Stats: stats{0.9}}, at: at,
			violations: []string{"mix of 5 is below 10", "too synthetic", `{"code":"odd"}`}},
		{name: "EvalErrorFailsClosed", policy: p, mix: summary{Size: 100, Req: map[string]any{"label": "abc"}}, at: at, wantError: true},
		{name: "UnencodableInputFailsClosed", policy: p, mix: summary{Size: 100, Stats: stats{math.NaN()}}, at: at, wantError: true},
		{name: "ZeroTimeFailsClosed", policy: p, mix: summary{Size: 100}, at: time.Time{}, wantError: true},
		{name: "NoDenyRuleAllows", policy: MustCompile(t, pkg+"x := 1\n"), mix: nil, at: at, allowed: true},
		{name: "UndefinedDenyFailsClosed", policy: MustCompile(t, pkg+"deny := {\"x\"} if input.mix.size > 1000\n"),
			mix: summary{Size: 1}, at: at, wantError: true},
		{name: "NonSetDenyFailsClosed", policy: MustCompile(t, pkg+"deny := [\"x\"]\n"), mix: summary{Size: 1}, at: at, wantError: true},
		{name: "EmptySetDenyAllows", policy: MustCompile(t, pkg+"deny := set()\n"), mix: summary{Size: 1}, at: at, allowed: true},
		{name: "ConflictFailsClosed", policy: MustCompile(t, pkg+"deny := {\"a\"} if input.mix.size > 0\ndeny := {\"b\"} if input.mix.size > 1\n"),
			mix: summary{Size: 5}, at: at, wantError: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.policy.Evaluate(context.Background(), tc.mix, tc.at)
			if d.Allowed != tc.allowed {
				t.Fatalf("Allowed = %v, want %v (%+v)", d.Allowed, tc.allowed, d)
			}
			if (d.Error != "") != tc.wantError {
				t.Fatalf("Error = %q, want error %v", d.Error, tc.wantError)
			}
			if !slices.Equal(d.Violations, tc.violations) {
				t.Fatalf("Violations = %q, want %q", d.Violations, tc.violations)
			}
		})
	}
}

func TestEvaluateFixedTime(t *testing.T) {
	p := MustCompile(t, pkg+"deny contains sprintf(\"evaluated at %d\", [time.now_ns()]) if input.mix.size > 0\n")
	mix := map[string]any{"size": 3}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	first := p.Evaluate(context.Background(), mix, at)
	want := []string{"evaluated at 1767323045000000006"}
	if !slices.Equal(first.Violations, want) {
		t.Fatalf("Violations = %q, want %q", first.Violations, want)
	}
	for range 3 {
		if again := p.Evaluate(context.Background(), mix, at); !slices.Equal(again.Violations, first.Violations) {
			t.Fatalf("same input and time gave %q, then %q", first.Violations, again.Violations)
		}
	}
	if later := p.Evaluate(context.Background(), mix, at.Add(time.Second)); slices.Equal(later.Violations, first.Violations) {
		t.Fatalf("a different time gave the same decision %q: the time is not the one passed", later.Violations)
	}
}

func TestEvaluateTimeout(t *testing.T) {
	// About 10^8 iterations: far longer than the deadline, cancellable, small in memory.
	p := MustCompile(t, pkg+`deny contains "never" if {
	some i in numbers.range(1, 10000)
	some j in numbers.range(1, 10000)
	i + j < 0
}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	// Were the deadline ignored, the loop would end with no message: an allowed mix.
	d := p.Evaluate(ctx, map[string]any{}, time.Unix(1, 0))
	if d.Allowed || d.Error == "" || !strings.Contains(d.Error, "timed out") {
		t.Fatalf("Evaluate past its deadline = %+v, want a refusal for the timeout", d)
	}
}

func TestEvaluateConcurrent(t *testing.T) {
	p := MustCompile(t, pkg+"deny contains sprintf(\"size %d\", [input.mix.size]) if input.mix.size % 2 == 0\n")
	at := time.Unix(1700000000, 0)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				size := g*100 + i
				d := p.Evaluate(context.Background(), map[string]any{"size": size}, at)
				wantDenied := size%2 == 0
				if d.Allowed == wantDenied || d.Error != "" {
					errs <- d.Error
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("a concurrent evaluation gave the wrong decision (error %q)", e)
	}
}

func TestCompileCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Compile(ctx, "p", DefaultModule()); err == nil {
		t.Fatal("Compile with a canceled context succeeded")
	}
}
