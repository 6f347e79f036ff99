// Package metrics computes the per-sample metrics stored at ingest: the token count, MTLD (lexical
// diversity) and a toxicity probability. It is pure: it does no
// I/O except through an HTTP toxicity scorer the caller configures.
//
// Every stored score records how it was computed: Version names the tokenizer and the MTLD and
// length computations, and Scores.ToxicityScorer names the toxicity scorer, so that scores from
// different implementations are never silently compared.
//
// # Tokenizer (TokenizerVersion "tok/1")
//
// The tokenizer moves MTLD more than anything else, so it is defined exactly and versioned:
//
//   - A word character is a Unicode letter (unicode.IsLetter) or decimal digit (unicode.IsDigit). A
//     combining mark (unicode.IsMark) directly after a word character also belongs to the word, so that
//     scripts written with combining vowel signs (Devanagari, Thai, …) and decomposed accents are not
//     cut into pieces.
//   - A joiner is an apostrophe (U+0027 ' or U+2019 ’) or a hyphen (U+002D -, U+2010 ‐, U+2011 ‑). A
//     single joiner with a word character immediately on both sides is part of the word ("don't",
//     "state-of-the-art", "rock'n'roll"); any other joiner (leading, trailing, or two in a row) separates
//     words and is dropped ("'quoted'" → quoted, "-x-" → x, "a--b" → a, b).
//   - Every other character (white space, punctuation, symbols, other marks, invalid UTF-8) separates
//     words and is dropped: "3.14" → 3, 14; "e-mail@host.org" → e-mail, host, org.
//   - Tokens are lower-cased rune by rune with unicode.ToLower (the semantics of strings.ToLower), and
//     joiners are normalised to ASCII: ’ becomes ' and ‐ ‑ become -, so "l’été" → "l'été". No other
//     Unicode normalisation is applied (a precomposed "é" and "e"+U+0301 are different tokens).
//   - There is no dictionary segmentation: text written without spaces (Chinese, Japanese, Thai) is one
//     token per run of word characters, so MTLD means little for it.
//
// The token count of a text (Scores.Tokens) is the number of these tokens.
//
// # MTLD
//
// MTLD is the Measure of Textual Lexical Diversity (McCarthy & Jarvis 2010), computed on these tokens
// exactly as the lexicalrichness Python package computes it, including its floating-point arithmetic:
// see the MTLD function.
//
// # Toxicity
//
// A ToxicityScorer returns a probability in [0, 1]. LexiconScorer is the offline default: licensed
// word lists (lexicon/ATTRIBUTION.md) with obfuscation handling, threat and identity-attack patterns
// and context rules; LexiconV1Scorer is its predecessor, kept to reproduce old scores. HTTPScorer is
// a client for any service speaking the Perspective API comments:analyze format; TEIScorer and
// OpenAIModerationScorer are batching clients for a Text Embeddings Inference classifier and an
// OpenAI-compatible moderation endpoint. ParseToxicityScorer builds any of them from registryd's
// --toxicity-scorer. Scorer ties the metrics together and decides what happens when the toxicity
// scorer is unavailable.
//
// The package imports the standard library, golang.org/x/text (accent folding) and
// github.com/mtibben/confusables (look-alike letters), the same tables registry/dedup uses.
package metrics
