package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/pedigreeml/pedigree/registry"
)

// maxFieldErrors caps how many of OPA's messages one error carries.
const maxFieldErrors = 20

// opaError turns OPA's errors into a registry.EINVALID error: each message, formatted as
// "policy.rego:LINE:COL: code: message", becomes a FieldError on "module", and the first one is
// also in Message. fallback locates messages OPA gives no position in this module (those about
// the support modules of partial evaluation, or translation errors).
func opaError(summary string, err error, fallback ...*ast.Location) *registry.Error {
	var at *ast.Location
	if len(fallback) > 0 {
		at = fallback[0]
	}
	lines := opaMessages(err, at)
	if len(lines) == 0 {
		lines = []string{err.Error()}
	}
	msg := summary + ": " + lines[0]
	if len(lines) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(lines)-1)
	}
	e := &registry.Error{Code: registry.EINVALID, Message: msg, Err: err}
	for i, l := range lines {
		if i == maxFieldErrors {
			break
		}
		e.Fields = append(e.Fields, registry.FieldError{Field: "module", Message: l})
	}
	return e
}

// locatedError is an EINVALID error about one position of the module.
func locatedError(summary string, loc *ast.Location, message string) *registry.Error {
	line := formatLocation(loc) + message
	return &registry.Error{Code: registry.EINVALID, Message: summary + ": " + line,
		Fields: []registry.FieldError{{Field: "module", Message: line}}}
}

// opaMessages flattens err into one formatted line per OPA error.
func opaMessages(err error, fallback *ast.Location) []string {
	var astErrs ast.Errors
	if errors.As(err, &astErrs) {
		out := make([]string, 0, len(astErrs))
		for _, e := range astErrs {
			out = append(out, formatASTError(e, fallback))
		}
		return out
	}
	var astErr *ast.Error
	if errors.As(err, &astErr) {
		return []string{formatASTError(astErr, fallback)}
	}
	var tdErr *topdown.Error
	if errors.As(err, &tdErr) {
		return []string{displayRefs(formatLocation(locationOr(tdErr.Location, fallback)) + tdErr.Code + ": " + tdErr.Message)}
	}
	return nil
}

// formatASTError writes e as "policy.rego:LINE:COL: code: message", with OPA's hints for
// untranslatable include rules appended, and metadata refs as the author wrote them (see
// displayRefs). (ast.Error.Error leaves out the column.)
func formatASTError(e *ast.Error, fallback *ast.Location) string {
	var b strings.Builder
	b.WriteString(formatLocation(locationOr(e.Location, fallback)))
	b.WriteString(e.Code)
	b.WriteString(": ")
	b.WriteString(e.Message)
	// Parse errors' details repeat the source line with a caret: noise in a one-line message.
	// The partial-evaluation checks' details are hints worth keeping.
	if e.Details != nil && e.Code != ast.ParseErr {
		if lines := e.Details.Lines(); len(lines) > 0 {
			b.WriteString(" (")
			b.WriteString(strings.Join(lines, "; "))
			b.WriteString(")")
		}
	}
	return displayRefs(b.String())
}

// locationOr returns loc when it points into the policy module, else fallback.
func locationOr(loc, fallback *ast.Location) *ast.Location {
	if loc != nil && loc.File == fileName {
		return loc
	}
	return fallback
}

// formatLocation returns "policy.rego:LINE:COL: ", or "" when loc is unknown.
func formatLocation(loc *ast.Location) string {
	if loc == nil || loc.Row == 0 {
		return ""
	}
	return fmt.Sprintf("%s:%d:%d: ", fileName, loc.Row, loc.Col)
}
