package httpx

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/freshtoken/freshtoken/internal/redact"
)

// ResolveReference resolves ref, a URL found in an answer to a request for
// base, the way browsers, Postman and Node read it (the WHATWG URL
// standard), where Go's url package would read it otherwise: tabs and
// newlines are dropped; in an http(s) URL a backslash is a slash, and any
// run of slashes after the scheme or at the start of a relative URL begins
// the host (http:/\127.0.0.1 is http://127.0.0.1); a % not followed by two
// hex digits is a % (100%.pdf is 100%25.pdf); and the path's dot segments,
// percent-encoded ones too (%2e%2e), are resolved. The path of the URL
// returned has no dot segments left.
func ResolveReference(base *url.URL, ref string) (*url.URL, error) {
	ref = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, strings.Trim(ref, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "))
	scheme, rest, hasScheme := splitScheme(ref)
	switch {
	case hasScheme && isSpecial(scheme):
		rest = slashes(rest)
		switch trimmed := strings.TrimLeft(rest, "/"); {
		case trimmed != rest || !strings.EqualFold(scheme, base.Scheme):
			ref = scheme + "://" + trimmed
		default: // http:path, relative to a base of the same scheme
			ref = rest
		}
	case !hasScheme && isSpecial(base.Scheme):
		ref = slashes(ref)
		if strings.HasPrefix(ref, "//") {
			ref = "//" + strings.TrimLeft(ref, "/")
		}
	}
	u, err := base.Parse(barePercentsEscaped(ref))
	if err != nil {
		return nil, err
	}
	path := RemoveDotSegments(u.EscapedPath())
	if u.Path, err = url.PathUnescape(path); err != nil {
		return nil, err
	}
	u.RawPath = path
	return u, nil
}

// splitScheme splits "scheme:rest"; hasScheme is false when ref has no
// scheme.
func splitScheme(ref string) (scheme, rest string, hasScheme bool) {
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.':
			if i == 0 {
				return "", ref, false
			}
		case c == ':' && i > 0:
			return ref[:i], ref[i+1:], true
		default:
			return "", ref, false
		}
	}
	return "", ref, false
}

func isSpecial(scheme string) bool {
	switch strings.ToLower(scheme) {
	case "http", "https", "ws", "wss":
		return true
	}
	return false
}

// slashes turns the backslashes of a URL's host and path into slashes,
// as WHATWG readers do for http(s) URLs; its query and fragment keep them.
func slashes(ref string) string {
	end := strings.IndexAny(ref, "?#")
	if end < 0 {
		end = len(ref)
	}
	return strings.ReplaceAll(ref[:end], `\`, "/") + ref[end:]
}

// barePercentsEscaped escapes each % that begins no percent-encoded byte,
// which WHATWG readers keep as it is and Go's url package refuses.
func barePercentsEscaped(ref string) string {
	if !strings.Contains(ref, "%") {
		return ref
	}
	var b strings.Builder
	for i := 0; i < len(ref); i++ {
		b.WriteByte(ref[i])
		if ref[i] == '%' && !(i+2 < len(ref) && isHex(ref[i+1]) && isHex(ref[i+2])) {
			b.WriteString("25")
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// RemoveDotSegments resolves the "." and ".." segments of an escaped
// path (RFC 3986, section 5.2.4), counting %2e as a dot, as WHATWG readers
// do. Dot segments only another decoding shows are left (see
// HasDotSegment).
func RemoveDotSegments(path string) string {
	if path == "" {
		return ""
	}
	segs := strings.Split(path, "/")
	out := make([]string, 0, len(segs))
	for i, seg := range segs {
		last := i == len(segs)-1
		switch dots(seg) {
		case 1:
			if last {
				out = append(out, "")
			}
		case 2:
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	joined := strings.Join(out, "/")
	if strings.HasPrefix(path, "/") && !strings.HasPrefix(joined, "/") {
		joined = "/" + joined
	}
	return joined
}

// dots is 1 for a "." segment, 2 for "..", either spelled with %2e, and 0
// for any other.
func dots(seg string) int {
	s := strings.ReplaceAll(strings.ToLower(seg), "%2e", ".")
	switch s {
	case ".":
		return 1
	case "..":
		return 2
	}
	return 0
}

// URLFault says what keeps s from being a URL freshtoken sends requests to,
// in words about the URL alone, its caller saying what to do; "" when
// nothing does. A user or password is not shown: every message and debug
// line naming the URL would show it, and net/http would send a password
// as HTTP Basic beside the client's own authentication. A fragment is
// never sent, and a log-in's parameters, written after it, would go into
// it. The configuration, init's flags and prompts, the library's Settings
// and the endpoints a discovery document names are all held to it.
func URLFault(s string) string {
	u, err := url.Parse(s)
	switch {
	case err == nil && u.User != nil, err != nil && hasUserInfo(s), err == nil && u.Opaque != "" && hasUserInfo(s):
		return "has a user or password in it, which freshtoken never sends"
	case err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "":
		return fmt.Sprintf("%q is not an http(s) URL with a host", WithoutSecretQuery(s))
	case strings.Contains(s, "#"): // an empty fragment too
		shown := WithoutSecretQuery(s)
		_, frag, _ := strings.Cut(shown, "#")
		return fmt.Sprintf("%q has a fragment (#%s), which is never sent", shown, frag)
	}
	return ""
}

// WithoutSecretQuery is s to be quoted: its query, and its fragment, written
// "…" when it holds a parameter named as a secret (client_secret=,
// access_token=, as a browser's address bar shows an implicit log-in's
// answer after the #; api_key=, or any name holding a word that says a
// secret), read by its text, as s may not parse.
func WithoutSecretQuery(s string) string {
	rest, frag, hasFrag := strings.Cut(s, "#")
	before, query, hasQuery := strings.Cut(rest, "?")
	if hasQuery && secretParam(query) {
		query = "…"
	}
	if hasFrag && secretParam(frag) {
		frag = "…"
	}
	if hasQuery {
		before += "?" + query
	}
	if hasFrag {
		before += "#" + frag
	}
	return before
}

// secretParam reports whether q, a query or a fragment, holds a parameter
// named as a secret (redact.MaskQuery would mask it), also in the query of
// a URL carried in another parameter, or one whose name cannot be read.
func secretParam(q string) bool {
	for _, param := range strings.Split(q, "&") {
		k, _, _ := strings.Cut(param, "=")
		if _, err := url.QueryUnescape(k); err != nil {
			return true
		}
	}
	return redact.MaskQuery(q) != q
}

// hasUserInfo reports whether s, a URL url.Parse refused (a space or a
// stray % in a password, a port that is no number) or read as opaque
// (me:pw@host, with no scheme), has a user or password before its host,
// by its text alone: an @ before the first /, ? or # after the scheme's
// "//", or from its start when it has none.
func hasUserInfo(s string) bool {
	if _, rest, ok := strings.Cut(s, "//"); ok {
		s = rest
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	return strings.Contains(s, "@")
}
