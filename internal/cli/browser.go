package cli

import (
	"os"
	"os/exec"
	"strings"
)

// startCommand starts a $BROWSER-style command line with url as its last
// argument and does not wait for it.
func startCommand(cmdline, url string) error {
	fields := strings.Fields(cmdline)
	cmd := exec.Command(fields[0], append(fields[1:], url)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}
