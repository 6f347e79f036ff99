package metrics_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pedigreeml/pedigree/metrics"
)

// benchTexts returns ~120-word English-like texts (about 2% lexicon words) and their total tokens.
func benchTexts(b *testing.B) ([]string, []int) {
	b.Helper()
	lexWords := lexiconWords(loadOracleLexicon(b))
	r := rand.New(rand.NewPCG(11, 12))
	texts := make([]string, 256)
	counts := make([]int, len(texts))
	for i := range texts {
		texts[i] = genText(r, 120, lexWords, false)
		counts[i] = len(metrics.Tokenize(texts[i]))
	}
	return texts, counts
}

// BenchmarkScore measures tokenizer + MTLD + length + lexicon per text, for the fast path with
// lexicon/1, with the default lexicon/2, and the map-based oracle of lexicon/1, and the ratio of
// the lexicon/1 fast path to its oracle measured in the same run.
//
//	go test ./metrics -run '^$' -bench Score -benchtime 2s -cpu 1
func BenchmarkScore(b *testing.B) {
	texts, counts := benchTexts(b)
	lex := loadOracleLexicon(b)
	s := &metrics.Scorer{Toxicity: metrics.NewLexiconV1Scorer()}
	ctx := context.Background()
	fast := func(text string) {
		if _, err := s.Score(ctx, text); err != nil {
			b.Fatal(err)
		}
	}
	oracle := func(text string) { oracleScore(lex, text) }

	run := func(score func(string)) func(*testing.B) {
		return func(b *testing.B) {
			tokens := 0
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				k := i % len(texts)
				score(texts[k])
				tokens += counts[k]
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
		}
	}
	s2 := &metrics.Scorer{Toxicity: metrics.NewLexiconScorer()}
	lexicon2 := func(text string) {
		if _, err := s2.Score(ctx, text); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("fast", run(fast))
	b.Run("lexicon2", run(lexicon2)) // the default lexicon: obfuscations, patterns, context rules
	b.Run("oracle", run(oracle))
	b.Run("lexicon2-cost", func(b *testing.B) {
		// The default lexicon against lexicon/1, interleaved text by text so that both see the same
		// load: the ratio is what its rules cost.
		var v1Time, v2Time time.Duration
		for b.Loop() {
			for _, text := range texts {
				start := time.Now()
				fast(text)
				mid := time.Now()
				lexicon2(text)
				v1Time += mid.Sub(start)
				v2Time += time.Since(mid)
			}
		}
		b.ReportMetric(float64(v1Time.Nanoseconds())/float64(b.N*len(texts)), "v1-ns/text")
		b.ReportMetric(float64(v2Time.Nanoseconds())/float64(b.N*len(texts)), "v2-ns/text")
		b.ReportMetric(v2Time.Seconds()/v1Time.Seconds(), "v2/v1")
	})
	b.Run("speedup", func(b *testing.B) {
		// Each iteration scores every text with both implementations, timing each, so that the ratio
		// compares the two under the same conditions.
		var fastTime, oracleTime time.Duration
		tokens := 0
		for b.Loop() {
			start := time.Now()
			for _, text := range texts {
				fast(text)
			}
			mid := time.Now()
			for _, text := range texts {
				oracle(text)
			}
			fastTime += mid.Sub(start)
			oracleTime += time.Since(mid)
			for _, c := range counts {
				tokens += c
			}
		}
		b.ReportMetric(float64(tokens)/fastTime.Seconds(), "fast-tokens/s")
		b.ReportMetric(float64(tokens)/oracleTime.Seconds(), "oracle-tokens/s")
		b.ReportMetric(oracleTime.Seconds()/fastTime.Seconds(), "speedup")
	})
}

// BenchmarkTokenize measures the tokenizer alone, appending into a reused buffer.
func BenchmarkTokenize(b *testing.B) {
	texts, counts := benchTexts(b)
	b.Run("fast", func(b *testing.B) {
		buf := make([]string, 0, 256)
		tokens := 0
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			buf = metrics.AppendTokens(buf[:0], texts[i%len(texts)])
			tokens += counts[i%len(texts)]
		}
		b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
	})
	b.Run("oracle", func(b *testing.B) {
		tokens := 0
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			oracleTokenize(texts[i%len(texts)])
			tokens += counts[i%len(texts)]
		}
		b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
	})
}

// BenchmarkMTLD measures MTLD alone on pre-tokenized texts.
func BenchmarkMTLD(b *testing.B) {
	texts, _ := benchTexts(b)
	tokenized := make([][]string, len(texts))
	for i, text := range texts {
		tokenized[i] = metrics.Tokenize(text)
	}
	for name, mtld := range map[string]func([]string) float64{"fast": metrics.MTLD, "oracle": oracleMTLD} {
		b.Run(name, func(b *testing.B) {
			tokens := 0
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				mtld(tokenized[i%len(tokenized)])
				tokens += len(tokenized[i%len(tokenized)])
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
