//go:build freshtoken_testclock

package clock

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Now is the system's time run ahead by the offset in the file that
// $FRESHTOKEN_TESTCLOCK names, read at each call so that the test's every
// move is seen at once; without the variable, the system's time. A file
// that cannot be read stops the binary: it would go on at another time
// than the test's.
//
// The offset moves the monotonic reading with the wall clock (time.Add
// moves both): a test that sets this clock back sets back the reading the
// engine and the proxy count "how long ago" by, which the system's clock
// set back does not. An e2e test cannot show that protection; the engine's
// and the proxy's own tests, with a clock of their own, do.
func Now() time.Time {
	path := os.Getenv(Env)
	if path == "" {
		return time.Now()
	}
	b, err := os.ReadFile(path)
	if err != nil {
		panic(fmt.Sprintf("the test clock: %v", err))
	}
	ahead, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		panic(fmt.Sprintf("the test clock %s: %v", path, err))
	}
	return time.Now().Add(ahead)
}

// WallCheck is how often a wait that must end on time by the wall clock
// looks at it: here the test moves it, and the wait ends within moments.
const WallCheck = 10 * time.Millisecond
