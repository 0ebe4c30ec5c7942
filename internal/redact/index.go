package redact

import (
	"math/bits"
	"slices"
	"strings"
)

// index finds, in one pass over a text, the patterns whose anchors it
// holds: the only ones that may match it. A process of thousands of
// environments registers thousands of secrets, and looking for each
// pattern's anchors in turn cost every log line thousands of searches.
type index struct {
	patterns map[string]*pattern // by value
	// long holds the anchors of gram or more letters and digits by their
	// first gram, short the shorter ones whole.
	long, short map[string][]anchored
	// always are the patterns without anchors, tried on every text.
	always []*pattern
	// filter has a bit set for the first gram bytes of each anchor in
	// long, by their hash (see bit): a text's place whose bit is clear is
	// passed without a look in long, so that a text is read about as fast
	// for a few secrets as it was searched for each. The bits of anchors
	// removed stay set until the filter is built again, once as many have
	// left as are in it, or once it is too small for them.
	filter     []uint64
	shift      uint // 32 less the log2 of the filter's bits
	longs      int  // anchors in long
	leftFilter int  // anchors removed since the filter was built
}

type anchored struct {
	anchor string
	p      *pattern
}

// gram is how many leading bytes of an anchor the index keys it by.
const gram = 4

func (x *index) add(p *pattern) {
	if x.patterns == nil {
		x.patterns, x.long, x.short = map[string]*pattern{}, map[string][]anchored{}, map[string][]anchored{}
	}
	x.patterns[p.value] = p
	if p.anchors == nil {
		x.always = append(x.always, p)
	}
	for _, a := range p.anchors {
		m, key := x.keyOf(a)
		m[key] = append(m[key], anchored{anchor: a, p: p})
		if len(key) == gram {
			x.longs++
			if x.longs*8 > len(x.filter)*64 {
				x.buildFilter()
			}
			n := x.bit(key)
			x.filter[n/64] |= 1 << (n % 64)
		}
	}
}

// buildFilter sizes the filter to eight bits or more for each anchor in
// long, and sets theirs.
func (x *index) buildFilter() {
	size := 512
	for size < x.longs*8 {
		size *= 2
	}
	x.filter, x.shift, x.leftFilter = make([]uint64, size/64), uint(32-bits.TrailingZeros(uint(size))), 0
	for key := range x.long {
		n := x.bit(key)
		x.filter[n/64] |= 1 << (n % 64)
	}
}

// mayStart reports whether an anchor in long may start with key, gram
// bytes: false if the filter says none does.
func (x *index) mayStart(key string) bool {
	if x.longs == 0 {
		return false
	}
	n := x.bit(key)
	return x.filter[n/64]&(1<<(n%64)) != 0
}

// bit is the filter's bit for key, gram bytes: a multiplicative hash.
func (x *index) bit(key string) uint32 {
	v := uint32(key[0]) | uint32(key[1])<<8 | uint32(key[2])<<16 | uint32(key[3])<<24
	return v * 0x9E3779B1 >> x.shift
}

func (x *index) remove(value string) {
	p, ok := x.patterns[value]
	if !ok {
		return
	}
	delete(x.patterns, value)
	x.always = slices.DeleteFunc(x.always, func(q *pattern) bool { return q == p })
	for _, a := range p.anchors {
		m, key := x.keyOf(a)
		if left := slices.DeleteFunc(m[key], func(e anchored) bool { return e.p == p }); len(left) > 0 {
			m[key] = left
		} else {
			delete(m, key)
		}
		if len(key) == gram {
			x.longs--
			x.leftFilter++
		}
	}
	if x.leftFilter > x.longs {
		x.buildFilter()
	}
}

func (x *index) keyOf(anchor string) (map[string][]anchored, string) {
	if len(anchor) >= gram {
		return x.long, anchor[:gram]
	}
	return x.short, anchor
}

// candidates are the patterns that may match s, ordered as Scrub applies
// them (see before), and only those ordered after the pattern after (nil:
// all). compared counts the anchors compared with s and the patterns
// without anchors.
func (x *index) candidates(s string, after *pattern, compared *int) []*pattern {
	found := slices.Clone(x.always)
	*compared += len(x.always)
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			continue
		}
		if i+gram <= len(s) && x.mayStart(s[i:i+gram]) {
			for _, e := range x.long[s[i:i+gram]] {
				*compared++
				if strings.HasPrefix(s[i:], e.anchor) {
					found = append(found, e.p)
				}
			}
		}
		for n := minAnchor; n < gram && len(x.short) > 0 && i+n <= len(s); n++ {
			for _, e := range x.short[s[i:i+n]] {
				*compared++
				found = append(found, e.p)
			}
		}
	}
	if after != nil {
		found = slices.DeleteFunc(found, func(p *pattern) bool { return !before(after, p) })
	}
	slices.SortFunc(found, func(a, b *pattern) int {
		if before(a, b) {
			return -1
		}
		if before(b, a) {
			return 1
		}
		return 0
	})
	return slices.Compact(found)
}

// before reports whether Scrub applies p before q: longest value first, so
// a secret that contains another is masked whole.
func before(p, q *pattern) bool {
	if len(p.value) != len(q.value) {
		return len(p.value) > len(q.value)
	}
	return p.value < q.value
}
