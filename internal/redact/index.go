package redact

import (
	"iter"
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
	// (see pattern.fragmented), by their bytes packed in a uint64 (packed):
	// the first value's to hold each, and in shared the others', in the
	// order they were added. A random token's pieces are its own, and a
	// proxy holds a million of them (2000 environments' two generations
	// of JWTs of 1.25 KB, 140 pieces each): a piece takes a map's slot of
	// 16 bytes, with no pointer for the collector to follow. pieceFilter
	// filters them.
	pieces      map[uint64]piece
	shared      map[uint64][]piece
	pieceFilter filter
	// byID are the patterns with fragments by the id a piece names them
	// by, nil where one has left; free are the ids of those.
	byID []*pattern
	free []uint32
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

// add counts one more entry under key, the first gram bytes of a key
// packed, with keys those of all the map's keys.
func (f *filter) add(key uint32, keys iter.Seq[uint32]) {
	f.n++
	if f.n*8 > len(f.bits)*64 {
		f.build(keys)
	}
	n := f.bit(key)
	f.bits[n/64] |= 1 << (n % 64)
}

// removed counts removed entries fewer, with keys those of the map's keys
// left.
func (f *filter) removed(removed int, keys iter.Seq[uint32]) {
	f.n -= removed
	f.left += removed
	if f.left > f.n {
		f.build(keys)
	}
}

// build sizes the filter to eight bits or more for each entry, and sets
// those of keys.
func (f *filter) build(keys iter.Seq[uint32]) {
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
	n := f.bit(grammed(s))
	return f.bits[n/64]&(1<<(n%64)) != 0
}

// bit is the filter's bit for key, the first gram bytes of a key packed:
// a multiplicative hash.
func (f *filter) bit(key uint32) uint32 {
	return key * 0x9E3779B1 >> f.shift
}

// packed is the first 8 bytes of s as a number, its first byte the
// lowest, so that their first gram bytes are its lowest 32 bits
// (grammed).
func packed(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// grammed is the first gram bytes of s as a number, as packed writes
// them.
func grammed(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// longKeys are the first gram bytes of the keys of long, packed.
func (x *index) longKeys() iter.Seq[uint32] {
	return func(yield func(uint32) bool) {
		for key := range x.long {
			if !yield(grammed(key)) {
				return
			}
		}
	}
}

// pieceKeys are the first gram bytes of the pieces' keys, packed.
func (x *index) pieceKeys() iter.Seq[uint32] {
	return func(yield func(uint32) bool) {
		for key := range x.pieces {
			if !yield(uint32(key)) {
				return
			}
		}
	}
}

type anchored struct {
	anchor string
	p      *pattern
}

// piece is where a piece of a value's forms, of pieceLen bytes, that the
// fragments of the form are found from, is cut from: the value's pattern,
// by its id, and where in its forms (see pattern.cut).
type piece struct{ id, at uint32 }

// gram is how many leading bytes of an anchor the index keys it by.
const gram = 4

func (x *index) add(p *pattern) {
	if x.patterns == nil {
		x.patterns, x.long, x.short = map[string]*pattern{}, map[string][]anchored{}, map[string][]anchored{}
		x.pieces, x.shared = map[uint64]piece{}, map[uint64][]piece{}
	}
	x.patterns[p.value] = p
	if p.anchors == nil {
		x.always = append(x.always, p)
	}
	for _, a := range p.anchors {
		m, key := x.keyOf(a)
		m[key] = append(m[key], anchored{anchor: a, p: p})
		if len(key) == gram {
			x.longFilter.add(grammed(key), x.longKeys())
		}
	}
	if p.fragmented == nil {
		return
	}
	if n := len(x.free); n > 0 {
		p.id, x.free = x.free[n-1], x.free[:n-1]
		x.byID[p.id] = p
	} else {
		p.id = uint32(len(x.byID))
		x.byID = append(x.byID, p)
	}
	for key, at := range p.cut() {
		e := piece{id: p.id, at: at}
		first, held := x.pieces[key]
		more := x.shared[key]
		last := first
		if len(more) > 0 {
			last = more[len(more)-1]
		}
		_, in := p.formAt(at)
		switch {
		case !held:
			x.pieces[key] = e
		// A piece a form holds twice is kept where it first is: the run
		// around it is found from there in a value that repeats itself,
		// and its text is not read once for each. One that two forms hold
		// (a hex token's digits, in either case) is kept in each, as the
		// runs around it differ. The value's pieces are added one after
		// the other, so one of the same form is the last.
		case last.id == p.id && last.at >= at-uint32(in):
			continue
		default:
			x.shared[key] = append(more, e)
		}
		x.pieceFilter.add(uint32(key), x.pieceKeys())
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
	x.longFilter.removed(longs, x.longKeys())
	if p.fragmented == nil {
		return
	}
	pieces := 0
	for key := range p.cut() {
		more := x.shared[key]
		if first, held := x.pieces[key]; held && first.id == p.id {
			pieces++
			if len(more) == 0 {
				delete(x.pieces, key)
				continue
			}
			x.pieces[key], more = more[0], more[1:]
		} else {
			held := len(more)
			more = slices.DeleteFunc(more, func(e piece) bool { return e.id == p.id })
			pieces += held - len(more)
		}
		if len(more) > 0 {
			x.shared[key] = more
		} else {
			delete(x.shared, key)
		}
	}
	x.pieceFilter.removed(pieces, x.pieceKeys())
	x.byID[p.id] = nil
	x.free = append(x.free, p.id)
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
		key := packed(s[i : i+pieceLen])
		first, held := x.pieces[key]
		if !held {
			continue
		}
		more := x.shared[key]
		if sharedByMany(first, more) {
			continue
		}
		next := i
		for j := range 1 + len(more) {
			*compared++
			e := first
			if j > 0 {
				e = more[j-1]
			}
			p := x.byID[e.id]
			form, at := p.formAt(e.at)
			start, end := i, i+pieceLen
			for at := at; start > 0 && at > 0 && s[start-1] == form[at-1]; at-- {
				start--
			}
			for at := at + pieceLen; end < len(s) && at < len(form) && s[end] == form[at]; at++ {
				end++
			}
			if end-start >= fragmentRun(len(p.value)) && machineMade(s[start:end]) {
				found = append(found, fragment{start: start, end: end, p: p})
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

// sharedByMany reports whether more than maxSharing values hold a piece,
// first and more its entries: a value holds one for each form that holds
// it (a hex token's digits, in both cases), all of them added one after
// the other, and removed alike, so a value's are side by side. It reads
// no more than maxSharing values' entries.
func sharedByMany(first piece, more []piece) bool {
	if len(more) < maxSharing {
		return false
	}
	values, last := 1, first.id
	for _, e := range more {
		if e.id != last {
			values, last = values+1, e.id
			if values > maxSharing {
				return true
			}
		}
	}
	return false
}

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
