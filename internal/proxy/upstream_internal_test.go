package proxy

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/httpx"
)

// roundTripFunc is an http.RoundTripper written as a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestAnswerComingAsTheTimeRunsOutIsA504: net/http's transport may return
// an answer whose headers came just as the first-byte time ran out, its
// request's context already cancelled. Its body then ends at once, and the
// client got a 200 cut short (a slow reader of a large answer lost it on a
// loaded machine). It is the 504 a moment earlier would have given. The
// base transport here is the race made certain: it answers only once the
// time is out.
func TestAnswerComingAsTheTimeRunsOutIsA504(t *testing.T) {
	closed := make(chan struct{})
	base := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		httptrace.ContextClientTrace(req.Context()).WroteRequest(httptrace.WroteRequestInfo{})
		<-req.Context().Done()
		return &http.Response{StatusCode: http.StatusOK, Body: closeNotifier{io.NopCloser(strings.NewReader("late")), closed}, Request: req}, nil
	})
	req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/v2/company", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := upstreamTransport{httpx.Bounded{Base: base, Wait: time.Millisecond}}.RoundTrip(req)
	var silent *silentError
	if !errors.As(err, &silent) {
		if resp != nil {
			resp.Body.Close()
		}
		t.Fatalf("got %v, %v; want the API's silence (504)", resp, err)
	}
	select {
	case <-closed:
	default:
		t.Error("the late answer's body was left open, and its connection with it")
	}
}

// closeNotifier is a body that closes done when it is closed.
type closeNotifier struct {
	io.ReadCloser
	done chan struct{}
}

func (b closeNotifier) Close() error {
	close(b.done)
	return b.ReadCloser.Close()
}
