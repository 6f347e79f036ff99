package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/rego/compile"
)

var (
	includeQuery  = ast.MustParseBody("data.pedigree.mix.include")
	sampleUnknown = ast.MustParseTerm("input.sample")
	// sampleMappings makes OPA write input.sample.<column> as s.<column>.
	sampleMappings = map[string]any{"sample": map[string]any{"$self": "s"}}
	// opaDialects are OPA's names for our dialects.
	opaDialects = map[Dialect]string{SQLite: "sqlite", Postgres: "postgresql"}
)

// compileInclude translates the include rule into a SQL fragment per dialect. OPA's
// v1/rego/compile partially evaluates include with input.sample unknown, checks that the result
// is translatable for both dialects at once (its constraints are the intersection of theirs), and
// renders SQL; a second partial evaluation, with the same options, lets us check how metadata is
// read (checkMetadata, which also gives each metadata key its type) and the types of the values
// each column is compared with; then renderSQL rewrites OPA's SQL with safe literals and typed
// metadata reads. c must have rewritten metadata refs (see rewriteMetadataRefs).
func compileInclude(ctx context.Context, c *ast.Compiler, m *ast.Module) (map[Dialect]string, error) {
	rules := rulesNamed(m, "include")
	if len(rules) == 0 {
		return map[Dialect]string{SQLite: "TRUE", Postgres: "TRUE"}, nil
	}
	at := rules[0].Location
	for _, r := range rules {
		if r.Head.RuleKind() == ast.MultiValue || len(r.Head.Ref()) > 1 || len(r.Head.Args) > 0 {
			return nil, locatedError("policy include cannot be translated into SQL", r.Location,
				"include must be a rule with one value (`include if …`), not a set, an object or a function")
		}
	}
	regoOpts := []func(*rego.Rego){
		rego.Compiler(c),
		rego.StrictBuiltinErrors(true),
		rego.UnsafeBuiltins(forbiddenSet()),
	}
	opts := []compile.CompileOption{
		compile.ParsedUnknowns(sampleUnknown),
		compile.ParsedQuery(includeQuery),
		compile.Mappings(sampleMappings),
		compile.Rego(regoOpts...),
	}
	for _, d := range Dialects {
		opts = append(opts, compile.Target("sql", opaDialects[d]))
	}
	prepared, err := compile.New(opts...).Prepare(ctx)
	if err != nil {
		return nil, opaError("policy include cannot be compiled", err, at)
	}
	// Metadata is checked before OPA translates, whose messages about the refs it cannot
	// translate (input.sample.metadata.a.b: "invalid ref operand") say less than ours.
	queries, peErr := partialInclude(ctx, regoOpts)
	var meta map[string]metaType
	if peErr == nil {
		var errs ast.Errors
		if meta, errs = checkMetadata(queries, at); len(errs) > 0 {
			return nil, opaError("policy include cannot be translated into SQL", errs, at)
		}
	}
	filters, err := prepared.Compile(ctx, rego.EvalTime(epoch))
	if err != nil {
		return nil, opaError("policy include cannot be translated into SQL", err, at)
	}
	if peErr != nil {
		return nil, opaError("policy include cannot be compiled", peErr, at)
	}
	if errs := checkIncludeTypes(queries, at); len(errs) > 0 {
		return nil, opaError("policy include cannot be translated into SQL", errs, at)
	}
	unconditional := queries != nil && slices.ContainsFunc(queries, func(b ast.Body) bool { return len(b) == 0 })

	out := make(map[Dialect]string, len(Dialects))
	for _, d := range Dialects {
		var sql string
		switch q := filters.For("sql", opaDialects[d]).Query.(type) {
		case nil: // no body can hold
			if queries != nil {
				return nil, inconsistent(at, "OPA found no admissible sample, partial evaluation did")
			}
			sql = "FALSE"
		case string:
			if q == "" && !unconditional {
				// OPA writes "" for "admit all"; make sure it meant that and did not drop a condition.
				return nil, inconsistent(at, "OPA's translation admits every sample but include has conditions")
			}
			if sql, err = renderSQL(d, q, meta); err != nil {
				return nil, locatedError("policy include cannot be translated into SQL", at, err.Error())
			}
		default:
			return nil, inconsistent(at, fmt.Sprintf("OPA returned %T", q))
		}
		if len(sql) > MaxWhereBytes {
			return nil, locatedError("policy include is too large", at,
				fmt.Sprintf("include translates into %d bytes of SQL; the limit is %d (use fewer alternatives)", len(sql), MaxWhereBytes))
		}
		out[d] = sql
	}
	return out, nil
}

func inconsistent(at *ast.Location, why string) error {
	return locatedError("policy include cannot be translated into SQL", at, "refusing an include whose translation could not be verified: "+why)
}

// partialInclude partially evaluates include as compile.Prepared.Compile does, and returns the
// queries (nil: never holds; an empty body: always holds).
func partialInclude(ctx context.Context, regoOpts []func(*rego.Rego)) ([]ast.Body, error) {
	opts := append(slices.Clone(regoOpts),
		rego.ParsedQuery(includeQuery),
		rego.NondeterministicBuiltins(true),
	)
	pp, err := rego.New(opts...).PrepareForPartial(ctx)
	if err != nil {
		return nil, err
	}
	pq, err := pp.Partial(ctx,
		rego.EvalParsedUnknowns([]*ast.Term{sampleUnknown}),
		rego.EvalRuleIndexing(false),
		rego.EvalNondeterministicBuiltins(true),
		rego.EvalTime(epoch),
	)
	if err != nil {
		return nil, err
	}
	return pq.Queries, nil
}

// comparisonOps are the built-ins OPA translates into SQL comparisons.
var comparisonOps = map[string]bool{
	ast.Equality.Name: true, ast.Equal.Name: true, ast.NotEqual.Name: true,
	ast.LessThan.Name: true, ast.LessThanEq.Name: true, ast.GreaterThan.Name: true, ast.GreaterThanEq.Name: true,
	ast.Member.Name: true,
}

// checkIncludeTypes checks every comparison of the partially evaluated include that does not
// read metadata (see checkMetadata): it must read input.sample.<column> for a column in Columns,
// and compare it with a value of the column's type (or null, or another column of the same
// type). Rego never finds a number equal to a string, while SQL would convert one to the other,
// so such a rule is refused rather than translated into something that means otherwise.
func checkIncludeTypes(queries []ast.Body, at *ast.Location) ast.Errors {
	var errs ast.Errors
	fail := func(e *ast.Expr, format string, args ...any) {
		errs = append(errs, ast.NewError("pe_fragment_error", cmpLoc(e.Location, at), format, args...))
	}
	for _, body := range queries {
		for _, e := range body {
			if readsMetadata(e) {
				continue // checkMetadata's
			}
			if !e.IsCall() || len(e.With) > 0 {
				fail(e, "unsupported statement %q", e)
				continue
			}
			op := e.Operator().String()
			operands := e.Operands()
			if !comparisonOps[op] || len(operands) != 2 {
				fail(e, "unsupported call %q", e)
				continue
			}
			var cols [2]string
			before := len(errs)
			for i, t := range operands {
				if ref, ok := t.Value.(ast.Ref); ok {
					col, msg := sampleColumn(ref)
					if msg != "" {
						fail(e, "%s", msg)
						continue
					}
					cols[i] = col
				}
			}
			if len(errs) > before {
				continue
			}
			switch {
			case cols[0] != "" && cols[1] != "":
				if numericColumns[cols[0]] != numericColumns[cols[1]] {
					fail(e, "input.sample.%s (%s) is compared with input.sample.%s (%s)",
						cols[0], columnKind(cols[0]), cols[1], columnKind(cols[1]))
				}
			case cols[0] == "" && cols[1] == "":
				fail(e, "comparison %q reads no column", e)
			case op == ast.Member.Name:
				if cols[0] == "" {
					fail(e, "the right-hand side of \"in\" must be known")
					continue
				}
				members, ok := collectionMembers(operands[1].Value)
				if !ok {
					fail(e, "\"in\" needs a set or array of values")
					continue
				}
				for _, v := range members {
					if msg := valueTypeError(cols[0], v); msg != "" {
						fail(e, "%s", msg)
					}
				}
			default:
				col, other := cols[0], operands[1].Value
				if col == "" {
					col, other = cols[1], operands[0].Value
				}
				if _, isVar := other.(ast.Var); isVar { // x := input.sample.col: the column is not null
					continue
				}
				if msg := valueTypeError(col, other); msg != "" {
					fail(e, "%s", msg)
				}
			}
		}
	}
	return errs
}

// sampleColumn returns the column a ref reads, or a message saying why it reads none.
func sampleColumn(ref ast.Ref) (string, string) {
	if len(ref) == 3 && ref[0].Equal(ast.InputRootDocument) && ref[1].Value.Compare(ast.String("sample")) == 0 {
		if s, ok := ref[2].Value.(ast.String); ok {
			if slices.Contains(Columns, string(s)) {
				return string(s), ""
			}
			return "", fmt.Sprintf("input.sample.%s is not a column; include can read %s, and input.sample.metadata.<key>", string(s), strings.Join(Columns, ", "))
		}
	}
	return "", fmt.Sprintf("cannot translate the reference %v: include can read input.sample.<column> only", ref)
}

// valueTypeError says why v cannot be compared with column col, or "" if it can.
func valueTypeError(col string, v ast.Value) string {
	switch v.(type) {
	case ast.Null:
		return ""
	case ast.Number:
		if numericColumns[col] {
			if _, ok := numericLiteral(v.String()); !ok {
				return fmt.Sprintf("input.sample.%s is compared with %v, which SQL cannot hold as a number", col, v)
			}
			return ""
		}
		return fmt.Sprintf("input.sample.%s is text but is compared with the number %v (never equal in Rego; quote it)", col, v)
	case ast.String:
		if !numericColumns[col] {
			return ""
		}
		return fmt.Sprintf("input.sample.%s is a number but is compared with the string %v (never equal in Rego; write a number)", col, v)
	case ast.Boolean:
		return fmt.Sprintf("input.sample.%s is compared with the boolean %v; no column holds booleans", col, v)
	}
	return fmt.Sprintf("input.sample.%s is compared with %v; only numbers, strings and null can be", col, v)
}

// collectionMembers returns the values of a set or array.
func collectionMembers(v ast.Value) ([]ast.Value, bool) {
	var out []ast.Value
	switch c := v.(type) {
	case ast.Set:
		c.Foreach(func(t *ast.Term) { out = append(out, t.Value) })
	case *ast.Array:
		c.Foreach(func(t *ast.Term) { out = append(out, t.Value) })
	default:
		return nil, false
	}
	return out, true
}

func columnKind(col string) string {
	if numericColumns[col] {
		return "a number"
	}
	return "text"
}
