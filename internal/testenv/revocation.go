package testenv

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TokenUnknownRevocation is a revocation endpoint on 127.0.0.1, closed when
// the test ends, that answers every request 400 invalid_token, as Google
// answers for tokens revoked or expired already: it revokes nothing. It
// returns the endpoint's URL.
func TokenUnknownRevocation(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid_token","error_description":"Token expired or revoked"}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/revoke"
}
