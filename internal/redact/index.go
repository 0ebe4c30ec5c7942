package redact

import (
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
	}
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
		if i+gram <= len(s) {
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
