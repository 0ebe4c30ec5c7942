package testenv

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// RetriesPastAStalledBody checks that a client retrying an answer of status
// does not read that answer's body first: the API's first answer is
// status, with header, and the start of a body that never ends (a gateway
// that sent the headers and stalled, until the test ends); later answers
// are 200. The GET that do, made by client from the API's URL, sends with
// a 10-second deadline must come back with the retry's 200.
func RetriesPastAStalledBody(t testing.TB, status int, header http.Header, client func(apiURL string) (do func(*http.Request) (*http.Response, error))) {
	t.Helper()
	stalled := make(chan struct{})
	var first atomic.Bool
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if first.CompareAndSwap(false, true) {
			for k, v := range header {
				w.Header()[k] = v
			}
			w.WriteHeader(status)
			w.Write([]byte("the start of a body"))
			w.(http.Flusher).Flush()
			<-stalled
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(api.Close)
	t.Cleanup(func() { close(stalled) })
	do := client(api.URL)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api.URL+"/v2/company", nil)
	resp, err := do(req)
	if err != nil {
		t.Fatalf("err = %v; want the retry's answer, without waiting for the %d's body", err, status)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s; want 200 from the retry", resp.Status)
	}
}
