//go:build !linux

package shellrun

import "os"

// killTree ends the process pid. (Where there is no /proc to find the
// processes it started, they are left to the signal that ended freshtoken:
// a terminal sends it to each process of the job.)
func killTree(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}
