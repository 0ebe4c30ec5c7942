package httpx

import "strings"

// Link is one link of a Link header (RFC 8288): its target as written
// between < and >, and the parameters after the >, as written.
type Link struct {
	Target string
	Params string // such as `; rel="next"`, white space after it trimmed
}

// ParseLinks reads the links of Link header values such as
//
//	<https://api.example.com/v2/contacts?page=2>; rel="next", <…?page=9>; rel="last"
//
// A comma inside <…> or a quoted string does not end a link. Text before a
// link's < is not part of it, and a part with no <…> is not a link.
func ParseLinks(values ...string) []Link {
	var links []Link
	for _, v := range values {
		for _, part := range splitOutside(v, ',') {
			start := strings.IndexByte(part, '<')
			if start < 0 {
				continue
			}
			n := strings.IndexByte(part[start:], '>')
			if n < 0 {
				continue
			}
			end := start + n
			links = append(links, Link{Target: strings.TrimSpace(part[start+1 : end]), Params: strings.TrimRight(part[end+1:], " \t")})
		}
	}
	return links
}

// String is the link as a Link header writes it.
func (l Link) String() string { return "<" + l.Target + ">" + l.Params }

// Rel reports whether the link has relation rel. The rel parameter may name
// several relations separated by spaces, quoted with double quotes (RFC
// 8288), with single quotes (rel='next', as FreeAgent sends it) or not at
// all; relations are compared without regard to case.
func (l Link) Rel(rel string) bool {
	for _, param := range splitOutside(l.Params, ';') {
		k, val, ok := strings.Cut(strings.TrimSpace(param), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
			continue
		}
		for _, r := range strings.Fields(unquote(strings.TrimSpace(val))) {
			if strings.EqualFold(r, rel) {
				return true
			}
		}
	}
	return false
}

// unquote strips one pair of matching double or single quotes.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// splitOutside splits s at sep where sep is outside <…> and "…".
func splitOutside(s string, sep byte) []string {
	var parts []string
	inAngle, inQuote, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' && !inAngle:
			inQuote = !inQuote
		case c == '<' && !inQuote:
			inAngle = true
		case c == '>' && !inQuote:
			inAngle = false
		case c == sep && !inAngle && !inQuote:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}
