package apiclient

import "strings"

// link is one link of a Link header (RFC 8288).
type link struct {
	target string
	rels   map[string]bool
}

// parseLinks reads Link header values such as
//
//	<https://api.example.com/v2/contacts?page=2>; rel="next", <…?page=9>; rel="last"
//
// A comma inside <…> or a quoted string does not end a link, and rel may
// name several relations separated by spaces. The relation may be quoted
// with double quotes (RFC 8288), with single quotes (rel='next', as
// FreeAgent sends it) or not at all. Malformed parts are skipped.
func parseLinks(values []string) []link {
	var links []link
	for _, v := range values {
		for _, part := range splitOutside(v, ',') {
			part = strings.TrimSpace(part)
			if !strings.HasPrefix(part, "<") {
				continue
			}
			end := strings.IndexByte(part, '>')
			if end < 0 {
				continue
			}
			l := link{target: strings.TrimSpace(part[1:end]), rels: map[string]bool{}}
			for _, param := range splitOutside(part[end+1:], ';') {
				k, val, ok := strings.Cut(strings.TrimSpace(param), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, r := range strings.Fields(unquote(strings.TrimSpace(val))) {
					l.rels[strings.ToLower(r)] = true
				}
			}
			links = append(links, l)
		}
	}
	return links
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
