package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/pedigreeml/pedigree/registry"
)

// Dialect names a SQL dialect that [Policy.Where] renders the include fragment for.
type Dialect string

// The dialects every policy is compiled for.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Dialects lists every dialect a compiled policy carries a fragment for.
var Dialects = []Dialect{SQLite, Postgres}

// Columns are the fields of input.sample that an include rule may read, and the columns the
// store's row source (aliased s) must expose, with these types: origin ('human'|'model'), model
// (text "name@version" or NULL), generation (integer), generation_basis ('human'|'mixes'|
// 'declared'), dataset (text), source_kind (text), license (text, SPDX), tokens (integer), mtld
// (real), toxicity (real or NULL), cluster (the id of the first sample of the sample's
// near-duplicate cluster, or NULL when that is the sample itself) and near_duplicate_of (the model
// sample that human text stored under --laundering=flag near-duplicates, or NULL).
var Columns = []string{"origin", "model", "generation", "generation_basis", "dataset", "source_kind", "license", "tokens", "mtld", "toxicity",
	"cluster", "near_duplicate_of"}

// numericColumns are the Columns that hold numbers; the others hold text.
var numericColumns = map[string]bool{"generation": true, "tokens": true, "mtld": true, "toxicity": true}

// Limits of a module, and the time budgets of its checks and evaluations.
const (
	// MaxModuleBytes is the largest module Compile accepts.
	MaxModuleBytes = 64 << 10
	// MaxWhereBytes is the largest SQL fragment an include may translate into.
	MaxWhereBytes = 256 << 10
	// EvalTimeout bounds one evaluation of deny.
	EvalTimeout = 2 * time.Second
	// TestTimeout bounds each test_ rule at compile time.
	TestTimeout = 2 * time.Second
	// CompileTimeout bounds a whole Compile, tests included.
	CompileTimeout = 20 * time.Second
)

// fileName is the name OPA's messages give the module, as in "policy.rego:3:5: ...".
const fileName = "policy.rego"

// packagePath is the package every policy module must declare.
var packagePath = ast.MustParseRef("data.pedigree.mix")

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// ValidateName reports whether name is a valid policy name: 1–64 characters of lower-case letters,
// digits, '_', '.' and '-', starting with a letter or digit. It returns a registry.EINVALID error
// on the field "name" otherwise.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return registry.FieldErrorf("name", "policy name %q must match %s", truncate(name, 80), nameRE)
	}
	return nil
}

// Policy is one compiled, checked policy version: its include fragments, limits and prepared deny
// query. It is immutable and safe for concurrent use.
type Policy struct {
	name   string
	module string
	sha    string
	limits Limits
	where  map[Dialect]string
	deny   *rego.PreparedEvalQuery // nil when the module defines no deny rule
}

// Name returns the policy's name.
func (p *Policy) Name() string { return p.name }

// Module returns the Rego text the policy was compiled from.
func (p *Policy) Module() string { return p.module }

// SHA256 returns the hex SHA-256 of the module text's bytes.
func (p *Policy) SHA256() string { return p.sha }

// Limits returns a copy of the policy's limits; fields the module does not set are nil.
func (p *Policy) Limits() Limits { return p.limits.clone() }

// Where returns the include rule as a SQL boolean expression for dialect d, over the row source
// aliased s (columns referenced as s.<column>, see [Columns]; an include that reads metadata also
// reads s.metadata, see [MetadataColumn]), ready for
// "SELECT … FROM <row source> AS s WHERE (<fragment>) AND …". It is "TRUE" when the module has no
// include rule and "FALSE" when include can never hold — and "FALSE" for an unknown dialect, so
// that a caller's mistake admits nothing.
func (p *Policy) Where(d Dialect) string {
	if w, ok := p.where[d]; ok {
		return w
	}
	return "FALSE"
}

// Decision is the outcome of evaluating deny over a mix summary.
type Decision struct {
	// Allowed is true only when deny evaluated, without error, to an empty set.
	Allowed bool `json:"allowed"`
	// Violations are deny's messages, sorted; a message that is not a string is given as JSON.
	Violations []string `json:"violations,omitempty"`
	// Error says why the evaluation itself failed (error, timeout, undefined or non-set deny);
	// it makes Allowed false.
	Error string `json:"error,omitempty"`
}

// Evaluate evaluates deny with input.mix set to mix (any value that encodes to JSON; the mixer's
// summary: size, strategy, stats, request) and the evaluation time fixed to at, so time.now_ns
// returns at and the same mix and time always give the same Decision. It fails closed: any
// message, an evaluation error, a timeout ([EvalTimeout], or ctx), an undefined or non-set deny,
// and a zero at (OPA would read the clock instead) all refuse the mix. A module without any deny
// rule allows every mix. Evaluate is safe for concurrent use.
func (p *Policy) Evaluate(ctx context.Context, mix any, at time.Time) Decision {
	if p.deny == nil {
		return Decision{Allowed: true}
	}
	if at.IsZero() {
		return Decision{Error: "policy evaluation needs a fixed evaluation time; got the zero time"}
	}
	ctx, cancel := context.WithTimeout(ctx, EvalTimeout)
	defer cancel()
	rs, err := p.deny.Eval(ctx,
		rego.EvalInput(map[string]any{"mix": mix}),
		rego.EvalTime(at),
	)
	if err != nil {
		return Decision{Error: evalErrorText(ctx, err)}
	}
	if len(rs) == 0 {
		return Decision{Error: "deny is undefined for this mix"}
	}
	if isSet, _ := rs[0].Bindings["messages_is_set"].(bool); !isSet {
		return Decision{Error: "deny is not a set of messages"}
	}
	msgs, _ := rs[0].Bindings["messages"].([]any)
	violations := make([]string, 0, len(msgs))
	for _, m := range msgs {
		if s, ok := m.(string); ok {
			violations = append(violations, s)
			continue
		}
		b, err := json.Marshal(m)
		if err != nil {
			b = fmt.Appendf(nil, "%v", m)
		}
		violations = append(violations, string(b))
	}
	slices.Sort(violations)
	if len(violations) == 0 {
		return Decision{Allowed: true}
	}
	return Decision{Violations: violations}
}

// evalErrorText describes an evaluation error for the decision record.
func evalErrorText(ctx context.Context, err error) string {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Sprintf("policy evaluation timed out (limit %s)", EvalTimeout)
	case ctx.Err() != nil || topdown.IsCancel(err):
		return "policy evaluation was canceled"
	}
	if lines := opaMessages(err, nil); len(lines) > 0 {
		return "policy evaluation failed: " + strings.Join(lines, "; ")
	}
	return "policy evaluation failed: " + err.Error()
}

// denyQuery binds deny and whether it is a set, so that a non-set result fails closed.
var denyQuery = ast.MustParseBody("messages := data.pedigree.mix.deny; messages_is_set := is_set(messages)")

// Compile checks a module fully — size, parse, package, forbidden built-ins, compile, limits,
// include translated to SQL for every dialect, the test_ rules — and prepares deny. name is
// checked with [ValidateName]. Errors are *registry.Error: registry.EINVALID with OPA's messages
// (file:line:column) in Fields, or registry.ETOOLARGE for a module over [MaxModuleBytes]. The
// whole check is bounded by [CompileTimeout] and by ctx.
func Compile(ctx context.Context, name, module string) (p *Policy, err error) {
	defer func() {
		// OPA should never panic on a module, but a server must not die if it does.
		if r := recover(); r != nil {
			p, err = nil, &registry.Error{Code: registry.EINTERNAL, Message: "internal error", Err: fmt.Errorf("policy compile panicked: %v", r)}
		}
	}()
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if len(module) > MaxModuleBytes {
		return nil, &registry.Error{Code: registry.ETOOLARGE,
			Message: fmt.Sprintf("policy module is %d bytes; the limit is %d", len(module), MaxModuleBytes),
			Fields:  []registry.FieldError{{Field: "module", Message: fmt.Sprintf("at most %d bytes", MaxModuleBytes)}}}
	}
	if !utf8.ValidString(module) {
		return nil, registry.FieldErrorf("module", "policy module is not valid UTF-8")
	}
	ctx, cancel := context.WithTimeout(ctx, CompileTimeout)
	defer cancel()

	caps := capabilities()
	parsed, err := ast.ParseModuleWithOpts(fileName, module, ast.ParserOptions{RegoVersion: ast.RegoV1, Capabilities: caps})
	if err != nil {
		return nil, opaError("policy does not parse", err)
	}
	if parsed == nil { // only comments or whitespace
		return nil, registry.FieldErrorf("module", "policy module is empty; it needs \"package pedigree.mix\"")
	}
	if !parsed.Package.Path.Equal(packagePath) {
		return nil, locatedError("policy has the wrong package", parsed.Package.Location,
			fmt.Sprintf("package must be pedigree.mix, not %s", strings.TrimPrefix(parsed.Package.Path.String(), "data.")))
	}
	if errs := forbiddenCalls(parsed); len(errs) > 0 {
		return nil, opaError("policy uses built-ins that are not allowed", errs)
	}
	// Only this compiler rewrites input.sample.metadata.<key> for the SQL translation; the
	// tests run on the module as written (see rewriteMetadataRefs).
	comp := newCompiler(caps).WithStageAfterID(ast.StageResolveRefs, metadataStage)
	if comp.Compile(map[string]*ast.Module{fileName: parsed}); comp.Failed() {
		return nil, opaError("policy does not compile", comp.Errors)
	}
	compiled := comp.Modules[fileName]
	if errs := timeDependencies(comp, compiled, "include", "limits"); len(errs) > 0 {
		return nil, opaError("include and limits must not read the clock", errs)
	}

	p = &Policy{name: name, module: module}
	sum := sha256.Sum256([]byte(module))
	p.sha = hex.EncodeToString(sum[:])

	if p.limits, err = evalLimits(ctx, comp, compiled); err != nil {
		return nil, err
	}
	if p.where, err = compileInclude(ctx, comp, compiled); err != nil {
		return nil, err
	}
	if hasRule(compiled, "deny") {
		pq, err := rego.New(
			rego.Compiler(comp),
			rego.ParsedQuery(denyQuery),
			rego.StrictBuiltinErrors(true),
			rego.UnsafeBuiltins(forbiddenSet()),
		).PrepareForEval(ctx)
		if err != nil {
			return nil, opaError("policy deny cannot be prepared", err)
		}
		p.deny = &pq
	}
	if err := runTests(ctx, caps, parsed); err != nil {
		return nil, err
	}
	return p, nil
}

// newCompiler returns the compiler every policy module goes through: Rego v1, only the allowed
// built-ins, print statements erased (nothing would read them).
func newCompiler(caps *ast.Capabilities) *ast.Compiler {
	return ast.NewCompiler().
		WithCapabilities(caps).
		WithDefaultRegoVersion(ast.RegoV1).
		WithEnablePrintStatements(false)
}

// hasRule reports whether m defines a rule whose head starts with name (name, name.x, name[x]).
func hasRule(m *ast.Module, name string) bool {
	return len(rulesNamed(m, name)) > 0
}

// rulesNamed returns m's rules whose head starts with name, including their else branches.
func rulesNamed(m *ast.Module, name string) []*ast.Rule {
	var out []*ast.Rule
	for _, r := range m.Rules {
		ref := r.Head.Ref()
		if len(ref) == 0 || ref[0].Value.Compare(ast.Var(name)) != 0 {
			continue
		}
		for e := r; e != nil; e = e.Else {
			out = append(out, e)
		}
	}
	return out
}

// epoch is the evaluation time given to everything compiled without a mix's time (limits, the
// partial evaluation of include), so that even a dependency on the clock that escaped
// timeDependencies would not vary between processes.
var epoch = time.Unix(0, 0).UTC()

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
