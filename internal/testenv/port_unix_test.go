//go:build unix

package testenv

import (
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
)

// TestPickedPortIsFreeWhileCommandsStart: a port PickPort gives can be
// listened on at once while other goroutines of the test process start
// commands, as e2e's parallel tests do. A command started while PickPort
// listened on the port, to see that it was free, held a copy of that
// listener from its fork until its exec closed it, and under load a
// listener on the port a moment later failed with "address already in
// use" (e2e's TestLoginBesideAProxyOlderThanTheAPIDigest, once in a CI
// run; here within a few hundred ports).
func TestPickedPortIsFreeWhileCommandsStart(t *testing.T) {
	// The first command a Go process starts on Linux is preceded by a
	// clone of Go's own, once, to see that the system gives process file
	// descriptors: it takes no lock against a socket being opened, so it
	// comes first here. (e2e's TestMain builds the binary before any test
	// runs.)
	if err := exec.Command("true").Run(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var starting sync.WaitGroup
	for range 4 {
		starting.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
					exec.Command("true").Run()
				}
			}
		})
	}
	defer starting.Wait()
	defer close(done)
	for range 2000 {
		port, err := PickPort()
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Fatalf("the port PickPort gave: %v", err)
		}
		ln.Close()
	}
}
