package cli

import "golang.org/x/sys/unix"

// openFolder opens the --log-file's folder only to find the file in it:
// a folder one may search but not list (0711) is a place for it too.
const openFolder = unix.O_PATH
