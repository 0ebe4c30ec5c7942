package cli

import (
	"errors"
	"fmt"
	"net/http"
	"syscall"

	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/redact"
)

// outputError is a result that standard output did not take: a full disk,
// a closed descriptor, a terminal gone. (A pipe whose reader left is not
// one: see pipeWatch.) The command's work is done, and any renewal stored;
// its output is missing or cut short, so the command must not succeed.
// It exits 2, as a busy port does: where the output goes is the caller's
// to change before running the command again. Not 5, which scripts may
// take for "try again later": a request that was made would be made again.
type outputError struct {
	err error
	// request is the API request made, and how it was answered, before
	// the answer could not be written; "" for any other output.
	request string
	// changes: the request may change something (a POST), which running
	// the command again does again.
	changes bool
}

func (e *outputError) Unwrap() error { return e.err }

func (e *outputError) FailureKind() failure.Kind { return failure.Config }

func (e *outputError) Error() string {
	cause, next := e.err.Error(), "send it elsewhere"
	var errno syscall.Errno
	if errors.As(e.err, &errno) {
		cause = errno.Error()
	}
	switch {
	case atomicfile.DiskFull(e.err):
		cause, next = "the disk "+atomicfile.FullWords(e.err)+" ("+cause+")", "free some space or send it elsewhere"
	case atomicfile.TooLarge(e.err):
		than, raise := atomicfile.TooLargeWords()
		cause, next = "the file it goes to would be larger than "+than, raise+" or send it elsewhere"
	case errors.Is(e.err, syscall.EBADF):
		cause, next = "standard output is closed", "give it somewhere to go (> FILE, a pipe, $(…))"
	}
	if errors.Is(e.err, errStalled) { // a signal ended the wait for the reader
		if e.request == "" {
			return "the output was cut short"
		}
		msg := e.request + ", and the answer written was cut short"
		if e.changes {
			msg += "; the request was made, and running the command again makes it again"
		}
		return msg
	}
	if e.request == "" {
		return fmt.Sprintf("standard output could not be written: %s, so the output is missing or cut short; %s, then run the command again", cause, next)
	}
	msg := fmt.Sprintf("%s, but standard output could not take the answer: %s, so it is missing or cut short; %s", e.request, cause, next)
	if e.changes {
		msg += "; the request was made, and running the command again makes it again"
	}
	return msg
}

// answered is err saying which request was made and how it was answered,
// when err is a failure to write the answer; err itself otherwise.
func answered(err error, env string, req *http.Request, answer string) error {
	var oe *outputError
	if !errors.As(err, &oe) {
		return err
	}
	safe := req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == http.MethodOptions
	return &outputError{err: oe.err, request: fmt.Sprintf("%s: %s %s answered %s", env, req.Method, redact.URL(req.URL.String()), answer), changes: !safe}
}
