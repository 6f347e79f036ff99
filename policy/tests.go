package policy

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/pedigreeml/pedigree/registry"
)

// runTests runs the module's test_ rules with OPA's tester, under the same capabilities as the
// policy itself and with built-in errors raised, and refuses the module if any fails or errors,
// naming each. Tests run at every compile: one that reads the clock should mock it
// ("with time.now_ns as …"), or it may start failing on another day. todo_ rules are skipped.
func runTests(ctx context.Context, caps *ast.Capabilities, parsed *ast.Module) error {
	// The tester rewrites the module it compiles; give it a copy and a compiler of its own.
	mod := parsed.Copy()
	ch, err := tester.NewRunner().
		SetCompiler(newCompiler(caps)).
		SetParallel(1).
		SetTimeout(TestTimeout).
		RaiseBuiltinErrors(true).
		Run(ctx, map[string]*ast.Module{fileName: mod})
	if err != nil {
		return opaError("policy tests cannot be compiled", err)
	}
	var failed []registry.FieldError
	for res := range ch {
		if res.Skip || res.Pass() {
			continue
		}
		name := strings.TrimPrefix(res.Name, res.Package+".")
		msg := formatLocation(res.Location) + name + " failed"
		if res.Error != nil {
			if lines := opaMessages(res.Error, res.Location); len(lines) > 0 {
				msg = formatLocation(res.Location) + name + " failed with an error: " + lines[0]
			} else {
				msg = formatLocation(res.Location) + name + " failed with an error: " + res.Error.Error()
			}
		}
		failed = append(failed, registry.FieldError{Field: "tests/" + name, Message: msg})
	}
	if ctx.Err() != nil {
		return registry.Errorf(registry.EINVALID, "policy tests did not finish in time (%s)", CompileTimeout)
	}
	if len(failed) == 0 {
		return nil
	}
	sort.Slice(failed, func(i, j int) bool { return failed[i].Field < failed[j].Field })
	names := make([]string, len(failed))
	for i, f := range failed {
		names[i] = strings.TrimPrefix(f.Field, "tests/")
	}
	return &registry.Error{Code: registry.EINVALID,
		Message: fmt.Sprintf("policy tests failed: %s", strings.Join(names, ", ")),
		Fields:  failed}
}
