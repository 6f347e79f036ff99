package policy

import _ "embed"

// DefaultName is the name under which the default policy is compiled and recorded, used when a
// mix request names no policy.
const DefaultName = "default"

//go:embed default.rego
var defaultModule string

// DefaultModule returns the text of the default policy (policy/default.rego): synthetic share at
// most 0.5, generation at most 2, at least 100 human samples, no model above 0.25 of a mix, and
// only samples with a toxicity score of at most 0.5; each number is tied to the research cited in
// the file.
func DefaultModule() string { return defaultModule }
