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
