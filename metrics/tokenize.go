package metrics

import (
	"slices"
	"unicode"
	"unicode/utf8"
)

// TokenizerVersion identifies the tokenization rules in the package documentation. Bump it whenever
// Tokenize can return different tokens for some text; Version, and so every stored score, changes
// with it.
const TokenizerVersion = "tok/1"

// Tokenize splits text into lower-cased word tokens by the rules in the package documentation. It
// returns nil when text has no words.
func Tokenize(text string) []string {
	return AppendTokens(nil, text)
}

// AppendTokens appends the tokens of text to dst and returns the extended slice, so callers can reuse
// a buffer. The appended strings share one allocation.
func AppendTokens(dst []string, text string) []string {
	st := getState()
	defer putState(st)
	st.scan(text)
	return st.appendStrings(dst)
}

// asciiClass classifies each byte for the scanner: 0 separates words, '-' and the apostrophe are
// joiners, 1 marks a byte of a multi-byte UTF-8 sequence, and any value >= '0' is an ASCII word
// character, lower-cased.
var asciiClass = func() (t [256]byte) {
	for c := utf8.RuneSelf; c < len(t); c++ {
		t[c] = 1
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c
	}
	for c := byte('a'); c <= 'z'; c++ {
		t[c] = c
		t[c-'a'+'A'] = c
	}
	t['\''] = '\''
	t['-'] = '-'
	return t
}()

// joinerOf returns the ASCII form of r when r is a non-ASCII joiner, else 0.
func joinerOf(r rune) byte {
	switch r {
	case '\u2019':
		return '\''
	case '\u2010', '\u2011':
		return '-'
	}
	return 0
}

// scan tokenizes text into st.arena (the tokens, lower-cased and concatenated) and st.ends (the end
// offset of each token in the arena; a token starts where the previous one ends).
func (st *state) scan(text string) {
	arena := st.arena[:0]
	ends := st.ends[:0]
	inWord := false
	var pending byte // a joiner seen inside a word, kept only if a word character follows
	for i := 0; i < len(text); {
		switch l := asciiClass[text[i]]; {
		case l >= '0':
			if pending != 0 {
				arena = append(arena, pending)
				pending = 0
			}
			// Copy the whole run of ASCII word characters. It is no longer than the rest of the
			// text, so one capacity check covers it.
			if cap(arena)-len(arena) < len(text)-i {
				arena = slices.Grow(arena, len(text)-i)
			}
			k, buf := len(arena), arena[:cap(arena)]
			for ; i < len(text); i++ {
				l := asciiClass[text[i]]
				if l < '0' {
					break
				}
				buf[k] = l
				k++
			}
			arena = buf[:k]
			inWord = true
			continue
		case l == 0:
			i++
		case l != 1: // ASCII joiner
			i++
			if !inWord {
				continue
			}
			if pending == 0 {
				pending = l
				continue
			}
		default:
			r, size := utf8.DecodeRuneInString(text[i:])
			i += size
			if size == 1 { // invalid UTF-8 separates
				break
			}
			if unicode.IsLetter(r) || unicode.IsDigit(r) || (inWord && pending == 0 && unicode.IsMark(r)) {
				if pending != 0 {
					arena = append(arena, pending)
					pending = 0
				}
				arena = utf8.AppendRune(arena, unicode.ToLower(r))
				inWord = true
				continue
			}
			if j := joinerOf(r); j != 0 {
				if !inWord {
					continue
				}
				if pending == 0 {
					pending = j
					continue
				}
			}
		}
		// A separator, or a second joiner in a row, ends the word.
		if inWord {
			ends = append(ends, len(arena))
			inWord, pending = false, 0
		}
	}
	if inWord {
		ends = append(ends, len(arena))
	}
	st.arena, st.ends = arena, ends
}

// appendStrings appends the scanned tokens to dst as substrings of one new string.
func (st *state) appendStrings(dst []string) []string {
	if len(st.ends) == 0 {
		return dst
	}
	all := string(st.arena)
	dst = slices.Grow(dst, len(st.ends))
	start := 0
	for _, end := range st.ends {
		dst = append(dst, all[start:end])
		start = end
	}
	return dst
}

// loadStrings fills the arena and ends from already tokenized text.
func (st *state) loadStrings(tokens []string) {
	arena, ends := st.arena[:0], st.ends[:0]
	for _, t := range tokens {
		arena = append(arena, t...)
		ends = append(ends, len(arena))
	}
	st.arena, st.ends = arena, ends
}
