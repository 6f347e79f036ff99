package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Record kinds written to the log. Any kind matching [a-z][a-z0-9_]* is accepted, so that an older
// verifier can still read leaves of kinds added later; use these constants to avoid typos.
const (
	KindSample        = "sample"
	KindModel         = "model"
	KindPolicyVersion = "policy_version"
	KindMix           = "mix"
	KindDecision      = "decision"
	KindKeyCreated    = "key_created"
	KindKeyRevoked    = "key_revoked"
	KindIdempotency   = "idempotency"
)

// LeafVersion is the format version written in every leaf's "v" member.
const LeafVersion = "1"

// MaxLeafSize bounds the size of an encoded leaf. Leaves hold digests and identifiers, not
// content: a multi-valued field such as a long parent list belongs in the leaf as a hash.
const MaxLeafSize = 64 << 10

// Reserved member names of a leaf; they cannot be used as field names.
const (
	leafKeyVersion = "v"
	leafKeyKind    = "kind"
	leafKeyID      = "id"
	leafKeyTime    = "t"
)

// leafTimeLayout is RFC 3339 in UTC with exactly three fractional digits.
const leafTimeLayout = "2006-01-02T15:04:05.000Z"

// ErrMalformedLeaf is wrapped by every error that [Leaf], [LeafRecord.Bytes] and [ParseLeaf]
// return.
var ErrMalformedLeaf = errors.New("ledger: malformed leaf")

// A LeafRecord is the content of one leaf: the kind and id of a record, its provenance fields as
// a flat string map, and the record's time (UTC, millisecond precision).
type LeafRecord struct {
	Kind   string
	ID     string
	Fields map[string]string
	Time   time.Time
}

// Leaf returns the canonical leaf bytes for a record: see [LeafRecord.Bytes].
func Leaf(kind, id string, fields map[string]string, t time.Time) ([]byte, error) {
	return LeafRecord{Kind: kind, ID: id, Fields: fields, Time: t}.Bytes()
}

// Bytes returns the canonical encoding of r, the bytes that the log hashes. It is a JSON object
// whose members are the fields plus "v" (the format version, "1"), "kind", "id" and "t" (the time
// in UTC, truncated to milliseconds, as 2006-01-02T15:04:05.000Z), all with string values, keys
// sorted, no white space and strings escaped as RFC 8785 (JSON Canonicalization Scheme) does:
// only '"', '\' and control characters are escaped. The output is therefore RFC 8785 canonical
// JSON, and equal records give equal bytes whatever the map order.
//
// Kind must match [a-z][a-z0-9_]*, id must be non-empty, field names must match [a-z][a-z0-9_]*
// (at most 64 bytes) and differ from the reserved names, every string must be valid UTF-8, the
// time must be set (not the zero time.Time) with its year within 1..9999, and the result must
// fit in [MaxLeafSize] bytes. Multi-valued fields are the caller's to flatten (for example a
// sorted, comma-joined list of ids, or its SHA-256).
func (r LeafRecord) Bytes() ([]byte, error) {
	if !isLeafName(r.Kind) {
		return nil, fmt.Errorf("%w: kind %q must match [a-z][a-z0-9_]*", ErrMalformedLeaf, r.Kind)
	}
	if r.ID == "" || !utf8.ValidString(r.ID) {
		return nil, fmt.Errorf("%w: id must be non-empty UTF-8", ErrMalformedLeaf)
	}
	t := r.Time.UTC().Truncate(time.Millisecond)
	if y := t.Year(); r.Time.IsZero() || y < 1 || y > 9999 {
		return nil, fmt.Errorf("%w: time %v out of range", ErrMalformedLeaf, r.Time)
	}

	keys := make([]string, 0, len(r.Fields)+4)
	for k, v := range r.Fields {
		switch {
		case k == leafKeyVersion || k == leafKeyKind || k == leafKeyID || k == leafKeyTime:
			return nil, fmt.Errorf("%w: field name %q is reserved", ErrMalformedLeaf, k)
		case !isLeafName(k) || len(k) > 64:
			return nil, fmt.Errorf("%w: field name %q must match [a-z][a-z0-9_]* (at most 64 bytes)", ErrMalformedLeaf, k)
		case !utf8.ValidString(v):
			return nil, fmt.Errorf("%w: field %q is not valid UTF-8", ErrMalformedLeaf, k)
		}
		keys = append(keys, k)
	}
	keys = append(keys, leafKeyVersion, leafKeyKind, leafKeyID, leafKeyTime)
	// Names are ASCII, so byte order is the UTF-16 code-unit order that RFC 8785 sorts by.
	sort.Strings(keys)

	value := func(k string) string {
		switch k {
		case leafKeyVersion:
			return LeafVersion
		case leafKeyKind:
			return r.Kind
		case leafKeyID:
			return r.ID
		case leafKeyTime:
			return t.Format(leafTimeLayout)
		}
		return r.Fields[k]
	}

	b := make([]byte, 0, 128+32*len(keys))
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, value(k))
		if len(b) > MaxLeafSize {
			return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformedLeaf, MaxLeafSize)
		}
	}
	b = append(b, '}')
	if len(b) > MaxLeafSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformedLeaf, MaxLeafSize)
	}
	return b, nil
}

// ParseLeaf decodes leaf bytes written by [Leaf]. It accepts only canonical encodings: the input
// must be exactly what [LeafRecord.Bytes] produces for the decoded record, so any byte of a leaf
// that parses is significant. The returned Fields never contains the reserved names.
func ParseLeaf(b []byte) (LeafRecord, error) {
	if len(b) > MaxLeafSize {
		return LeafRecord{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformedLeaf, MaxLeafSize)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return LeafRecord{}, fmt.Errorf("%w: not a JSON object of strings", ErrMalformedLeaf)
	}
	if v := m[leafKeyVersion]; v != LeafVersion {
		return LeafRecord{}, fmt.Errorf("%w: unsupported version %q", ErrMalformedLeaf, v)
	}
	ts, ok := m[leafKeyTime]
	if !ok {
		return LeafRecord{}, fmt.Errorf("%w: no time", ErrMalformedLeaf)
	}
	t, err := time.Parse(leafTimeLayout, ts)
	if err != nil {
		return LeafRecord{}, fmt.Errorf("%w: time %q", ErrMalformedLeaf, ts)
	}
	r := LeafRecord{Kind: m[leafKeyKind], ID: m[leafKeyID], Time: t, Fields: make(map[string]string, len(m))}
	for k, v := range m {
		if k != leafKeyVersion && k != leafKeyKind && k != leafKeyID && k != leafKeyTime {
			r.Fields[k] = v
		}
	}
	// Re-encoding rejects everything Unmarshal tolerates but Bytes never writes: white space,
	// other key orders, duplicate keys, needless escapes, invalid UTF-8, other time forms.
	canon, err := r.Bytes()
	if err != nil {
		return LeafRecord{}, err
	}
	if !bytes.Equal(canon, b) {
		return LeafRecord{}, fmt.Errorf("%w: not in canonical form", ErrMalformedLeaf)
	}
	return r, nil
}

// isLeafName reports whether s matches [a-z][a-z0-9_]*.
func isLeafName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	return strings.IndexFunc(s, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_')
	}) < 0
}

// appendJSONString appends s, valid UTF-8, as a JSON string escaped per RFC 8785 section 3.2.2.2.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\f':
			b = append(b, '\\', 'f')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
