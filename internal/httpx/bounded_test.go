package httpx_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestBoundedSaysWhichWaitRanOut: an API that took the whole request and
// has not begun to answer Wait after, and one that read the header and
// takes none of the body, are given up on with an *UnansweredError that
// says which (a time-out, as net/http's are), their connections closed.
func TestBoundedSaysWhichWaitRanOut(t *testing.T) {
	deaf := testenv.NewDeafAPI()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/silent" {
			io.Copy(io.Discard, r.Body)
			<-r.Context().Done() // ended as the connection closes
			return
		}
		deaf.ServeHTTP(w, r)
	}))
	t.Cleanup(api.Close)
	const wait = 100 * time.Millisecond
	client := &http.Client{Transport: httpx.Bounded{Base: &http.Transport{}, Wait: wait}}
	for _, tt := range []struct {
		path      string
		body      []byte
		notTaking bool
	}{
		{"/silent", []byte("{}"), false},
		{"/deaf", bytes.Repeat([]byte(" "), 32<<20), true}, // more than every buffer on the way holds
	} {
		resp, err := client.Post(api.URL+tt.path, "application/json", bytes.NewReader(tt.body))
		if err == nil {
			resp.Body.Close()
		}
		var ue *httpx.UnansweredError
		var ne net.Error
		if !errors.As(err, &ue) || ue.After != wait || ue.NotTaking != tt.notTaking || !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("%s: got %v, want an UnansweredError after %v, NotTaking %t, a time-out", tt.path, err, wait, tt.notTaking)
		}
	}
	deaf.HungUp(t)
}

// TestBoundedCountsOnlyTheAPIsTime: a request's body that comes slowly
// from its own source, pausing longer than Wait between parts, is sent
// whole and answered: only the API's taking of the body is bounded, and
// the wait for the answer begins once the whole request is sent.
func TestBoundedCountsOnlyTheAPIsTime(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	}))
	t.Cleanup(api.Close)
	// A second: the API, in this process, must take each part and answer
	// the whole within it on a loaded machine, where 100 ms is a pause one
	// can make.
	const wait = time.Second
	client := &http.Client{Transport: httpx.Bounded{Base: &http.Transport{}, Wait: wait}}
	in, trickle := io.Pipe()
	parts := []string{"one ", "two ", "three"}
	go func() {
		// Pauses longer than Wait after the first part and before the end;
		// the parts between come at once.
		for i, part := range parts {
			io.WriteString(trickle, part)
			if i != 1 {
				<-time.After(3 * wait / 2) // the source's pause, not a wait for anything
			}
		}
		trickle.Close()
	}()
	resp, err := client.Post(api.URL, "text/plain", in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(got) != strings.Join(parts, "") {
		t.Errorf("got %q, %v; want the whole body echoed", got, err)
	}
}
