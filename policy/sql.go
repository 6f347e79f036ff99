package policy

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// renderSQL rewrites a WHERE clause written by OPA's SQL translation (via go-sqlbuilder) for
// dialect d into the fragment Where returns. It parses exactly the grammar OPA emits —
//
//	expr    := "(" expr ((" AND " | " OR ") expr)* ")" | "NOT " expr | "0 = 1" | field rest | meta mrest
//	rest    := " IS NULL" | " IS NOT NULL" | " IN (" literal (", " literal)* ")" | " " op " " (field | literal)
//	field   := "s." column
//	meta    := "s.metadata." key
//	mrest   := " IN (" literal (", " literal)* ")" | " " op " " literal
//
// — decodes each literal as go-sqlbuilder encoded it, and writes it again for the column it is
// compared with: a bare numeric literal for a numeric column (OPA quotes numbers, and a quoted
// number compares as text in SQLite when the row source gives the column no numeric affinity,
// and fails in PostgreSQL for a fraction against an integer column), a freshly escaped string
// for a text column. A metadata key (the synthetic column OPA writes as s.metadata.<key>, see
// rewriteMetadataRefs) is written as its typed extraction (metadataSQL), for the type meta gives
// it, and its literals as that type: a bare number, a fresh string, or a boolean (TRUE/FALSE in
// PostgreSQL, 1/0 in SQLite). Anything else is an error: a fragment that cannot be verified is
// refused, never passed through.
func renderSQL(d Dialect, opaSQL string, meta map[string]metaType) (string, error) {
	if opaSQL == "" {
		return "TRUE", nil
	}
	rest, ok := strings.CutPrefix(opaSQL, "WHERE ")
	if !ok {
		return "", fmt.Errorf("unexpected SQL from OPA: %q", truncate(opaSQL, 200))
	}
	r := &sqlRewriter{d: d, src: rest, meta: meta}
	if err := r.expr(0); err != nil {
		return "", err
	}
	if r.pos != len(r.src) {
		return "", r.errorf("unexpected text")
	}
	return r.out.String(), nil
}

// maxSQLDepth bounds the nesting renderSQL follows (OPA's output nests two or three levels).
const maxSQLDepth = 64

type sqlRewriter struct {
	d    Dialect
	src  string
	pos  int
	out  strings.Builder
	meta map[string]metaType // the type of each metadata key include reads
}

func (r *sqlRewriter) errorf(format string, args ...any) error {
	return fmt.Errorf("cannot verify OPA's SQL at byte %d of %q: %s", r.pos, truncate(r.src, 200), fmt.Sprintf(format, args...))
}

// eat consumes s if the input continues with it.
func (r *sqlRewriter) eat(s string) bool {
	if strings.HasPrefix(r.src[r.pos:], s) {
		r.pos += len(s)
		return true
	}
	return false
}

func (r *sqlRewriter) expr(depth int) error {
	if depth > maxSQLDepth {
		return r.errorf("nested too deeply")
	}
	switch {
	case r.eat("("):
		r.out.WriteByte('(')
		if err := r.expr(depth + 1); err != nil {
			return err
		}
		for {
			switch {
			case r.eat(" AND "):
				r.out.WriteString(" AND ")
			case r.eat(" OR "):
				r.out.WriteString(" OR ")
			case r.eat(")"):
				r.out.WriteByte(')')
				return nil
			default:
				return r.errorf("expected AND, OR or )")
			}
			if err := r.expr(depth + 1); err != nil {
				return err
			}
		}
	case r.eat("NOT "):
		// Parenthesised so that the reader need not know NOT's precedence.
		r.out.WriteString("NOT (")
		if err := r.expr(depth + 1); err != nil {
			return err
		}
		r.out.WriteByte(')')
		return nil
	case r.eat("0 = 1"): // go-sqlbuilder's "IN ()"
		r.out.WriteString("FALSE")
		return nil
	}
	return r.comparison()
}

func (r *sqlRewriter) comparison() error {
	f, err := r.field()
	if err != nil {
		return err
	}
	if f.key != "" {
		return r.metadataComparison(f.key)
	}
	col := f.col
	r.out.WriteString("s." + col)
	switch {
	case r.eat(" IS NOT NULL"):
		r.out.WriteString(" IS NOT NULL")
		return nil
	case r.eat(" IS NULL"):
		r.out.WriteString(" IS NULL")
		return nil
	case r.eat(" IN ("):
		r.out.WriteString(" IN (")
		return r.literalList(func() error { return r.literal(col) })
	}
	for _, op := range comparisonSQL {
		if !r.eat(op) {
			continue
		}
		r.out.WriteString(op)
		if strings.HasPrefix(r.src[r.pos:], "s.") {
			other, err := r.field()
			if err != nil {
				return err
			}
			if other.key != "" {
				return r.errorf("s.%s compared with metadata key %s", col, other.key)
			}
			if numericColumns[col] != numericColumns[other.col] {
				return r.errorf("s.%s compared with s.%s", col, other.col)
			}
			r.out.WriteString("s." + other.col)
			return nil
		}
		return r.literal(col)
	}
	return r.errorf("expected a comparison after s.%s", col)
}

// comparisonSQL are the comparison operators OPA writes, longest first.
var comparisonSQL = []string{" <= ", " >= ", " <> ", " = ", " < ", " > "}

// literalList reads the rest of "(literal, …)" after the opening parenthesis, with each literal
// read and written by lit.
func (r *sqlRewriter) literalList(lit func() error) error {
	for i := 0; ; i++ {
		if i > 0 {
			if r.eat(")") {
				r.out.WriteByte(')')
				return nil
			}
			if !r.eat(", ") {
				return r.errorf("expected , or )")
			}
			r.out.WriteString(", ")
		}
		if err := lit(); err != nil {
			return err
		}
	}
}

// metadataComparison writes the comparison of metadata key key, read as its type, with literals
// of that type; it never compares metadata with a column or with NULL.
func (r *sqlRewriter) metadataComparison(key string) error {
	t, ok := r.meta[key]
	if !ok {
		return r.errorf("metadata key %s is not compared with literals in include", key)
	}
	expr, err := metadataSQL(r.d, key, t)
	if err != nil {
		return err
	}
	r.out.WriteString(expr)
	if r.eat(" IN (") {
		r.out.WriteString(" IN (")
		return r.literalList(func() error { return r.metaLiteral(key, t) })
	}
	for _, op := range comparisonSQL {
		if !r.eat(op) {
			continue
		}
		r.out.WriteString(op)
		if strings.HasPrefix(r.src[r.pos:], "s.") {
			return r.errorf("metadata key %s compared with a column", key)
		}
		return r.metaLiteral(key, t)
	}
	return r.errorf("expected a comparison with a literal after s.metadata.%s", key)
}

// metaLiteral reads one literal compared with metadata key key and writes it as type t.
func (r *sqlRewriter) metaLiteral(key string, t metaType) error {
	if t == metaBoolean {
		var v bool
		switch {
		case r.eat("TRUE"):
			v = true
		case r.eat("FALSE"):
		default:
			return r.errorf("metadata key %s is a boolean but is compared with something else", key)
		}
		switch {
		case r.d == SQLite && v:
			r.out.WriteString("1")
		case r.d == SQLite:
			r.out.WriteString("0")
		case v:
			r.out.WriteString("TRUE")
		default:
			r.out.WriteString("FALSE")
		}
		return nil
	}
	v, err := r.readLiteral()
	if err != nil {
		return err
	}
	if t == metaNumber {
		n, ok := numericLiteral(v)
		if !ok {
			return r.errorf("metadata key %s is a number but is compared with %q", key, truncate(v, 40))
		}
		r.out.WriteString(n)
		return nil
	}
	q, err := quoteText(r.d, v)
	if err != nil {
		return fmt.Errorf("input.sample.metadata.%s is compared with %w", key, err)
	}
	r.out.WriteString(q)
	return nil
}

// operand is what field read: a column of Columns, or a metadata key.
type operand struct{ col, key string }

// field reads "s.<column>" or "s.metadata.<key>".
func (r *sqlRewriter) field() (operand, error) {
	if !r.eat("s.") {
		return operand{}, r.errorf("expected a column of s")
	}
	col := r.ident()
	if col == MetadataColumn && r.eat(".") {
		key := r.ident()
		if !metadataKeyRE.MatchString(key) {
			return operand{}, r.errorf("invalid metadata key %q", truncate(key, 80))
		}
		return operand{key: key}, nil
	}
	if !slices.Contains(Columns, col) {
		return operand{}, r.errorf("unknown column %q", col)
	}
	return operand{col: col}, nil
}

// ident reads a bare identifier: a letter or underscore, then letters, digits and underscores.
func (r *sqlRewriter) ident() string {
	start := r.pos
	for r.pos < len(r.src) {
		c := r.src[r.pos]
		if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9' && r.pos > start) {
			r.pos++
			continue
		}
		break
	}
	return r.src[start:r.pos]
}

// literal reads one literal compared with column col and writes it typed for col.
func (r *sqlRewriter) literal(col string) error {
	v, err := r.readLiteral()
	if err != nil {
		return err
	}
	if numericColumns[col] {
		n, ok := numericLiteral(v)
		if !ok {
			return r.errorf("s.%s is a number but is compared with %q", col, truncate(v, 40))
		}
		r.out.WriteString(n)
		return nil
	}
	q, err := quoteText(r.d, v)
	if err != nil {
		return fmt.Errorf("s.%s is compared with %w", col, err)
	}
	r.out.WriteString(q)
	return nil
}

// readLiteral decodes a literal as go-sqlbuilder's Interpolate writes it for the dialect: a
// quoted string (how it writes OPA's numbers too) or a bare number.
func (r *sqlRewriter) readLiteral() (string, error) {
	switch {
	case r.d == Postgres && r.eat("E'"):
		return r.readPostgresString()
	case r.d == SQLite && r.eat("'"):
		return r.readSQLiteString()
	}
	start := r.pos
	for r.pos < len(r.src) && strings.IndexByte("+-.0123456789eE", r.src[r.pos]) >= 0 {
		r.pos++
	}
	if r.pos == start {
		return "", r.errorf("expected a literal")
	}
	return r.src[start:r.pos], nil
}

// readSQLiteString reads the rest of a quoted string: a doubled quote is one quote, and a NUL
// is written as '||char(0)||'.
func (r *sqlRewriter) readSQLiteString() (string, error) {
	var b strings.Builder
	for r.pos < len(r.src) {
		c := r.src[r.pos]
		if c != '\'' {
			b.WriteByte(c)
			r.pos++
			continue
		}
		r.pos++
		switch {
		case r.eat("'"):
			b.WriteByte('\'')
		case r.eat("||char(0)||'"):
			b.WriteByte(0)
		default:
			return b.String(), nil
		}
	}
	return "", r.errorf("unterminated string")
}

// readPostgresString reads the rest of E'…' with go-sqlbuilder's backslash escapes (it writes
// \Z for 0x1a and \0 for NUL, which PostgreSQL would read as 'Z' and reject).
func (r *sqlRewriter) readPostgresString() (string, error) {
	var b strings.Builder
	for r.pos < len(r.src) {
		c := r.src[r.pos]
		r.pos++
		switch c {
		case '\'':
			return b.String(), nil
		case '\\':
			if r.pos >= len(r.src) {
				return "", r.errorf("unterminated escape")
			}
			e := r.src[r.pos]
			r.pos++
			switch e {
			case '0':
				b.WriteByte(0)
			case 'b':
				b.WriteByte('\b')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'Z':
				b.WriteByte(0x1a)
			case '\'', '"', '\\':
				b.WriteByte(e)
			default:
				return "", r.errorf("unknown escape \\%c", e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", r.errorf("unterminated string")
}

// jsonNumber is the syntax of a JSON number, which OPA numbers are written in and which both
// dialects read as a numeric literal.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// numericLiteral returns v as a bare SQL numeric literal, if it is a finite JSON number.
func numericLiteral(v string) (string, bool) {
	if len(v) > 64 || !jsonNumber.MatchString(v) {
		return "", false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) {
		return "", false
	}
	return v, true // always after a space, so a leading minus cannot form "--"
}

// quoteText writes s as a string literal for d. Both forms are safe whatever the server's
// settings: SQLite knows no escape in a quoted string but the doubled quote, and PostgreSQL's
// E'…' always reads a backslash as an escape, independently of standard_conforming_strings.
func quoteText(d Dialect, s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", errors.New("a string holding a NUL character, which SQL text cannot hold")
	}
	if !utf8.ValidString(s) {
		return "", errors.New("a string that is not valid UTF-8, which SQL text cannot hold")
	}
	s = strings.ReplaceAll(s, "'", "''")
	if d == Postgres {
		return "E'" + strings.ReplaceAll(s, `\`, `\\`) + "'", nil
	}
	return "'" + s + "'", nil
}
