package freshtoken

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"sync"
)

// checks are the LoginChecks running in the process, by where the record
// they judge is stored (Source.unsavedKey), each with the goroutine that
// runs it: a check runs under the renewal lock, and a call of its own that
// takes that lock (Token renewing, Renew, SaveLogin, Logout…, of any
// Source of that store and environment) would wait for it for ever, or
// until its context ended. Such a call fails at once instead (see
// insideCheck). Other goroutines wait for the lock as they would for any
// renewer.
var (
	checksMu sync.Mutex
	checks   = map[string]uint64{}
)

// runCheck runs check as SaveLoginIf asks it, under the renewal lock.
func (s *Source) runCheck(check func() error) error {
	checksMu.Lock()
	checks[s.unsavedKey()] = goroutine()
	checksMu.Unlock()
	defer func() {
		checksMu.Lock()
		delete(checks, s.unsavedKey())
		checksMu.Unlock()
	}()
	return check()
}

// insideCheck is the error of a call that would take the renewal lock
// from within a LoginCheck running under it; nil for any other call.
func (s *Source) insideCheck() error {
	checksMu.Lock()
	in, ok := checks[s.unsavedKey()]
	checksMu.Unlock()
	if !ok || in == 0 || in != goroutine() {
		return nil
	}
	return fmt.Errorf("freshtoken: %s: a LoginCheck called something that takes the renewal lock of %s (a renewal, a forced one, a log-in's save, a logout), which the check runs under, so it would wait for itself; nothing was done: a LoginCheck decides from the record it is given, and may call only what takes no lock (Record, CheckGrant, a Token that needs no renewal)", s.set.Env, s.Location())
}

// goroutine is the id of the calling goroutine, as its stack trace's
// first line gives it ("goroutine 18 [running]:"), 0 if it cannot be
// read. Go gives goroutines no
// identity on purpose, so that none keeps state of its own; it is used
// here only to tell a LoginCheck's own call, which would deadlock, from
// another goroutine's, which waits its turn.
func goroutine() uint64 {
	var buf [64]byte
	line := bytes.TrimPrefix(buf[:runtime.Stack(buf[:], false)], []byte("goroutine "))
	id, _, _ := bytes.Cut(line, []byte(" "))
	n, _ := strconv.ParseUint(string(id), 10, 64)
	return n
}
