package dedup

import "strings"

// Tricks are edits that change a text's bytes but not what a reader reads, as a launderer would make
// them: each gives the same normalized key as the original, except CurlyApostrophe and
// DecomposedAccents, which change a word, and so are near-duplicates instead. Tests and the
// evaluation (BENCHMARKS.md) use them.
var Tricks = map[string]func(string) string{
	"TrailingSpace":     func(s string) string { return s + " " },
	"TrailingNewline":   func(s string) string { return s + "\n" },
	"CRLF":              func(s string) string { return strings.ReplaceAll(s, ", ", ",\r\n") },
	"DoubleSpace":       func(s string) string { return strings.Replace(s, " ", "  ", 3) },
	"Tab":               func(s string) string { return strings.Replace(s, " ", "\t", 2) },
	"Upper":             strings.ToUpper,
	"Lower":             strings.ToLower,
	"NoBreakSpace":      func(s string) string { return strings.Replace(s, " ", "\u00a0", 4) },
	"ZeroWidthSpace":    func(s string) string { return strings.Replace(s, "commit", "com\u200bmit", 1) },
	"ZeroWidthJoiner":   func(s string) string { return strings.Replace(s, "budget", "bud\u200dget", 1) },
	"SoftHyphen":        func(s string) string { return strings.Replace(s, "proposal", "pro\u00adposal", 1) },
	"BOM":               func(s string) string { return "\ufeff" + s },
	"LineSeparator":     func(s string) string { return strings.Replace(s, " ", "\u2028", 1) },
	"CyrillicA":         func(s string) string { return strings.ReplaceAll(s, "a", "\u0430") },
	"CyrillicO":         func(s string) string { return strings.Replace(s, "o", "\u043e", 3) },
	"GreekOmicron":      func(s string) string { return strings.Replace(s, "o", "\u03bf", 2) },
	"FullWidthStop":     func(s string) string { return strings.TrimSuffix(s, ".") + "\uff0e" },
	"FullWidthLetters":  func(s string) string { return strings.Replace(s, "The", "\uff34\uff48\uff45", 1) },
	"RemovedComma":      func(s string) string { return strings.Replace(s, ",", "", 1) },
	"RemovedFullStop":   func(s string) string { return strings.TrimSuffix(s, ".") },
	"ExtraPunctuation":  func(s string) string { return strings.Replace(s, "year.", "year!!", 1) },
	"CurlyApostrophe":   func(s string) string { return strings.Replace(s, "it agreed", "it\u2019s agreed", 1) },
	"LigatureFi":        func(s string) string { return strings.Replace(s, "fiscal", "\ufb01scal", 1) },
	"DecomposedAccents": func(s string) string { return strings.Replace(s, "committee", "comite\u0301", 1) },
}
