package redact

import (
	"iter"
	"maps"
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
	// longFilter filters long, so that a text is read about as fast for a
	// few secrets as it was searched for each.
	longFilter filter
	// pieces holds the pieces of the values whose fragments are masked
	// (see pattern.fragmented), by their bytes; pieceFilter filters them.
	pieces      map[string][]piece
	pieceFilter filter
}

// filter has a bit set for the first gram bytes of each key of a map, by
// their hash (see bit): a text's place whose bit is clear is passed
// without a look in the map. The bits of keys removed stay set until the
// filter is built again, once as many have left as are in it, or once it
// is too small for them.
type filter struct {
	bits  []uint64
	shift uint // 32 less the log2 of the filter's bits
	n     int  // entries in the map
	left  int  // entries removed since the filter was built
}

// add counts one more entry under key, with keys all the map's keys.
func (f *filter) add(key string, keys iter.Seq[string]) {
	f.n++
	if f.n*8 > len(f.bits)*64 {
		f.build(keys)
	}
	n := f.bit(key)
	f.bits[n/64] |= 1 << (n % 64)
}

// removed counts removed entries fewer, with keys the map's keys left.
func (f *filter) removed(removed int, keys iter.Seq[string]) {
	f.n -= removed
	f.left += removed
	if f.left > f.n {
		f.build(keys)
	}
}

// build sizes the filter to eight bits or more for each entry, and sets
// those of keys.
func (f *filter) build(keys iter.Seq[string]) {
	size := 512
	for size < f.n*8 {
		size *= 2
	}
	f.bits, f.shift, f.left = make([]uint64, size/64), uint(32-bits.TrailingZeros(uint(size))), 0
	for key := range keys {
		n := f.bit(key)
		f.bits[n/64] |= 1 << (n % 64)
	}
}

// may reports whether a key may start with s's first gram bytes: false
// if the filter says none does.
func (f *filter) may(s string) bool {
	if f.n == 0 {
		return false
	}
	n := f.bit(s)
	return f.bits[n/64]&(1<<(n%64)) != 0
}

// bit is the filter's bit for the first gram bytes of key: a
// multiplicative hash.
func (f *filter) bit(key string) uint32 {
	v := uint32(key[0]) | uint32(key[1])<<8 | uint32(key[2])<<16 | uint32(key[3])<<24
	return v * 0x9E3779B1 >> f.shift
}

type anchored struct {
	anchor string
	p      *pattern
}

// piece is a piece of a value's form, of pieceLen bytes, that the
// fragments of the form are found from.
type piece struct {
	p    *pattern
	form string
	at   int // where in form
}

// gram is how many leading bytes of an anchor the index keys it by.
const gram = 4

func (x *index) add(p *pattern) {
	if x.patterns == nil {
		x.patterns, x.long, x.short, x.pieces = map[string]*pattern{}, map[string][]anchored{}, map[string][]anchored{}, map[string][]piece{}
	}
	x.patterns[p.value] = p
	if p.anchors == nil {
		x.always = append(x.always, p)
	}
	for _, a := range p.anchors {
		m, key := x.keyOf(a)
		m[key] = append(m[key], anchored{anchor: a, p: p})
		if len(key) == gram {
			x.longFilter.add(key, maps.Keys(x.long))
		}
	}
	for key, at := range p.cut() {
		// A piece the value holds twice is kept where it first is: the
		// run around it is found from there in a value that repeats
		// itself, and its text is not read once for each.
		if !slices.ContainsFunc(x.pieces[key], func(e piece) bool { return e.p == p }) {
			x.pieces[key] = append(x.pieces[key], piece{p: p, form: at.form, at: at.at})
			x.pieceFilter.add(key, maps.Keys(x.pieces))
		}
	}
}

func (x *index) remove(value string) {
	p, ok := x.patterns[value]
	if !ok {
		return
	}
	delete(x.patterns, value)
	x.always = slices.DeleteFunc(x.always, func(q *pattern) bool { return q == p })
	longs := 0
	for _, a := range p.anchors {
		m, key := x.keyOf(a)
		if left := slices.DeleteFunc(m[key], func(e anchored) bool { return e.p == p }); len(left) > 0 {
			m[key] = left
		} else {
			delete(m, key)
		}
		if len(key) == gram {
			longs++
		}
	}
	x.longFilter.removed(longs, maps.Keys(x.long))
	pieces := 0
	for key := range p.cut() {
		held := len(x.pieces[key])
		left := slices.DeleteFunc(x.pieces[key], func(e piece) bool { return e.p == p })
		pieces += held - len(left)
		if len(left) > 0 {
			x.pieces[key] = left
		} else {
			delete(x.pieces, key)
		}
	}
	x.pieceFilter.removed(pieces, maps.Keys(x.pieces))
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
		if i+gram <= len(s) && x.longFilter.may(s[i:]) {
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

// fragments are the runs of s that are runs of fragmentRun bytes or more
// of a form of a value (see pattern.fragmented) and read as a token's part
// (machineMade), each as long as it reads alike, found from the pieces
// they hold. A run found is read past,
// so that a long one is read once, not once for each of its pieces;
// another value's run that goes on after it is found from its own pieces
// there, when what goes on is long enough to be masked. compared counts
// the pieces compared with s.
func (x *index) fragments(s string, compared *int) []fragment {
	var found []fragment
	for i := 0; i+pieceLen <= len(s); i++ {
		if !x.pieceFilter.may(s[i:]) {
			continue
		}
		entries := x.pieces[s[i:i+pieceLen]]
		if len(entries) > maxSharing {
			continue
		}
		next := i
		for _, e := range entries {
			*compared++
			start, end := i, i+pieceLen
			for at := e.at; start > 0 && at > 0 && s[start-1] == e.form[at-1]; at-- {
				start--
			}
			for at := e.at + pieceLen; end < len(s) && at < len(e.form) && s[end] == e.form[at]; at++ {
				end++
			}
			if end-start >= fragmentRun(len(e.p.value)) && machineMade(s[start:end]) {
				found = append(found, fragment{start: start, end: end, p: e.p})
				next = max(next, end-1)
			}
		}
		i = next
	}
	return found
}

// machineMade reports whether run reads as a part of a machine-made token:
// it holds a digit, or letters of both cases, as runs of 12 or more of
// random base64 or hex all but always do. A run of one case's letters and
// punctuation reads as words: a secret made of words (the dev provider's
// dev-client-secret, a password like a-subscription-key-0123) would
// otherwise mask those words in every message and URL (--client-secret-env,
// ?subscription-key=), and is masked whole only.
func machineMade(run string) bool {
	var digit, lower, upper bool
	for _, c := range []byte(run) {
		switch {
		case '0' <= c && c <= '9':
			digit = true
		case 'a' <= c && c <= 'z':
			lower = true
		case 'A' <= c && c <= 'Z':
			upper = true
		}
	}
	return digit || lower && upper
}

// maxSharing is the most values a piece may be part of for the fragments
// around it to be looked for. A piece that more values share is text
// common to secrets, not of one: an issuer's JWT header, shared by every
// token of an environment that holds JWTs (and by the mask of each, which
// shows its first bytes), or a vendor's prefix. Looked up, it made a line
// holding any such token compare with every token of the fleet (4000 of
// 2000 environments), and masked the header of a JWT not registered (an
// ID token an API answered with) as a token of another environment. A
// secret's own characters, random, are held by one value or a few: an
// environment's two generations of an access and a refresh token.
const maxSharing = 8

// fragment is s[start:end], a run of p's value.
type fragment struct {
	start, end int
	p          *pattern
}

// before reports whether Scrub applies p before q: longest value first, so
// a secret that contains another is masked whole.
func before(p, q *pattern) bool {
	if len(p.value) != len(q.value) {
		return len(p.value) > len(q.value)
	}
	return p.value < q.value
}
