package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pedigreeml/pedigree/registry"
)

// textError refuses what encoding/json would silently change in a JSON body: bytes that are not
// UTF-8, and \u escapes of lone UTF-16 surrogates (a high surrogate not followed by a low one, or a
// low one alone). Both decode to U+FFFD, so the registry would store, hash and log a text other than
// the one sent. A surrogate pair (\ud83d\ude00) is one character and passes. The error names the
// JSON field at fault, as a path such as samples/3/text, when the body is JSON up to that point.
func textError(body []byte, prefix string) error {
	off, what := badText(body)
	if off < 0 {
		return nil
	}
	field, ok := fieldAt(body, off)
	if !ok || field == "" {
		return registry.Errorf(registry.EINVALID, "%sthe body %s", prefix, what)
	}
	return &registry.Error{Code: registry.EINVALID, Message: prefix + field + ": " + what,
		Fields: []registry.FieldError{{Field: prefix + field, Message: what}}}
}

// badText returns the offset of the first byte that is not UTF-8 or of the first lone surrogate
// escape in b, with a description, or -1. The escape scan relies on backslashes appearing only inside
// strings, as in any valid JSON; on invalid JSON it may name a spot the decoder would refuse anyway.
func badText(b []byte) (int, string) {
	if !utf8.Valid(b) {
		for i := 0; i < len(b); {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				return i, fmt.Sprintf("holds a byte that is not UTF-8 (0x%02x at byte %d of the body); send UTF-8", b[i], i)
			}
			i += n
		}
	}
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\\')
		if j < 0 || i+j+1 >= len(b) {
			return -1, ""
		}
		i += j
		if b[i+1] != 'u' {
			i += 2 // an escaped character, possibly a backslash
			continue
		}
		r, ok := hex4(b, i+2)
		switch {
		case !ok:
			i += 2 // malformed; the decoder says so
			continue
		case r >= 0xD800 && r <= 0xDBFF:
			if i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
				if low, ok := hex4(b, i+8); ok && low >= 0xDC00 && low <= 0xDFFF {
					i += 12 // a surrogate pair: one character
					continue
				}
			}
		case r >= 0xDC00 && r <= 0xDFFF:
		default:
			i += 6
			continue
		}
		return i, fmt.Sprintf("holds %s at byte %d of the body, a lone UTF-16 surrogate that is not a character "+
			"(JSON decoding would store U+FFFD instead); escape a character beyond U+FFFF as a surrogate pair, or send it as UTF-8",
			b[i:i+6], i)
	}
}

// hex4 reads the four hexadecimal digits at b[i:i+4].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[i:i+4]), 16, 32)
	return rune(n), err == nil
}

// fieldAt returns the path of the JSON value whose text holds byte off of body ("" for the top
// level), or false if body is not JSON up to there. A problem in an object's key names the object.
func fieldAt(body []byte, off int) (string, bool) {
	type frame struct {
		object  bool
		wantKey bool
		key     string
		index   int
	}
	path := func(stack []frame) string {
		parts := make([]string, len(stack))
		for i, f := range stack {
			if f.object {
				parts[i] = f.key
			} else {
				parts[i] = strconv.Itoa(f.index)
			}
		}
		return strings.Join(parts, "/")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		end := int(dec.InputOffset())
		n := len(stack)
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{object: true, wantKey: true})
				continue
			case '[':
				stack = append(stack, frame{})
				continue
			}
			stack = stack[:n-1] // a closed container is a value of its parent
			n--
		case string:
			if n > 0 && stack[n-1].object && stack[n-1].wantKey {
				if end > off {
					return path(stack[:n-1]), true
				}
				stack[n-1].key, stack[n-1].wantKey = t, false
				continue
			}
		}
		if end > off {
			return path(stack), true
		}
		if n > 0 {
			if stack[n-1].object {
				stack[n-1].wantKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
}
