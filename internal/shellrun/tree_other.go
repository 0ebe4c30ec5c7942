//go:build !linux

package shellrun

import "os"

// killTree ends the process p. (Where there is no /proc to find the
// processes it started, they are left to the signal that ended freshtoken:
// a terminal sends it to each process of the job.)
func killTree(p *os.Process) error {
	return p.Kill()
}
