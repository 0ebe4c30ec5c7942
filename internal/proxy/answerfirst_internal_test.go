package proxy

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFailedWriteWaitsForTheAnswerNotYetRead: a connection handed to a
// request (under TLS here), whose write fails because the API answered
// early and closed it, fails that write only once the answer has been
// read, even when nothing was reading it as the write failed: net/http's
// reader, under load, may not have begun. Such a write failed at once,
// and the transport dropped the answer (TestEarlyAnswerBeforeTheBodyIsPassedOn
// failed 1 run in 10 under load).
func TestFailedWriteWaitsForTheAnswerNotYetRead(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Read(make([]byte, 1024))
		io.WriteString(c, "answer")
		c.Close() // the body unread: a reset
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	raw.SetDeadline(time.Now().Add(10 * time.Second)) // a failure, not a hang
	inner := &watchedConn{Conn: raw, writeFailed: make(chan struct{})}
	c := &answerFirstConn{Conn: inner, readEnded: make(chan struct{})}
	t.Cleanup(func() { c.Close() })
	req := carryingHTTP(httptest.NewRequest(http.MethodPost, "https://api.example/upload", nil))
	httptrace.ContextClientTrace(req.Context()).GotConn(httptrace.GotConnInfo{Conn: tls.Client(c, &tls.Config{})})

	readFirst := make(chan bool, 1)
	go func() {
		buf := make([]byte, 64<<10)
		for {
			if _, err := c.Write(buf); err != nil {
				readFirst <- inner.readEnded.Load()
				return
			}
		}
	}()
	<-inner.writeFailed // nothing has read yet
	got, _ := io.ReadAll(c)
	if string(got) != "answer" {
		t.Fatalf("read %q, want the API's answer", got)
	}
	if !<-readFirst {
		t.Error("the failed write returned before the answer was read")
	}
}

// watchedConn tells when a write to it first failed, and whether its
// reading has ended.
type watchedConn struct {
	net.Conn
	once        sync.Once
	writeFailed chan struct{}
	readEnded   atomic.Bool
}

func (c *watchedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil {
		c.once.Do(func() { close(c.writeFailed) })
	}
	return n, err
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.readEnded.Store(true)
	}
	return n, err
}
