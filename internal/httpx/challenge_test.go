package httpx_test

import (
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/httpx"
)

func TestBearerErrors(t *testing.T) {
	for _, tt := range []struct {
		values []string
		want   string // the errors, joined by |
	}{
		{nil, ""},
		{[]string{`Bearer`}, ""},
		{[]string{`Bearer realm="api"`}, ""},
		{[]string{`Bearer error="invalid_token"`}, "invalid_token"},
		{[]string{`bearer ERROR = insufficient_scope`}, "insufficient_scope"},
		{[]string{`Basic realm="a, b", Bearer realm="api", error="insufficient_scope"`}, "insufficient_scope"},
		{[]string{`Basic realm="api"`, `Bearer scope="admin", error="insufficient_scope"`}, "insufficient_scope"},
		{[]string{`Basic error="insufficient_scope"`}, ""},
		{[]string{`Bearer error_description="error=\"insufficient_scope\", error=insufficient_scope", error="invalid_token"`}, "invalid_token"},
		{[]string{`Other dGVzdA==, Bearer error=invalid_request`}, "invalid_request"},
		{[]string{`Bearer error="insufficient_scope`}, "insufficient_scope"}, // left open
		{[]string{`Other error="insufficient_scope", Bearer`}, ""},
		{[]string{`Bearer error="insufficient_scope", Bearer error="invalid_token"`}, "insufficient_scope|invalid_token"},
		{[]string{`Bearer error="insufficient_scope"`, `Bearer error="invalid_token"`}, "insufficient_scope|invalid_token"},
	} {
		if got := strings.Join(httpx.BearerErrors(tt.values...), "|"); got != tt.want {
			t.Errorf("BearerErrors(%q) = %q, want %q", tt.values, got, tt.want)
		}
	}
}

// TestInsufficientScope: only challenges whose every Bearer error is
// insufficient_scope refuse the scope rather than the token; one that also
// says invalid_token, in either order, refuses the token.
func TestInsufficientScope(t *testing.T) {
	for _, tt := range []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{`Bearer realm="insufficient_scope"`}, false},
		{[]string{`Bearer error="insufficient_scope"`}, true},
		{[]string{`Basic realm="x"`, `BEARER Error=insufficient_scope`}, true},
		{[]string{`Bearer error="insufficient_scope", Bearer error="insufficient_scope"`}, true},
		{[]string{`Bearer error="insufficient_scope", error="invalid_token"`}, false},
		{[]string{`Bearer error="insufficient_scope", Bearer error="invalid_token"`}, false},
		{[]string{`Bearer error="invalid_token"`, `Bearer error="insufficient_scope"`}, false},
		{[]string{`Bearer error="INSUFFICIENT_SCOPE"`}, false},
	} {
		if got := httpx.InsufficientScope(tt.values...); got != tt.want {
			t.Errorf("InsufficientScope(%q) = %t, want %t", tt.values, got, tt.want)
		}
	}
}
