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
//	expr    := "(" expr ((" AND " | " OR ") expr)* ")" | "NOT " expr | "0 = 1" | field rest
//	rest    := " IS NULL" | " IS NOT NULL" | " IN (" literal (", " literal)* ")" | " " op " " (field | literal)
//	field   := "s." column
//
// — decodes each literal as go-sqlbuilder encoded it, and writes it again for the column it is
// compared with: a bare numeric literal for a numeric column (OPA quotes numbers, and a quoted
// number compares as text in SQLite when the row source gives the column no numeric affinity,
// and fails in PostgreSQL for a fraction against an integer column), a freshly escaped string
// for a text column. Anything else is an error: a fragment that cannot be verified is refused,
// never passed through.
func renderSQL(d Dialect, opaSQL string) (string, error) {
	if opaSQL == "" {
		return "TRUE", nil
	}
	rest, ok := strings.CutPrefix(opaSQL, "WHERE ")
	if !ok {
		return "", fmt.Errorf("unexpected SQL from OPA: %q", truncate(opaSQL, 200))
	}
	r := &sqlRewriter{d: d, src: rest}
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
	d   Dialect
	src string
	pos int
	out strings.Builder
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
	col, err := r.field()
	if err != nil {
		return err
	}
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
			if err := r.literal(col); err != nil {
				return err
			}
		}
	}
	for _, op := range []string{" <= ", " >= ", " <> ", " = ", " < ", " > "} {
		if !r.eat(op) {
			continue
		}
		r.out.WriteString(op)
		if strings.HasPrefix(r.src[r.pos:], "s.") {
			other, err := r.field()
			if err != nil {
				return err
			}
			if numericColumns[col] != numericColumns[other] {
				return r.errorf("s.%s compared with s.%s", col, other)
			}
			r.out.WriteString("s." + other)
			return nil
		}
		return r.literal(col)
	}
	return r.errorf("expected a comparison after s.%s", col)
}

// field reads "s.<column>" and returns the column.
func (r *sqlRewriter) field() (string, error) {
	if !r.eat("s.") {
		return "", r.errorf("expected a column of s")
	}
	start := r.pos
	for r.pos < len(r.src) {
		c := r.src[r.pos]
		if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9' && r.pos > start) {
			r.pos++
			continue
		}
		break
	}
	col := r.src[start:r.pos]
	if !slices.Contains(Columns, col) {
		return "", r.errorf("unknown column %q", col)
	}
	return col, nil
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
