package metrics

// NewLexiconScorerFromData exposes the word-list parser to the external tests.
func NewLexiconScorerFromData(data string) (*LexiconScorer, error) { return newLexiconScorer(data) }
