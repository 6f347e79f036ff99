package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
)

//go:embed templates/summary.md.tmpl
var markdownSource string

//go:embed templates/summary.html.tmpl
var htmlSource string

// formatFuncs turn the Report's values into text. Markdown and HTML share them, so that a number is
// written the same way in both.
var formatFuncs = map[string]any{
	"num":  formatInt,
	"pct":  formatRatio,
	"dec":  formatDecimal,
	"time": formatTime,
	"raw":  func(v json.RawMessage) string { return string(v) },
	"ints": formatInts,
	"join": strings.Join,
}

// The templates are parsed once; they are constants of the package, never modified.
var (
	markdownTemplate = texttemplate.Must(texttemplate.New("md").Funcs(formatFuncs).Funcs(texttemplate.FuncMap{
		"md": markdownText, "code": markdownCode, "fence": markdownFence, "hasSuffix": strings.HasSuffix,
	}).Parse(markdownSource))
	htmlTemplate = htmltemplate.Must(htmltemplate.New("html").Funcs(formatFuncs).Funcs(htmltemplate.FuncMap{
		"webURL": webURL,
	}).Parse(htmlSource))
)

// JSON returns the report as indented JSON, ending in a newline.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Markdown returns the report as GitHub-flavoured Markdown; every name a registrant chose is escaped.
// It panics only if the package's own template is broken, which its tests rule out.
func (r *Report) Markdown() []byte {
	var b bytes.Buffer
	if err := markdownTemplate.Execute(&b, r); err != nil {
		panic(fmt.Sprintf("report: markdown template: %v", err))
	}
	return b.Bytes()
}

// HTML returns the report as a standalone HTML page with a little inline CSS and no scripts, every
// value escaped by html/template. It panics only if the package's own template is broken, which its
// tests rule out.
func (r *Report) HTML() []byte {
	var b bytes.Buffer
	if err := htmlTemplate.Execute(&b, r); err != nil {
		panic(fmt.Sprintf("report: html template: %v", err))
	}
	return b.Bytes()
}

// webURL reports whether a URI is worth a link: http and https only. html/template would neutralise
// any other scheme anyway; this keeps, say, an s3:// URI as plain text rather than a dead link.
func webURL(uri string) bool {
	u := strings.ToLower(uri)
	return strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")
}

// formatInt writes an integer with thousands separators: 24517 → "24,517".
func formatInt(v any) string {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	default:
		panic(fmt.Sprintf("report: num of %T", v))
	}
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func formatInts(v []int64) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.FormatInt(n, 10)
	}
	return strings.Join(s, ", ")
}

// formatRatio writes a share as a percentage with one decimal: 0.38462 → "38.5%".
func formatRatio(v float64) string { return strconv.FormatFloat(v*100, 'f', 1, 64) + "%" }

// formatDecimal writes a score with four decimals, or "n/a" for none.
func formatDecimal(v any) string {
	switch x := v.(type) {
	case *float64:
		if x == nil {
			return "n/a"
		}
		return strconv.FormatFloat(*x, 'f', 4, 64)
	case float64:
		return strconv.FormatFloat(x, 'f', 4, 64)
	}
	panic(fmt.Sprintf("report: dec of %T", v))
}

// formatTime writes a time as RFC 3339 in UTC, the same text as the JSON.
func formatTime(v any) string {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case *time.Time:
		if x == nil {
			return ""
		}
		return x.UTC().Format(time.RFC3339Nano)
	}
	panic(fmt.Sprintf("report: time of %T", v))
}

// markdownEscaper backslash-escapes what Markdown (GFM) would read as markup in running text and
// table cells, and flattens line breaks so that a name cannot start a block of its own.
var markdownEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`, `<`, `\<`, `>`, `\>`,
	`|`, `\|`, `&`, `\&`, `~`, `\~`, `#`, `\#`, "\r\n", " ", "\n", " ", "\r", " ",
)

func markdownText(s string) string { return markdownEscaper.Replace(s) }

// markdownFence returns a code fence longer than any run of backticks in s.
func markdownFence(s string) string {
	return strings.Repeat("`", max(3, longestRun(s, '`')+1))
}

func longestRun(s string, r rune) int {
	longest, run := 0, 0
	for _, c := range s {
		if c == r {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

// markdownCode writes s as a code span: fenced with one more backtick than its longest run, its pipes
// escaped (GFM splits table cells on them even inside code) and line breaks flattened.
func markdownCode(s string) string {
	if s == "" {
		return ""
	}
	s = strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}
