package metrics

// Version identifies how Tokens and MTLD are computed: the tokenizer, the MTLD algorithm and the
// token count. It is stored with every score; bump the leading number when MTLD or the count changes,
// and TokenizerVersion when tokenization does.
const Version = "pedigree-metrics/1+" + TokenizerVersion

// MTLD returns the Measure of Textual Lexical Diversity of tokens, computed as the lexicalrichness
// package computes it (threshold 0.72):
//
//   - A pass walks the tokens keeping the type-token ratio (TTR) of the current factor. When the TTR
//     is ≤ 0.72 the factor closes: the factor count goes up by one and a new factor starts empty.
//   - At the end, a non-empty remainder adds the partial factor (1 − TTR) / (1 − 0.72).
//   - A pass that ends with a factor count of zero (no factor closed and the remainder is all distinct)
//     uses the whole text's TTR instead: one factor if every token is distinct, else
//     (1 − TTR) / (1 − 0.72).
//   - The pass's value is len(tokens) / factors. MTLD is the mean of a forward and a backward pass.
//   - No tokens score 0.
//
// So "a b a c a b d a e b a c f a b a" scores 5.432098765432098 (forward 16/3; backward
// 16/(2 + 0.25/0.28)), seven identical tokens score 7/3, and n distinct tokens score n. MTLD is
// unreliable under about 50 tokens. Tokens are compared as strings; MTLD does not tokenize or
// lower-case them.
func MTLD(tokens []string) float64 {
	if len(tokens) == 0 {
		return 0
	}
	st := getState()
	defer putState(st)
	st.loadStrings(tokens)
	st.intern(st.seed, nil)
	return st.mtld()
}
