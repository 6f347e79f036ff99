package metrics

import (
	"hash/maphash"
	"math"
	"sync"
)

// state is the scratch memory for scoring one text: the tokens, their interned type ids, and the
// per-type data the lexicon needs. States are pooled so that scoring a text allocates nothing in the
// steady state.
type state struct {
	arena []byte // tokens, concatenated
	ends  []int  // end offset of each token in arena

	ids []int32 // type id of each token

	// Intern table: open addressing over slots, each holding a type id + 1 (0 = empty).
	slots []int32
	types []typeInfo // by type id

	seen  []uint32 // by type id: the MTLD factor (epoch) in which the type last occurred
	epoch uint32

	seed    maphash.Seed // for interning without a lexicon
	strings []string     // token strings handed to a non-lexicon scorer
}

// typeInfo describes one distinct token.
type typeInfo struct {
	hash       uint64
	start, end int   // its text is arena[start:end] (its first occurrence)
	count      int32 // number of tokens of this type
	weight     int32 // lexicon weight in hundredths (only when interned with a lexicon)
}

// maxPooledBytes bounds the memory a pooled state keeps, so one huge text does not pin its buffers.
const maxPooledBytes = 1 << 20

var statePool = sync.Pool{New: func() any { return &state{seed: maphash.MakeSeed()} }}

func getState() *state { return statePool.Get().(*state) }

func putState(st *state) {
	if cap(st.arena) > maxPooledBytes || cap(st.ends) > maxPooledBytes/8 {
		return
	}
	clear(st.strings) // drop references to token strings
	st.strings = st.strings[:0]
	statePool.Put(st)
}

// intern assigns each scanned token a type id (in order of first occurrence), hashing with seed. With
// a lexicon (whose seed must be seed), it also looks up each new type's weight.
func (st *state) intern(seed maphash.Seed, lex *LexiconV1Scorer) {
	n := len(st.ends)
	size := 16
	for size < 2*n {
		size <<= 1
	}
	if cap(st.slots) >= size {
		st.slots = st.slots[:size]
		clear(st.slots)
	} else {
		st.slots = make([]int32, size)
	}
	slots, mask := st.slots, uint64(size-1)
	ids, types := st.ids[:0], st.types[:0]
	arena := st.arena
	start := 0
	for _, end := range st.ends {
		tok := arena[start:end]
		h := maphash.Bytes(seed, tok)
		i := h & mask
		for {
			e := slots[i]
			if e == 0 {
				id := int32(len(types))
				slots[i] = id + 1
				t := typeInfo{hash: h, start: start, end: end, count: 1}
				if lex != nil {
					t.weight = lex.weightBytes(tok, h)
				}
				types = append(types, t)
				ids = append(ids, id)
				break
			}
			if t := &types[e-1]; t.hash == h && string(arena[t.start:t.end]) == string(tok) {
				t.count++
				ids = append(ids, e-1)
				break
			}
			i = (i + 1) & mask
		}
		start = end
	}
	st.ids, st.types = ids, types
}

// mtldThreshold is the type-token ratio at which an MTLD factor closes.
const mtldThreshold = 0.72

// mtld computes MTLD over the interned tokens; see MTLD.
func (st *state) mtld() float64 {
	n := len(st.ids)
	if n == 0 {
		return 0
	}
	if types := len(st.types); cap(st.seen) >= types {
		st.seen = st.seen[:types] // stale entries hold older epochs, so need no clearing
	} else {
		st.seen = make([]uint32, types)
	}
	forward := st.pass(false)
	backward := st.pass(true)
	// (f+b)/2 rounds once, like lexicalrichness's statistics.mean, which averages exactly.
	return (forward + backward) / 2
}

// nextEpoch starts a new factor: every type becomes unseen.
func (st *state) nextEpoch() uint32 {
	if st.epoch == math.MaxUint32 {
		clear(st.seen[:cap(st.seen)])
		st.epoch = 0
	}
	st.epoch++
	return st.epoch
}

// pass is one direction of MTLD, following lexicalrichness's sub_mtld step by step so that the
// floating-point results are identical.
//
// The reference closes a factor when float64(types)/float64(count) <= 0.72. This tests the exact
// rational types/count <= 18/25 instead, in integers, which is the same decision: if
// types/count = 18/25 the quotient rounds to the float64 nearest 0.72, which is the threshold; any
// other types/count differs from 18/25 by at least 1/(25·count), far more than the rounding error
// of either side for any count below 10^14.
func (st *state) pass(reverse bool) float64 {
	threshold := float64(mtldThreshold) // a float64 variable, so 1-threshold rounds as in Python
	ids, seen := st.ids, st.seen
	n := len(ids)
	epoch := st.nextEpoch()
	var factors float64
	count, types := 0, 0
	for k := range n {
		id := ids[k]
		if reverse {
			id = ids[n-1-k]
		}
		count++
		if seen[id] != epoch {
			seen[id] = epoch
			types++
		}
		if 25*types <= 18*count { // float64(types)/float64(count) <= 0.72
			factors++
			count, types = 0, 0
			epoch = st.nextEpoch()
		}
	}
	if count > 0 {
		// The reference's ttr here is the one it computed for the last token, which did not close a
		// factor: that of the remainder.
		ttr := float64(types) / float64(count)
		factors += (1 - ttr) / (1 - threshold)
	}
	if factors == 0 {
		// No factor closed and the remainder (the whole text) has TTR 1. lexicalrichness then falls
		// back on the whole text's TTR, which here is always 1, giving one factor; the general form
		// is kept to mirror the reference.
		whole := float64(len(st.types)) / float64(n)
		if whole == 1 {
			factors = 1
		} else {
			factors = (1 - whole) / (1 - threshold)
		}
	}
	return float64(n) / factors
}
