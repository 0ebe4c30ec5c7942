package httpx

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// HasDotSegment reports whether escaped, a path as a client wrote it, holds
// a dot segment in any of its readings (see DotSegmentIn).
func HasDotSegment(escaped string) bool { return DotSegmentIn(PathReadings(escaped)) }

// DotSegmentIn reports whether readings, a path's (see PathReadings, whose
// first reading is the path as written), hold a dot segment, or never
// settled: no ordinary path is encoded so deep. A dot segment is read as
// the most lenient servers read one: a backslash counting as a slash, a
// segment cut at its first ; (..;x is .. to Java's servers), NUL (..%00
// is .. to C's string functions), ? or # (..%3fx is .. and a query to a
// server that parses the URL again once decoded), and its surrounding
// white space trimmed (".. " is .. to Windows and to frameworks that
// trim). A segment of three dots or more is a name, by RFC 3986 and to
// Windows, and passes.
// A .. is refused under every reading, overlong UTF-8 read unchecked
// included (%c0n%c0n, %c0%2e%c0%2e: .. to a decoder that takes the low six
// bits of whatever byte follows), and read checked, which keeps the bytes
// an unchecked reading took as one character and may show a .. it hid
// (..%c0%5c.. is ..\xc0 and .., to a server that keeps them), as it climbs
// out of the API's path. A . climbs nowhere: it is refused only where it
// really is one, plainly, percent-encoded, or in overlong UTF-8 whose
// continuation bytes are ones (%c0%ae). A segment such as %C0n (Latin-1's
// Àn), a . only to an unchecked reading, is a name, and passes.
// Clients resolve dot segments before sending (RFC 3986 5.2.4), so only a
// path sent as it was written (curl --path-as-is) has them.
func DotSegmentIn(readings []string, settled bool) bool {
	if !settled || slices.ContainsFunc(readings, func(r string) bool { return holdsSegment(r, "..") }) {
		return true
	}
	checked, settled := checkedReadings(readings[0])
	return !settled || slices.ContainsFunc(checked, func(r string) bool { return holdsSegment(r, ".") })
}

// holdsSegment reports whether reading, read as it is, has the segment seg.
func holdsSegment(reading, seg string) bool {
	return slices.Contains(LenientSegments(reading), seg)
}

// LenientSegments are the segments of reading, one reading of a path (see
// PathReadings), as the most lenient servers split it: at slashes and
// backslashes (IIS), each cut at its first ; (Java's path parameters:
// ..;x is ..), NUL (C's string functions), ? or # (a server parsing the
// URL again once decoded), and trimmed of white space (Windows, and
// frameworks that trim). Empty segments are left out.
func LenientSegments(reading string) []string {
	segs := strings.FieldsFunc(reading, func(r rune) bool { return r == '/' || r == '\\' })
	for i, seg := range segs {
		if j := strings.IndexAny(seg, ";\x00?#"); j >= 0 {
			seg = seg[:j]
		}
		segs[i] = strings.TrimSpace(seg)
	}
	return segs
}

// maxDecodings is how many times PathReadings decodes a path; each costs a
// pass over it, so a path of endless %2525… is not decoded endlessly.
const maxDecodings = 8

// maxReadings bounds how many readings PathReadings keeps: an ordinary
// path has one more for each decoding that changes it, a Latin-1 name a
// few more; only a path made to be read in many ways has more.
const maxReadings = 64

// PathReadings are the ways some server could read escaped, a path as a
// client wrote it: as it is, then percent-decoded again and again until
// nothing changes (an API, or a framework in front of it, that decodes
// twice reads %252e%252e as ..), each time as the most lenient decoders
// do (see decodeLeniently), overlong UTF-8 read checked or unchecked, in
// any order (a framework that checks, in front of an API that does not,
// reads %c0%c0%ae. as \xc0.. and then ..). settled is false when a
// reading still changed after maxDecodings, or there were more than
// maxReadings.
func PathReadings(escaped string) (readings []string, settled bool) {
	readings = []string{escaped}
	seen := map[string]bool{escaped: true}
	last := readings
	for range maxDecodings {
		var next []string
		for _, r := range last {
			for _, checked := range []bool{false, true} {
				if d := decodeLeniently(r, checked); !seen[d] {
					seen[d] = true
					next = append(next, d)
				}
			}
		}
		if len(next) == 0 {
			return readings, true
		}
		readings = append(readings, next...)
		if len(readings) > maxReadings {
			return readings, false
		}
		last = next
	}
	return readings, false
}

// checkedReadings are escaped's readings (see PathReadings) with overlong
// UTF-8 read checked every time: where a . really is one.
func checkedReadings(escaped string) (readings []string, settled bool) {
	readings = []string{escaped}
	for range maxDecodings {
		decoded := decodeLeniently(escaped, true)
		if decoded == escaped {
			return readings, true
		}
		readings = append(readings, decoded)
		escaped = decoded
	}
	return readings, false
}

// fullwidth are the fullwidth and other compatibility forms of ., .., ...,
// / and \, which NFKC normalisation turns into them (two dot leader ‥ is
// .., the ellipsis … is ...), and the characters Windows' best-fit
// conversion to a code page turns into / or \ (division slash ∕ and set
// minus ∖ in every one, the yen sign ¥ in Japanese and the won sign ₩ in
// Korean, whose backslash they are), which a server calling Windows' ANSI
// functions reads as separators.
var fullwidth = strings.NewReplacer("\uff0e", ".", "\uff0f", "/", "\uff3c", "\\",
	"\u2024", ".", "\u2025", "..", "\u2026", "...", "\ufe30", "..", "\ufe19", "...", "\ufe52", ".", "\ufe68", "\\",
	"\u2215", "/", "\u2216", "\\", "\u00a5", "\\", "\u20a9", "\\")

// decodeLeniently decodes s once as the most lenient decoders do: every
// %XX that is one (a % that begins none is left as it is), IIS's %uXXXX
// (%uff0e, a fullwidth ., IIS maps to . too), overlong UTF-8 of an ASCII
// character (%c0%ae is a . to decoders that do not check them; checked,
// see unOverlong), and fullwidth ., / and \. Other bytes that are not UTF-8 are kept: decoders
// keep them or read each as U+FFFD, and none known drops them and
// resolves what is left, so a dot among them (a binary id, %b0%f6.%b2;
// Latin-1's ¿.¡) is no dot segment.
func decodeLeniently(s string, checked bool) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
				i += 2
				continue
			}
			if i+5 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') && isHex(s[i+2]) && isHex(s[i+3]) && isHex(s[i+4]) && isHex(s[i+5]) {
				b = utf8.AppendRune(b, rune(unhex(s[i+2]))<<12|rune(unhex(s[i+3]))<<8|rune(unhex(s[i+4]))<<4|rune(unhex(s[i+5])))
				i += 5
				continue
			}
		}
		b = append(b, c)
	}
	return fullwidth.Replace(unOverlong(string(b), checked))
}

// unOverlong replaces each overlong UTF-8 sequence of an ASCII character
// (two to six bytes where one is enough, such as C0 AE for ., or F8 80 80
// 80 AE and FC 80 80 80 80 AE in the five- and six-byte forms UTF-8 had
// until RFC 3629) with that character. Unchecked, it reads them as
// decoders that check nothing do: taking the low six bits of each byte
// after the first, a continuation byte or not (C0 2E, and C0 6E, Latin-1's
// Àn, are a . too). Checked, only continuation bytes (10xxxxxx) follow the
// first, as in any overlong spelling; other bytes are kept.
func unOverlong(s string, checked bool) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if c, n := overlongASCII(s[i:], checked); n > 0 {
			b = append(b, c)
			i += n - 1
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

// overlongASCII reads the start of s as an overlong sequence of an ASCII
// character (see unOverlong): the character and the sequence's length, or
// a length of 0 where s starts with none.
func overlongASCII(s string, checked bool) (byte, int) {
	n := 0
	switch c := s[0]; {
	case c&0xE0 == 0xC0:
		n = 2
	case c&0xF0 == 0xE0:
		n = 3
	case c&0xF8 == 0xF0:
		n = 4
	case c&0xFC == 0xF8:
		n = 5
	case c&0xFE == 0xFC:
		n = 6
	}
	if n == 0 || len(s) < n {
		return 0, 0
	}
	v := uint32(s[0] & (0x7F >> n)) // the lead byte's bits of the character
	for k := 1; k < n; k++ {
		if checked && s[k]&0xC0 != 0x80 {
			return 0, 0
		}
		v = v<<6 | uint32(s[k]&0x3F)
	}
	if v >= 0x80 {
		return 0, 0
	}
	return byte(v), n
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
