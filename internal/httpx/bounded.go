package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"time"
)

// Bounded sends requests with Base, giving up on an API that has not
// answered in time: one whose answer's header (its status line and
// headers, not just their first byte) has not come Wait after the request
// was sent, or one that took none of the request's body for Wait before it
// answered (the write to it would wait for ever). The request's context is
// then cancelled, which closes its connection, and RoundTrip fails with a
// *UnansweredError. The time a request's body takes to be read from its
// own source (a client's upload, a pipe) is not counted: only the API's.
// Once the header has come, Bounded bounds nothing more: an answer's body
// is for IdleLimit. Closing the answer's body ends the request's context.
type Bounded struct {
	Base http.RoundTripper
	Wait time.Duration
}

// UnansweredError is an API given up on by Bounded: it had not begun to
// answer After once the request was sent, or (NotTaking) it took none of
// the request's body for After before it answered. It is a net.Error
// whose Timeout is true, as net/http's own time-outs are.
type UnansweredError struct {
	After     time.Duration
	NotTaking bool
}

func (e *UnansweredError) Error() string {
	if e.NotTaking {
		return fmt.Sprintf("the API took none of the request's body for %v, and had not answered", e.After)
	}
	return fmt.Sprintf("the API had not begun to answer %v after the request was sent", e.After)
}

// Timeout reports true: the error is a time-out.
func (e *UnansweredError) Timeout() bool { return true }

// Temporary reports false (for net.Error).
func (e *UnansweredError) Temporary() bool { return false }

func (t Bounded) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	var (
		mu       sync.Mutex
		wrote    bool // the whole request, body and all
		answered bool
	)
	// The time runs out only for a request not yet answered: a timer
	// that fired as the answer came (its Stop reporting false) may run
	// its function after RoundTrip has looked at the context and returned
	// the answer, whose body that cancel would cut short.
	silent := afterFunc(time.Duration(math.MaxInt64), func() {
		mu.Lock()
		defer mu.Unlock()
		if !answered {
			cancel(errSilent)
		}
	})
	trace := &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) {
			mu.Lock()
			defer mu.Unlock()
			wrote = true
			if !answered {
				silent.Reset(t.Wait)
			}
		},
		// Not its first byte but its whole header ends the wait: an API
		// that sent the start of a status line and no more held the
		// request for ever.
		//
		// An interim answer (100 Continue, 102 Processing, 103 Early
		// Hints) is no answer: the API has Wait again to begin one, once
		// the request is sent (a 100 Continue asks for the body).
		Got1xxResponse: func(int, textproto.MIMEHeader) error {
			mu.Lock()
			defer mu.Unlock()
			answered = false
			if wrote {
				silent.Reset(t.Wait)
			}
			return nil
		},
	}
	out := req.WithContext(httptrace.WithClientTrace(ctx, trace))
	// Once the API has answered, its taking none of the body is no
	// failure: the transport closes the connection as the answer ends.
	notTaking := func() {
		mu.Lock()
		defer mu.Unlock()
		if !answered {
			cancel(errNotTaking)
		}
	}
	if out.Body != nil && out.Body != http.NoBody {
		out.Body = newTakenBody(out.Body, t.Wait, notTaking)
	}
	if getBody := out.GetBody; getBody != nil { // the transport's own retry on a kept connection
		out.GetBody = func() (io.ReadCloser, error) {
			body, err := getBody()
			if err != nil || body == nil || body == http.NoBody {
				return body, err
			}
			return newTakenBody(body, t.Wait, notTaking), nil
		}
	}
	resp, err := t.Base.RoundTrip(out)
	mu.Lock()
	answered = true
	silent.Stop()
	mu.Unlock()
	if cause := context.Cause(ctx); cause == errSilent || cause == errNotTaking {
		// The time ran out as the answer came: the transport may still
		// return it, but its body ends at once with the cancelled
		// context, an answer cut short. It is the failure it would have
		// been a moment earlier.
		if err == nil {
			resp.Body.Close()
		}
		return nil, &UnansweredError{After: t.Wait, NotTaking: cause == errNotTaking}
	}
	if err != nil {
		cancel(nil)
		return nil, err
	}
	if resp.Body != nil && resp.Body != http.NoBody { // that one stays itself; the context ends with req's
		resp.Body = endsContext(resp.Body, cancel)
	}
	return resp, nil
}

// CloseIdleConnections closes Base's, when it can.
func (t Bounded) CloseIdleConnections() { CloseIdle(t.Base) }

// CloseIdle closes rt's idle connections when it can, as
// http.Client.CloseIdleConnections does.
func CloseIdle(rt http.RoundTripper) {
	if c, ok := rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// afterFunc is time.AfterFunc, for the wait for an answer's header; a
// test holds its function between its start and its run.
var afterFunc = time.AfterFunc

// errSilent and errNotTaking are the causes Bounded cancels a request's
// context with.
var (
	errSilent    = errors.New("the API did not answer in time")
	errNotTaking = errors.New("the API stopped taking the request's body")
)

// endsContext is body, whose Close also ends its request's context. A
// switched protocol's body, which is written to as well, stays writable,
// and can still be half-closed.
func endsContext(body io.ReadCloser, cancel context.CancelCauseFunc) io.ReadCloser {
	b := &cancelingBody{body, cancel}
	if w, ok := body.(io.ReadWriteCloser); ok {
		return writableBody{b, w}
	}
	return b
}

// writableBody is a switched protocol's body, read and written to.
type writableBody struct {
	*cancelingBody
	io.Writer
}

// CloseWrite ends the client's side of the stream, which
// httputil.ReverseProxy passes on when the client ends its own (a TCP
// half-close); without it, the ReverseProxy tore down both sides, and what
// the API sent after was lost.
func (b writableBody) CloseWrite() error { return CloseWrite(b.Writer) }

// CloseWrite ends w's side of a stream, its reads going on (a TCP
// half-close), when w can (a *net.TCPConn, or a connection wrapping one
// with a CloseWrite of its own); errors.ErrUnsupported when it cannot.
func CloseWrite(w any) error {
	if cw, ok := w.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

type cancelingBody struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (b *cancelingBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}

// takenBody is a request's body on its way to the API. The time from one
// read to the next is the transport's writing what the first read gave:
// the API's taking it. Once that has lasted limit, the timer's function
// runs. The time a read takes is the body's source's, and is not counted.
type takenBody struct {
	io.ReadCloser
	limit time.Duration
	timer *time.Timer // stopped while a read is under way
}

func newTakenBody(body io.ReadCloser, limit time.Duration, late func()) *takenBody {
	b := &takenBody{ReadCloser: body, limit: limit, timer: time.AfterFunc(time.Duration(math.MaxInt64), late)}
	b.timer.Stop()
	return b
}

func (b *takenBody) Read(p []byte) (int, error) {
	b.timer.Stop()
	n, err := b.ReadCloser.Read(p)
	if err == nil {
		b.timer.Reset(b.limit)
	}
	return n, err
}

func (b *takenBody) Close() error {
	b.timer.Stop()
	return b.ReadCloser.Close()
}
