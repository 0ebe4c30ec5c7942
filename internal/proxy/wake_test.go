package proxy_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/internal/wake"
)

// TestFirstRequestAfterASleepGetsTheAPIsAnswer: the laptop slept with the
// proxy running, and resumed on another network; the connection to the
// API kept alive from before leads nowhere. The first request after the
// wake gets the API's answer on a new connection: it went on the one from
// before, and got 504 after the environment's timeout.
func TestFirstRequestAfterASleepGetsTheAPIsAnswer(t *testing.T) {
	api := testenv.NewVanishing(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "{}")
	}))
	f := apiWithTimeout(t, "far", api.URL, time.Second)
	get := func() int {
		t.Helper()
		resp, err := http.Get(f.base + "/far/v2/company")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 2 {
		if code := get(); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
	}
	if n := api.Dials(); n != 1 {
		t.Fatalf("%d connections to the API for two requests; want the first's kept alive", n)
	}
	api.Vanish()
	wake.Pretend(time.Hour)
	if code, lost := get(), api.Lost(); code != http.StatusOK || lost != 0 {
		t.Fatalf("the first request after a sleep: %d, sent %d times on a connection from before it", code, lost)
	}
}
