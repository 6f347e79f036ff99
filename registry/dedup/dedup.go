// Package dedup says when two texts are the same text, and when they are nearly the same.
//
// Two texts are the same when their normalized forms are equal (Normalize, Key): the normalization
// undoes the edits that change bytes but not what a reader reads — Unicode compatibility forms (NFKC:
// full-width letters, ligatures, decomposed accents), case, whitespace and line breaks, format
// characters (zero-width spaces and joiners, the byte order mark, soft hyphens), punctuation, and
// letters borrowed from another script that look alike (the confusable skeleton of Unicode
// Technical Standard #39).
//
// Two texts are nearly the same when the sets of their word shingles (runs of Shingle consecutive
// normalized words) overlap: their Jaccard similarity |A∩B| / |A∪B|. Comparing every pair would not
// scale, so each text gets a MinHash sketch of Bands×Rows values, and texts that agree on all Rows
// values of at least one band (locality-sensitive hashing) are candidates, whose exact similarity is
// then computed from their texts. Two texts of similarity s become candidates with probability
// 1-(1-s^Rows)^Bands; Recall gives it.
//
// Everything here is a pure function of the text and of Version: the stored keys and band keys can
// be re-derived from a stored text by anyone, which is how the audits check them.
package dedup

import (
	"crypto/sha256"
	"math"
	"slices"
	"strings"
	"unicode"

	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Version names the normalization, the shingling and the hash family. Changing any of them changes
// stored keys, so it would need a new Version and a migration that re-derives them.
const Version = "dedup-v1"

const (
	// Shingle is the number of consecutive words in a shingle.
	Shingle = 3
	// MinWords is the fewest normalized words a text needs for a sketch: below it, one changed word
	// is a different text, and only the exact key applies.
	MinWords = 8
	// Bands and Rows shape the sketch: Bands band keys, each over Rows MinHash values.
	Bands = 8
	Rows  = 3
)

// Normalize returns the text's normalized form: its words, separated by single spaces, after NFKC,
// case folding, removal of format characters and punctuation, and the confusable skeleton.
func Normalize(text string) string {
	n, _ := Normalized(text)
	return n
}

// Words returns the text's normalized words.
func Words(text string) []string {
	_, w := Normalized(text)
	return w
}

// Normalized returns the text's normalized form and its words, which are substrings of it.
func Normalized(text string) (string, []string) {
	for i := 0; i < len(text); i++ {
		if text[i] >= 0x80 {
			w := words(text)
			return joinWords(w)
		}
	}
	return asciiWords(text)
}

// joinWords joins words with single spaces and returns the words again as substrings of the result.
func joinWords(w []string) (string, []string) {
	all := strings.Join(w, " ")
	start := 0
	for i := range w {
		n := len(w[i])
		w[i] = all[start : start+n]
		start += n + 1
	}
	return all, w
}

// asciiWords is Normalized for ASCII text, which NFKC leaves as it is and the tables map byte by
// byte: the same words, in one pass.
func asciiWords(text string) (string, []string) {
	all, ends, _ := asciiNormalize(text)
	out := make([]string, len(ends))
	start := 0
	for i, end := range ends {
		out[i] = all[start:end]
		start = end + 1
	}
	return all, out
}

// asciiNormalize normalizes an ASCII text in one pass over its bytes, returning the normalized text,
// where each word ends in it, and each word's hash (hashWord).
func asciiNormalize(text string) (string, []int, []uint64) {
	buf := make([]byte, 0, len(text))
	ends := make([]int, 0, len(text)/5+1)
	hashes := make([]uint64, 0, len(text)/5+1)
	inWord := false
	h := uint64(fnvOffset)
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch asciiClass[c] {
		case classSpace:
			if inWord {
				ends, hashes = append(ends, len(buf)), append(hashes, h)
				inWord = false
			}
			continue
		case classDrop:
			continue
		}
		if !inWord {
			if len(buf) > 0 {
				buf = append(buf, ' ')
			}
			inWord, h = true, fnvOffset
		}
		if asciiClass[c] == classByte {
			buf = append(buf, asciiByte[c])
			h = (h ^ uint64(asciiByte[c])) * fnvPrime
		} else {
			n := asciiNormal[c&0x7f]
			buf = append(buf, n...)
			for j := 0; j < len(n); j++ {
				h = (h ^ uint64(n[j])) * fnvPrime
			}
		}
	}
	if inWord {
		ends, hashes = append(ends, len(buf)), append(hashes, h)
	}
	return string(buf), ends, hashes
}

// What the general path does to each ASCII character, as tables indexed by byte: asciiClass says
// whether it breaks words, is dropped, becomes one byte (asciiByte) or a longer text (asciiNormal).
const (
	classDrop = iota
	classSpace
	classByte
	classText
)

var asciiClass, asciiByte = func() (class [256]uint8, one [256]byte) {
	for c := 0; c < 128; c++ {
		switch n := asciiNormal[c]; {
		case asciiSpace[c]:
			class[c] = classSpace
		case n == "":
			class[c] = classDrop
		case len(n) == 1:
			class[c], one[c] = classByte, n[0]
		default:
			class[c] = classText
		}
	}
	return class, one
}()

// asciiSpace and asciiNormal are what the general path does to each ASCII character: a word break,
// or the (possibly empty) text it becomes after folding, the skeleton and dropping punctuation.
var asciiSpace, asciiNormal = func() (space [128]bool, normal [128]string) {
	for c := range normal {
		r := rune(c)
		if unicode.IsSpace(r) {
			space[c] = true
			continue
		}
		if dropped(r) < 0 {
			continue
		}
		normal[c] = strings.Map(dropped, asciiSkeleton[cases.Fold().String(string(r))[0]])
	}
	return space, normal
}()

// words is Words for any text.
func words(text string) []string {
	s := norm.NFKC.String(text)
	folder := cases.Fold() // a Caser keeps state: one per call
	s = folder.String(s)
	var words []string
	var w strings.Builder
	flush := func() {
		if w.Len() == 0 {
			return
		}
		// A skeleton may hold punctuation or spaces (a grave accent's prototype is an apostrophe):
		// they are dropped and split as in the text itself, so normalizing twice changes nothing.
		for _, part := range strings.FieldsFunc(skeleton(w.String()), unicode.IsSpace) {
			if part = strings.Map(dropped, part); part != "" {
				words = append(words, part)
			}
		}
		w.Reset()
	}
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || unicode.In(r, unicode.Zl, unicode.Zp):
			flush()
		case dropped(r) < 0, unicode.Is(unicode.Mn, r) && w.Len() == 0:
			// Format characters and punctuation are dropped, not word breaks: "soft­ware", "don't"
			// and "dont" are one word each way. A combining mark with no letter before it is noise.
		default:
			w.WriteRune(r)
		}
	}
	flush()
	return words
}

// dropped maps format characters and punctuation to -1 (strings.Map drops them), others to
// themselves.
func dropped(r rune) rune {
	if unicode.Is(unicode.Cf, r) || unicode.IsPunct(r) {
		return -1
	}
	return r
}

// skeleton maps a folded word to its confusable skeleton (UTS #39), then folds again, since some
// prototypes are capitals, and composes, so that equal words give equal bytes.
func skeleton(word string) string {
	for i := 0; i < len(word); i++ {
		if word[i] >= 0x80 {
			return stableSkeleton(word)
		}
	}
	// An ASCII word maps byte by byte; the table is the library's own mapping (asciiSkeleton).
	var b strings.Builder
	for i := 0; i < len(word); i++ {
		b.WriteString(asciiSkeleton[word[i]])
	}
	return b.String()
}

// stableSkeleton repeats skeleton-then-fold until the word stops changing, so that normalizing twice
// changes nothing: folding a prototype can give a letter with a prototype of its own (a capital
// stigma folds to a final sigma, which looks like an o). Where the two alternate instead (Cherokee
// folds small letters to capitals, whose prototypes are the small ones), the least of the cycle is
// the word's form.
func stableSkeleton(word string) string {
	seen := []string{word}
	for range 8 {
		next := norm.NFC.String(cases.Fold().String(confusables.Skeleton(word)))
		if next == word {
			return word
		}
		if i := slices.Index(seen, next); i >= 0 {
			return slices.Min(seen[i:])
		}
		seen = append(seen, next)
		word = next
	}
	return word
}

// asciiSkeleton is skeleton of each ASCII character, from the confusables table, so that the common
// case skips the normalizations.
var asciiSkeleton = func() (t [128]string) {
	for c := range t {
		t[c] = norm.NFC.String(cases.Fold().String(confusables.Skeleton(string(rune(c)))))
	}
	return t
}()

// Key is the SHA-256 of the normalized form: equal keys, the same text.
func Key(text string) [32]byte {
	return sha256.Sum256([]byte(Normalize(text)))
}

// Sketch is what the near-duplicate index keeps of a text: its band keys, empty for a text of fewer
// than MinWords words.
type Sketch struct {
	Bands []int64
}

// Shingles returns the set of the words' shingles as 64-bit hashes.
func Shingles(words []string) map[uint64]struct{} {
	hs := shingleHashes(words)
	set := make(map[uint64]struct{}, len(hs))
	for _, h := range hs {
		set[h] = struct{}{}
	}
	return set
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// hashWord is FNV-1a of a word.
func hashWord(w string) uint64 {
	h := uint64(fnvOffset)
	for j := 0; j < len(w); j++ {
		h = (h ^ uint64(w[j])) * fnvPrime
	}
	return h
}

// shingleHashes returns the hash of each run of Shingle words (one run if there are fewer words):
// each word is hashed once (FNV-1a), and a run's hash mixes its words' hashes in order.
func shingleHashes(words []string) []uint64 {
	wh := make([]uint64, len(words))
	for i, w := range words {
		wh[i] = hashWord(w)
	}
	return shingleHashesOf(wh)
}

// shingleHashesOf is shingleHashes of words whose hashes are wh.
func shingleHashesOf(wh []uint64) []uint64 {
	if len(wh) == 0 {
		return nil
	}
	n := max(len(wh)-Shingle+1, 1)
	out := make([]uint64, n)
	for i := range out {
		h := uint64(Shingle)
		for _, x := range wh[i:min(i+Shingle, len(wh))] {
			h = mix(h ^ x)
		}
		out[i] = h
	}
	return out
}

// Mix is the SplitMix64 finalizer: a bijection of 64-bit words that scatters every input bit.
func Mix(x uint64) uint64 { return mix(x) }

func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// mulAdd are the MinHash functions, fixed by Version: h_i(x) = a_i·x + b_i (mod 2⁶⁴), with a_i odd,
// over x = mix(shingle hash). An odd multiplier is a bijection of 64-bit words, so each h_i orders the
// shingles by a different permutation, and its minimum is as likely to fall on any shingle; one
// multiply and one add per function keep sketching a few microseconds a text.
var mulA, addB = func() (a, b [Bands * Rows]uint64) {
	for i := range a {
		a[i] = mix(uint64(2*i+1)*0x9e3779b97f4a7c15) | 1
		b[i] = mix(uint64(2*i+2) * 0x9e3779b97f4a7c15)
	}
	return a, b
}()

// SketchWords computes the sketch of normalized words.
func SketchWords(words []string) Sketch {
	wh := make([]uint64, len(words))
	for i, w := range words {
		wh[i] = hashWord(w)
	}
	return sketchHashes(wh)
}

// Prepare is what ingest computes of a text: its normalized form and its sketch, in one pass over
// an ASCII text's bytes. It gives what Normalize and SketchWords give.
func Prepare(text string) (string, Sketch) {
	for i := 0; i < len(text); i++ {
		if text[i] >= 0x80 {
			norm, words := Normalized(text)
			return norm, SketchWords(words)
		}
	}
	norm, _, hashes := asciiNormalize(text)
	return norm, sketchHashes(hashes)
}

// sketchHashes computes the sketch of a text whose words hash to wh.
func sketchHashes(wh []uint64) Sketch {
	if len(wh) < MinWords {
		return Sketch{}
	}
	var mins [Bands * Rows]uint64
	for i := range mins {
		mins[i] = math.MaxUint64
	}
	for _, x := range shingleHashesOf(wh) {
		for j := range mins {
			if v := mulA[j]*x + addB[j]; v < mins[j] {
				mins[j] = v
			}
		}
	}
	// A band's key mixes its number and its Rows values: equal keys, equal values, but for
	// collisions of 64-bit hashes.
	out := Sketch{Bands: make([]int64, Bands)}
	for b := 0; b < Bands; b++ {
		k := mix(uint64(b) + 0x9e3779b97f4a7c15)
		for r := 0; r < Rows; r++ {
			k = mix(k ^ mins[b*Rows+r])
		}
		out.Bands[b] = int64(k)
	}
	return out
}

// Jaccard is the similarity of two shingle sets.
func Jaccard(a, b map[uint64]struct{}) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	common := 0
	for x := range a {
		if _, ok := b[x]; ok {
			common++
		}
	}
	return float64(common) / float64(len(a)+len(b)-common)
}

// Similarity is the Jaccard similarity of two texts' shingle sets.
func Similarity(a, b string) float64 {
	return Jaccard(Shingles(Words(a)), Shingles(Words(b)))
}

// Recall is the probability that two texts of similarity s share a band: that the index finds them.
func Recall(s float64) float64 {
	return 1 - math.Pow(1-math.Pow(s, Rows), Bands)
}
