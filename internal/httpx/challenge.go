package httpx

import "strings"

// InsufficientScope reports whether the Bearer challenges in
// WWW-Authenticate values refuse what the token may do, not the token (RFC
// 6750 §3.1): they give an error auth-param, and every one they give is
// insufficient_scope. One that also says another error (invalid_token), in
// the same challenge or another, in whichever order, refuses the token.
func InsufficientScope(values ...string) bool {
	errs := BearerErrors(values...)
	for _, e := range errs {
		if e != "insufficient_scope" {
			return false
		}
	}
	return len(errs) > 0
}

// BearerErrors are the error auth-params of the Bearer challenges in
// WWW-Authenticate values (RFC 6750 §3: invalid_token, insufficient_scope,
// invalid_request), in the order given, none when there is none.
// Challenges and parameters are read as RFC 9110 §11.6.1 writes them:
// schemes and parameter names in any case, values quoted (with backslash
// escapes) or not, several challenges in one value or in several, so that
// text quoted in another parameter (an error_description) is never taken
// for the error.
func BearerErrors(values ...string) []string {
	var errs []string
	for _, v := range values {
		scheme := ""
		for i := 0; i < len(v); {
			i = skip(v, i, " \t,")
			name, next := token(v, i)
			if name == "" {
				i++ // a stray character: step over it
				continue
			}
			i = skip(v, next, " \t")
			if i >= len(v) || v[i] != '=' {
				scheme = name // a challenge's scheme: its parameters follow
				continue
			}
			i = skip(v, i+1, " \t")
			var value string
			if i < len(v) && v[i] == '"' {
				value, i = quoted(v, i)
			} else {
				value, i = token(v, i)
				i = skip(v, i, "=") // token68's padding
			}
			if strings.EqualFold(scheme, "Bearer") && strings.EqualFold(name, "error") {
				errs = append(errs, value)
			}
		}
	}
	return errs
}

// skip returns the index of the first byte of s from i on that is not in set.
func skip(s string, i int, set string) int {
	for i < len(s) && strings.IndexByte(set, s[i]) >= 0 {
		i++
	}
	return i
}

// token reads a token from s[i:] and returns it and the index after it.
func token(s string, i int) (string, int) {
	start := i
	for i < len(s) && strings.IndexByte(" \t,=\"", s[i]) < 0 {
		i++
	}
	return s[start:i], i
}

// quoted reads the quoted string that begins at s[i] and returns its
// content, escapes undone, and the index after its closing quote (or the
// end of s, for one left open).
func quoted(s string, i int) (string, int) {
	var b strings.Builder
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), i + 1
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), i
}
