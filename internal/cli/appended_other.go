//go:build !unix

package cli

import "os"

// appendedTo reports whether f was opened to be appended to; it cannot
// tell here, and says no.
func appendedTo(*os.File) bool { return false }
