package testenv

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestPickPortGivesNoPortAnotherTestProcessGave: ports another test
// process picked, which its programs are yet to listen on, are not given
// here. A process knew only the ports it had given itself: the e2e tests,
// the command line's scripts and the race run beside them each picked
// from the same range, and a script's dev provider found its port taken.
func TestPickPortGivesNoPortAnotherTestProcessGave(t *testing.T) {
	if os.Getenv("FRESHTOKEN_TEST_PICKER") != "" {
		for range 20 {
			port, err := PickPort()
			if err != nil {
				t.Fatal(err)
			}
			fmt.Println(port)
		}
		fmt.Println("picked")
		io.Copy(io.Discard, os.Stdin) // holds its ports until the test is done
		return
	}
	other := RunAgain(t, "FRESHTOKEN_TEST_PICKER=1")
	var ports []int
	for {
		line, err := other.Stdout.ReadString('\n')
		if err != nil {
			t.Fatalf("the other process stopped picking: %v", err)
		}
		if line == "picked\n" {
			break
		}
		port, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil {
			t.Fatalf("the other process said %q", line)
		}
		ports = append(ports, port)
	}
	for _, port := range ports {
		if reserve(port) {
			t.Errorf("port %d, which another test process picked and holds, was given here too", port)
		}
	}
	other.End()
}
