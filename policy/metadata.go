package policy

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// MetadataColumn is the column of the row source (aliased s) that holds a sample's metadata: the
// JSON object as TEXT, or NULL when the sample has none. An include rule reads its top-level keys
// as input.sample.metadata.<key> (see [Policy.Where]).
const MetadataColumn = "metadata"

// MetadataKeyPattern is what a metadata key an include rule reads must match. The key becomes
// part of a SQL string literal (a JSON path in SQLite, a key in PostgreSQL); it is escaped there
// all the same.
const MetadataKeyPattern = `^[A-Za-z_][A-Za-z0-9_]{0,63}$`

var metadataKeyRE = regexp.MustCompile(MetadataKeyPattern)

// How metadata reaches OPA's SQL translation. OPA translates refs input.sample.<column> only, so
// a compiler stage (rewriteMetadataRefs) rewrites every input.sample.metadata.<key> of the module
// into the synthetic column input.sample["metadata.<key>"] before anything is evaluated. OPA
// writes that column as s.metadata.<key>, which the strict re-writer (renderSQL) replaces with a
// typed extraction of the key (metadataSQL): the type is that of the literals the key is compared
// with, which checkMetadata reads off the partially evaluated include. Only the compiler used for
// include, limits and deny rewrites; test_ rules run on the module as written, so they see Rego's
// own semantics for input.sample.metadata.
var (
	metadataRef = ast.MustParseRef("input.sample.metadata")
	// metadataColumnPrefix starts the name of the synthetic column of a metadata key.
	metadataColumnPrefix = MetadataColumn + "."
	// metadataStage is the compiler stage that rewrites metadata refs; it runs right after
	// imports are resolved, so that "import input.sample.metadata as m; m.lang" is rewritten too.
	metadataStage = ast.CompilerStageDefinition{
		Name:       "RewriteMetadataRefs",
		MetricName: "compile_stage_rewrite_metadata_refs",
		Stage:      rewriteMetadataRefs,
	}
)

// rewriteMetadataRefs rewrites, in every rule, each ref input.sample.metadata.<key> — exactly four
// parts, a literal key matching MetadataKeyPattern — into input.sample["metadata.<key>"]. Other
// refs into input.sample.metadata (the whole object, nested keys, computed or invalid keys) are
// left alone, and checkMetadata refuses whatever of them reaches the partially evaluated include.
func rewriteMetadataRefs(c *ast.Compiler) *ast.Error {
	for _, m := range c.Modules {
		for _, r := range m.Rules {
			if _, err := ast.TransformRefs(r, func(ref ast.Ref) (ast.Value, error) {
				if len(ref) != 4 || !ref.HasPrefix(metadataRef) {
					return ref, nil
				}
				key, ok := ref[3].Value.(ast.String)
				if !ok || !metadataKeyRE.MatchString(string(key)) {
					return ref, nil
				}
				col := ast.NewTerm(ast.String(metadataColumnPrefix + string(key)))
				col.Location = ref[3].Location
				return ast.Ref{ref[0], ref[1], col}, nil
			}); err != nil {
				return ast.NewError(ast.CompileErr, r.Location, "%v", err)
			}
		}
	}
	return nil
}

// metaType is the JSON type a metadata key is read as: that of the literals it is compared with.
type metaType int

const (
	metaString metaType = iota + 1
	metaNumber
	metaBoolean
)

func (t metaType) String() string {
	switch t {
	case metaString:
		return "a string"
	case metaNumber:
		return "a number"
	case metaBoolean:
		return "a boolean"
	}
	return "nothing"
}

// literalType returns the metaType of a literal metadata may be compared with.
func literalType(v ast.Value) (metaType, bool) {
	switch v.(type) {
	case ast.String:
		return metaString, true
	case ast.Number:
		return metaNumber, true
	case ast.Boolean:
		return metaBoolean, true
	}
	return 0, false
}

// classifyMetadataRef says whether ref reads sample metadata, and how: key is the metadata key of
// a rewritten ref that may be translated; msg, when not empty, says why ref cannot be.
func classifyMetadataRef(ref ast.Ref) (isMeta bool, key, msg string) {
	if len(ref) < 3 || !ref[0].Equal(ast.InputRootDocument) || ref[1].Value.Compare(ast.String("sample")) != 0 {
		return false, "", ""
	}
	col, ok := ref[2].Value.(ast.String)
	if !ok {
		return false, "", ""
	}
	if k, synthetic := strings.CutPrefix(string(col), metadataColumnPrefix); synthetic {
		switch {
		case !metadataKeyRE.MatchString(k):
			return true, "", badKeyMessage(k)
		case len(ref) > 3:
			return true, "", fmt.Sprintf("input.sample.metadata.%s%s reads nested metadata; include can read only top-level keys, as input.sample.metadata.<key>", k, refTail(ref[3:]))
		}
		return true, k, ""
	}
	if string(col) != MetadataColumn {
		return false, "", ""
	}
	if len(ref) == 3 {
		return true, "", "input.sample.metadata is read as a whole; include can read it one key at a time, as input.sample.metadata.<key> compared with a literal"
	}
	k, ok := ref[3].Value.(ast.String)
	switch {
	case !ok:
		return true, "", fmt.Sprintf("input.sample.metadata[%v] has a key that is not a literal string; write input.sample.metadata.<key>", ref[3])
	case !metadataKeyRE.MatchString(string(k)):
		return true, "", badKeyMessage(string(k))
	case len(ref) > 4:
		return true, "", fmt.Sprintf("input.sample.metadata.%s%s reads nested metadata; include can read only top-level keys, as input.sample.metadata.<key>", string(k), refTail(ref[4:]))
	}
	// A valid key that the compiler stage did not see written out: reached through a variable
	// (m := input.sample.metadata; m.lang) or a computed key (input.sample.metadata[k]).
	return true, "", fmt.Sprintf("input.sample.metadata.%s is reached through a variable or a computed key; write input.sample.metadata.%s out in the rule", string(k), string(k))
}

func badKeyMessage(k string) string {
	return fmt.Sprintf("metadata key %q cannot be read: a key must match %s", truncate(k, 80), MetadataKeyPattern)
}

// refTail writes the rest of a ref after its first parts, as ".b" or "[0]".
func refTail(parts ast.Ref) string {
	var b strings.Builder
	for _, p := range parts {
		if s, ok := p.Value.(ast.String); ok && metadataKeyRE.MatchString(string(s)) {
			b.WriteString("." + string(s))
		} else {
			b.WriteString("[" + truncate(p.String(), 80) + "]")
		}
	}
	return b.String()
}

// checkMetadata checks every expression of the partially evaluated include that reads sample
// metadata, and returns the type of each metadata key read. A key may only be compared (==, !=,
// <, <=, >, >=) with a string, number or boolean literal, or tested with "in" against a set or
// array of literals of one type; a key is compared with literals of one type throughout include.
func checkMetadata(queries []ast.Body, at *ast.Location) (map[string]metaType, ast.Errors) {
	types := map[string]metaType{}
	var errs ast.Errors
	fail := func(e *ast.Expr, format string, args ...any) {
		errs = append(errs, ast.NewError("pe_fragment_error", cmpLoc(e.Location, at), format, args...))
	}
	for _, body := range queries {
		for _, e := range body {
			var keys []string
			bad := ""
			ast.WalkRefs(e, func(ref ast.Ref) bool {
				isMeta, key, msg := classifyMetadataRef(ref)
				switch {
				case !isMeta:
				case msg != "":
					if bad == "" {
						bad = msg
					}
				default:
					keys = append(keys, key)
				}
				return false
			})
			if bad != "" {
				fail(e, "%s", bad)
				continue
			}
			if len(keys) == 0 {
				continue
			}
			key, t, msg := metadataComparison(e, keys[0])
			if msg != "" {
				fail(e, "%s", msg)
				continue
			}
			if t == 0 { // "in" an empty collection: no type, and OPA writes no field
				continue
			}
			if prev, ok := types[key]; ok && prev != t {
				fail(e, "input.sample.metadata.%s is compared with %s here and with %s elsewhere in include; compare each key with literals of one type", key, t, prev)
				continue
			}
			types[key] = t
		}
	}
	return types, errs
}

// metadataComparison checks one expression that reads metadata key key (a rewritten ref, see
// classifyMetadataRef) and returns the key compared and the type of the literals it is compared
// with, or a message saying why the expression cannot be translated.
func metadataComparison(e *ast.Expr, key string) (string, metaType, string) {
	ref := "input.sample.metadata." + key
	asComparison := func(what string) string {
		return what + `: include can only compare input.sample.metadata.<key> with a string, number or boolean literal (==, !=, <, <=, >, >=) or test it with "in" against a set of such literals`
	}
	if !e.IsCall() || len(e.With) > 0 {
		if t, ok := e.Terms.(*ast.Term); ok && len(e.With) == 0 {
			if _, ok := t.Value.(ast.Ref); ok {
				return "", 0, asComparison(fmt.Sprintf("%s is used as a condition on its own (write %s == true)", ref, ref))
			}
		}
		return "", 0, asComparison(fmt.Sprintf("%s is read in an unsupported statement", ref))
	}
	op := e.Operator().String()
	operands := e.Operands()
	if !comparisonOps[op] || len(operands) != 2 {
		name := op
		if op == ast.MemberWithKey.Name {
			name = "in"
		}
		return "", 0, asComparison(fmt.Sprintf("%s is passed to %s", ref, name))
	}
	var keys [2]string
	for i, t := range operands {
		if r, ok := t.Value.(ast.Ref); ok {
			_, keys[i], _ = classifyMetadataRef(r)
		}
	}
	if keys[0] == "" && keys[1] == "" { // read inside an operand: f(metadata) < 1, [metadata] == x
		for _, t := range operands {
			if call, ok := t.Value.(ast.Call); ok && len(call) > 0 {
				return "", 0, asComparison(fmt.Sprintf("%s is passed to %v", ref, call[0]))
			}
		}
		return "", 0, asComparison(fmt.Sprintf("%s is read inside a composite value", ref))
	}
	if op == ast.Member.Name {
		if keys[0] == "" {
			return "", 0, asComparison(fmt.Sprintf("%s is used as a collection for \"in\"", ref))
		}
		ref = "input.sample.metadata." + keys[0]
		members, ok := collectionMembers(operands[1].Value)
		if !ok {
			return "", 0, asComparison(fmt.Sprintf("%s is tested with \"in\" against %v, which is not a set or array of literals", ref, operands[1]))
		}
		var t metaType
		for _, v := range members {
			vt, ok := literalType(v)
			if !ok {
				return "", 0, asComparison(fmt.Sprintf("%s is tested with \"in\" against a collection holding %v", ref, v))
			}
			if msg := metaLiteralError(keys[0], v); msg != "" {
				return "", 0, msg
			}
			if t != 0 && vt != t {
				return "", 0, fmt.Sprintf("%s is tested with \"in\" against a collection of both %s and %s; compare each key with literals of one type", ref, t, vt)
			}
			t = vt
		}
		return keys[0], t, ""
	}
	key, other := keys[0], operands[1]
	if key == "" {
		key, other = keys[1], operands[0]
	}
	ref = "input.sample.metadata." + key
	switch v := other.Value.(type) {
	case ast.Ref:
		return "", 0, asComparison(fmt.Sprintf("%s is compared with %v, which is not a literal", ref, v))
	case ast.Var:
		return "", 0, asComparison(fmt.Sprintf("%s is bound to a variable or compared with an unknown value", ref))
	case ast.Null:
		return "", 0, fmt.Sprintf("%s is compared with null; include never admits a missing key or a JSON null, so compare it with a string, number or boolean", ref)
	}
	t, ok := literalType(other.Value)
	if !ok {
		return "", 0, asComparison(fmt.Sprintf("%s is compared with %v", ref, truncate(other.String(), 80)))
	}
	if msg := metaLiteralError(key, other.Value); msg != "" {
		return "", 0, msg
	}
	return key, t, ""
}

// metaLiteralError says why a literal cannot be written into SQL for metadata key key.
func metaLiteralError(key string, v ast.Value) string {
	if n, ok := v.(ast.Number); ok {
		if _, ok := numericLiteral(n.String()); !ok {
			return fmt.Sprintf("input.sample.metadata.%s is compared with %v, which SQL cannot hold as a number", key, v)
		}
	}
	return ""
}

// readsMetadata reports whether e reads sample metadata in any form.
func readsMetadata(e *ast.Expr) bool {
	found := false
	ast.WalkRefs(e, func(ref ast.Ref) bool {
		if isMeta, _, _ := classifyMetadataRef(ref); isMeta {
			found = true
		}
		return found
	})
	return found
}

// syntheticRefRE matches the synthetic column of a metadata key as OPA prints it, so that
// messages show the ref the author wrote.
var syntheticRefRE = regexp.MustCompile(`input\.sample\["` + regexp.QuoteMeta(metadataColumnPrefix) + `([A-Za-z_][A-Za-z0-9_]*)"\]`)

// displayRefs rewrites synthetic metadata columns in a message back into input.sample.metadata.<key>.
func displayRefs(s string) string {
	if !strings.Contains(s, metadataColumnPrefix) {
		return s
	}
	return syntheticRefRE.ReplaceAllString(s, "input.sample.metadata.$1")
}

// pgUnreadableJSON matches the JSON text that PostgreSQL's json operators refuse with an error
// although it is valid JSON (and Go, so the registry, accepts it): a \u0000 escape (text cannot
// hold NUL) and a UTF-16 surrogate escape that is not half of a pair. Only real escapes count: a
// backslash followed by "u" is one when an odd number of backslashes precedes the "u" (so
// "C:\\users" holds none). The alternatives: a real \u0000 or high surrogate not followed by
// a low one; a real low surrogate after escaped backslashes, after the start or a character that
// is neither a backslash nor a hex digit, after a hex digit that does not end a high surrogate,
// or after a high surrogate that is not a real escape.
const pgUnreadableJSON = `(^|[^\\])(\\\\)*\\u(0000|[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F]))` +
	`|(^|[^\\])(\\\\)+\\u[dD][c-fC-F]` +
	`|(^|[^\\0-9a-fA-F])\\u[dD][c-fC-F]` +
	`|[0-9a-fA-F](?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F]` +
	`|(^|[^\\])(\\\\)+u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F]`

// pgHugeExponent matches a JSON number whose exponent (10000 or more in magnitude) PostgreSQL's
// numeric cannot hold; with at most 1000 characters otherwise, the cast cannot fail.
const pgHugeExponent = `[eE][-+]?0*[1-9][0-9]{4}`

// maxPGNumberText bounds the text of a JSON number PostgreSQL casts to numeric.
const maxPGNumberText = 1000

// metadataSQL returns the SQL expression that reads metadata key key (already checked against
// MetadataKeyPattern) as type t: the value when the sample's metadata holds the key with a value
// of that JSON type, and NULL otherwise (no metadata, no such key, a JSON null, another type, or
// JSON the dialect cannot read), so that no comparison with it is true and none raises an error
// (but for text that is not JSON at all, in PostgreSQL). The key is written as an escaped string
// literal all the same.
//
// SQLite: json_type picks the type and json_extract the value — text for strings, an integer or
// real for numbers, and 1 or 0 for true and false (compared with the literals 1 and 0); metadata
// that json_valid does not accept reads as NULL instead of raising "malformed JSON".
//
// PostgreSQL: the metadata is read as json (not jsonb: jsonb would parse, and could fail on,
// every number and escape of the object), json_typeof picks the type, ->> the value, cast to
// numeric or boolean, or left as text under COLLATE "C" so that strings order by code point as
// in Rego. The CASE guards first what would raise: pgUnreadableJSON, then numbers numeric cannot
// hold (pgHugeExponent, maxPGNumberText).
func metadataSQL(d Dialect, key string, t metaType) (string, error) {
	col := "s." + MetadataColumn
	if d == SQLite {
		path, err := quoteText(SQLite, `$."`+key+`"`)
		if err != nil {
			return "", err
		}
		var test string
		switch t {
		case metaString:
			test = "= 'text'"
		case metaNumber:
			test = "IN ('integer', 'real')"
		case metaBoolean:
			test = "IN ('true', 'false')"
		default:
			return "", fmt.Errorf("metadata key %q has no type", key)
		}
		return fmt.Sprintf("(CASE WHEN NOT json_valid(%[1]s) THEN NULL WHEN json_type(%[1]s, %[2]s) %[3]s THEN json_extract(%[1]s, %[2]s) END)",
			col, path, test), nil
	}
	k, err := quoteText(Postgres, key)
	if err != nil {
		return "", err
	}
	guard, _ := quoteText(Postgres, pgUnreadableJSON)
	text := fmt.Sprintf("%s::json ->> %s", col, k)
	head := fmt.Sprintf("CASE WHEN %s ~ %s THEN NULL WHEN json_typeof(%s::json -> %s) = ", col, guard, col, k)
	switch t {
	case metaString:
		return "(" + head + "'string' THEN " + text + ` END) COLLATE "C"`, nil
	case metaNumber:
		huge, _ := quoteText(Postgres, pgHugeExponent)
		return fmt.Sprintf("(%s'number' AND length(%s) <= %d AND (%s) !~ %s THEN (%s)::numeric END)",
			head, text, maxPGNumberText, text, huge, text), nil
	case metaBoolean:
		return "(" + head + "'boolean' THEN (" + text + ")::boolean END)", nil
	}
	return "", fmt.Errorf("metadata key %q has no type", key)
}
