package httpx_test

import (
	"testing"

	"github.com/freshtoken/freshtoken/internal/httpx"
)

func TestBearerError(t *testing.T) {
	for _, tt := range []struct {
		values []string
		want   string
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
	} {
		if got := httpx.BearerError(tt.values...); got != tt.want {
			t.Errorf("BearerError(%q) = %q, want %q", tt.values, got, tt.want)
		}
	}
}
