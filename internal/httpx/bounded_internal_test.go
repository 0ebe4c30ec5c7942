package httpx

import (
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"
)

// roundTripFunc is an http.RoundTripper written as a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestAnswerAsTheTimerFiresIsNotCutAfterItIsReturned: the wait for an
// answer ran out just as the answer came. The timer's function had been
// started (its Stop reported false) but had not yet cancelled the request
// when Bounded looked at the context's cause, so the answer was returned
// as good, and its context was cancelled a moment later: the caller's read
// of its body failed ("context canceled"), a 200 cut short through the
// proxy. The timer's function here is held between its start and its run,
// the race made certain: the answer is either given up on, or returned
// with a context that stays whole.
func TestAnswerAsTheTimerFiresIsNotCutAfterItIsReturned(t *testing.T) {
	fired, release, ran := make(chan struct{}), make(chan struct{}), make(chan struct{})
	afterFunc = func(d time.Duration, f func()) *time.Timer {
		return time.AfterFunc(d, func() {
			close(fired)
			<-release
			f()
			close(ran)
		})
	}
	t.Cleanup(func() { afterFunc = time.AfterFunc })
	var sent *http.Request
	base := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		sent = req
		httptrace.ContextClientTrace(req.Context()).WroteRequest(httptrace.WroteRequestInfo{})
		<-fired // the time is out, its function not yet run, as the answer comes
		return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("whole")), Request: req}, nil
	})
	req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/v2/company", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := Bounded{Base: base, Wait: time.Millisecond}.RoundTrip(req)
	close(release)
	<-ran
	if err != nil {
		if _, ok := err.(*UnansweredError); !ok {
			t.Fatalf("got %v; want the answer, or an UnansweredError", err)
		}
		return
	}
	defer resp.Body.Close()
	if cause := sent.Context().Err(); cause != nil {
		t.Errorf("the answer was returned as good, and its request's context then ended (%v): its body would be cut short", cause)
	}
}

// TestAnswerComingAsTheTimeRunsOutIsGivenUp: net/http's transport may
// return an answer whose headers came just as the wait ran out, its
// request's context already cancelled. Its body then ends at once, and
// the proxy's client got a 200 cut short (a slow reader of a large answer
// lost it on a loaded machine). It is the UnansweredError (the proxy's
// 504) a moment earlier would have given, and the late answer's body is
// closed, and its connection with it. The base transport here is the race
// made certain: it answers only once the time is out.
func TestAnswerComingAsTheTimeRunsOutIsGivenUp(t *testing.T) {
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
	resp, err := Bounded{Base: base, Wait: time.Millisecond}.RoundTrip(req)
	if _, ok := err.(*UnansweredError); !ok {
		if resp != nil {
			resp.Body.Close()
		}
		t.Fatalf("got %v, %v; want the API's silence (an UnansweredError)", resp, err)
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
