package registry

import (
	"context"
	"strconv"
)

// MaxLookupKeys bounds one lookup request.
const MaxLookupKeys = 1000

// Lookup asks which samples have these ids, external ids or contents: what a pipeline needs to link
// its own work, without listing the registry.
type Lookup struct {
	IDs         []string      `json:"ids,omitempty"`
	ExternalIDs []ExternalKey `json:"external_ids,omitempty"`
	Contents    []ContentKey  `json:"contents,omitempty"`
}

// ContentKey names a sample by its content: the SHA-256 of its text, with what makes the text a
// distinct record — its origin, model, parents and prompt, as they were sent at ingest. It is the
// key by which the registry finds a re-sent item, so it needs no index of its own: the text's hash
// alone would take one on every sample (a random insert per ingested sample), and would not name one
// sample, since one text may be stored as an answer to several prompts. A hash with no other field
// finds the human text with no parents and no prompt.
type ContentKey struct {
	ContentSHA256 string `json:"content_sha256"`
	Origin        string `json:"origin,omitempty"` // "human" (the default) or "model"
	Model         string `json:"model,omitempty"`
	Parents       []Ref  `json:"parents,omitempty"`
	PromptID      Ref    `json:"prompt_id,omitzero"`
	// Dataset is where external-id references without a dataset of their own are looked up, as the
	// sample's own dataset is at ingest.
	Dataset string `json:"dataset,omitempty"`
}

// newSample is the ingest item the key stands for, with a placeholder text: what the resolver and
// the ingest's validation read.
func (k *ContentKey) newSample() NewSample {
	text := "-"
	origin := k.Origin
	if origin == "" {
		origin = OriginHuman
	}
	return NewSample{Text: &text, Origin: origin, Model: k.Model, Parents: k.Parents, PromptID: k.PromptID, Dataset: k.Dataset}
}

// Validate checks the keys' forms and number.
func (l *Lookup) Validate() error {
	n := len(l.IDs) + len(l.ExternalIDs) + len(l.Contents)
	switch {
	case n == 0:
		return FieldErrorf("ids", "a lookup names at least one id, external_id or content")
	case n > MaxLookupKeys:
		return Errorf(ETOOLARGE, "a lookup names at most %d keys, got %d", MaxLookupKeys, n)
	}
	for i, id := range l.IDs {
		if !ValidID(id) {
			return FieldErrorf("ids/"+strconv.Itoa(i), "is not a sample id")
		}
	}
	for i, k := range l.ExternalIDs {
		if msg := checkExternalID(k.ExternalID); msg != "" || k.ExternalID == "" {
			if msg == "" {
				msg = "is required"
			}
			return FieldErrorf("external_ids/"+strconv.Itoa(i)+"/external_id", "%s", msg)
		}
	}
	for i := range l.Contents {
		k := &l.Contents[i]
		prefix := "contents/" + strconv.Itoa(i) + "/"
		if !validSHA256(k.ContentSHA256) {
			return FieldErrorf(prefix+"content_sha256", "must be 64 lowercase hexadecimal digits (the SHA-256 of the text's UTF-8 bytes)")
		}
		n := k.newSample()
		if err := n.Validate(prefix); err != nil {
			return err
		}
		rs, fields := refs(&n)
		for j, r := range rs {
			if r.Item != nil {
				return FieldErrorf(prefix+fields[j], "names a batch item; a lookup has no batch: name the sample by id or external_id")
			}
		}
	}
	return nil
}

func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Lookup answers the stored samples that l's keys name, each once, in the order of the keys (ids,
// then external ids, then contents); keys that name nothing are left out. A content key whose model
// or references are unknown is an EUNPROCESSABLE error, as at ingest. A checked store
// (leaves.Checked) proves every sample read, and that each has the key it was found by.
func (s *Service) Lookup(ctx context.Context, l *Lookup) ([]*Sample, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, id := range l.IDs {
		add(id)
	}
	if len(l.ExternalIDs) > 0 {
		found, err := s.Store.LookupExternal(ctx, l.ExternalIDs)
		if err != nil {
			return nil, err
		}
		for _, k := range l.ExternalIDs {
			if e, ok := found[k]; ok {
				add(e.ID)
			}
		}
	}
	if len(l.Contents) > 0 {
		identities, err := s.contentIdentities(ctx, l.Contents)
		if err != nil {
			return nil, err
		}
		found, err := s.Store.Identities(ctx, identities)
		if err != nil {
			return nil, err
		}
		for _, ident := range identities {
			if id, ok := found[ident]; ok {
				add(id)
			}
		}
	}
	if len(ids) == 0 {
		return []*Sample{}, nil
	}
	samples, err := s.Store.GetSamples(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*Sample, len(samples))
	for _, smp := range samples {
		byID[smp.ID] = smp
	}
	out := make([]*Sample, 0, len(samples))
	for _, id := range ids {
		if smp, ok := byID[id]; ok {
			out = append(out, smp)
		}
	}
	return out, nil
}

// contentIdentities derives the identity of each content key as the ingest derives a new sample's:
// its model and references resolved, parents and prompt as one sorted set.
func (s *Service) contentIdentities(ctx context.Context, keys []ContentKey) ([]string, error) {
	in := make([]NewSample, len(keys))
	samples := make([]*Sample, len(keys))
	for i := range keys {
		in[i] = keys[i].newSample()
		samples[i] = &Sample{ContentSHA256: keys[i].ContentSHA256, Origin: in[i].Origin, Model: in[i].Model}
	}
	r := s.newResolver(in, samples, func(i int) string { return "contents/" + strconv.Itoa(i) + "/" })
	if err := r.run(ctx); err != nil {
		return nil, err
	}
	out := make([]string, len(samples))
	for i, smp := range samples {
		out[i] = smp.IdentitySHA256
	}
	return out, nil
}
