package metrics

// NewLexiconV1ScorerFromData exposes the word-list parser to the external tests.
func NewLexiconV1ScorerFromData(data string) (*LexiconV1Scorer, error) {
	return newLexiconV1Scorer(data)
}
