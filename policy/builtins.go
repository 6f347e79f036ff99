package policy

import (
	"fmt"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"
)

// forbiddenBuiltins are the built-ins a policy may not call, with the reason given to its author.
// Any other built-in OPA marks non-deterministic is refused too (see forbiddenSet), except
// time.now_ns: deny is always evaluated with the caller's fixed time, and include and limits may
// not depend on it (see timeDependencies).
var forbiddenBuiltins = map[string]string{
	"http.send":              "it reaches the network",
	"net.lookup_ip_addr":     "it reaches the network",
	"opa.runtime":            "it exposes the server's environment",
	"rand.intn":              "it is random, so decisions would not be reproducible",
	"uuid.rfc4122":           "it is random, so decisions would not be reproducible",
	"io.jwt.encode_sign":     "it may sign with fresh randomness, so decisions would not be reproducible",
	"io.jwt.encode_sign_raw": "it may sign with fresh randomness, so decisions would not be reproducible",
	"json.match_schema":      "it can load $ref schemas from files or other hosts",
	"json.verify_schema":     "it can load $ref schemas from files or other hosts",
}

// forbiddenSet returns the names of every built-in a policy may not call.
func forbiddenSet() map[string]struct{} {
	out := make(map[string]struct{}, len(forbiddenBuiltins)+4)
	for name := range forbiddenBuiltins {
		out[name] = struct{}{}
	}
	for _, b := range ast.Builtins {
		if b.Nondeterministic && b.Name != ast.NowNanos.Name {
			out[b.Name] = struct{}{}
		}
	}
	return out
}

// forbiddenReason says why a built-in is not allowed.
func forbiddenReason(name string) string {
	if r, ok := forbiddenBuiltins[name]; ok {
		return r
	}
	return "it is non-deterministic, so decisions would not be reproducible"
}

// capabilities are OPA's capabilities less the forbidden built-ins and with no network host
// allowed, so that the compiler itself refuses what forbiddenCalls might miss.
func capabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	forbidden := forbiddenSet()
	caps.Builtins = slices.DeleteFunc(caps.Builtins, func(b *ast.Builtin) bool {
		_, bad := forbidden[b.Name]
		return bad
	})
	caps.AllowNet = []string{}
	return caps
}

// forbiddenCalls finds calls to forbidden built-ins in the parsed module, to refuse them with a
// message that says why (the compiler alone would only say "undefined function").
func forbiddenCalls(m *ast.Module) ast.Errors {
	forbidden := forbiddenSet()
	var errs ast.Errors
	check := func(op *ast.Term, loc *ast.Location) {
		ref, ok := op.Value.(ast.Ref)
		if !ok {
			return
		}
		name := ref.String()
		if _, bad := forbidden[name]; bad {
			errs = append(errs, ast.NewError(ast.CompileErr, cmpLoc(op.Location, loc),
				"%s is not allowed in a policy: %s", name, forbiddenReason(name)))
		}
	}
	ast.WalkExprs(m, func(e *ast.Expr) bool {
		if e.IsCall() {
			check(e.OperatorTerm(), e.Location) // operator of "f(x, y)" written as a statement
		}
		return false
	})
	ast.WalkTerms(m, func(t *ast.Term) bool {
		if call, ok := t.Value.(ast.Call); ok && len(call) > 0 {
			check(call[0], t.Location)
		}
		return false
	})
	errs.Sort()
	return dedupe(errs)
}

// timeDependencies finds calls to time.now_ns in the rules named roots and in every rule and
// function they depend on, since those are compiled once per process, without a mix's time.
func timeDependencies(c *ast.Compiler, m *ast.Module, roots ...string) ast.Errors {
	var queue []*ast.Rule
	for _, name := range roots {
		queue = append(queue, rulesNamed(m, name)...)
	}
	seen := map[util.T]bool{}
	var errs ast.Errors
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		if seen[r] {
			continue
		}
		seen[r] = true
		ast.WalkTerms(r, func(t *ast.Term) bool {
			if call, ok := t.Value.(ast.Call); ok && len(call) > 0 && call[0].Value.Compare(ast.NowNanos.Ref()) == 0 {
				errs = append(errs, ast.NewError(ast.CompileErr, cmpLoc(t.Location, r.Location),
					"time.now_ns is not allowed in include or limits (or what they use): they are compiled once, without a mix's evaluation time; use it in deny"))
			}
			return false
		})
		ast.WalkExprs(r, func(e *ast.Expr) bool {
			if e.IsCall() && e.Operator().Compare(ast.NowNanos.Ref()) == 0 {
				errs = append(errs, ast.NewError(ast.CompileErr, cmpLoc(e.Location, r.Location),
					"time.now_ns is not allowed in include or limits (or what they use): they are compiled once, without a mix's evaluation time; use it in deny"))
			}
			return false
		})
		for dep := range c.Graph.Dependencies(r) {
			if dr, ok := dep.(*ast.Rule); ok && !seen[dr] {
				queue = append(queue, dr)
			}
		}
		if r.Else != nil {
			queue = append(queue, r.Else)
		}
	}
	errs.Sort()
	return dedupe(errs)
}

func cmpLoc(a, b *ast.Location) *ast.Location {
	if a != nil {
		return a
	}
	return b
}

// dedupe drops repeated messages from a sorted list (a call seen both as a statement and a term).
func dedupe(errs ast.Errors) ast.Errors {
	return slices.CompactFunc(errs, func(a, b *ast.Error) bool {
		return a.Error() == b.Error() && fmt.Sprint(a.Location) == fmt.Sprint(b.Location)
	})
}
