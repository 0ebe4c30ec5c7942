package cli

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/cli/browser"

	"github.com/freshtoken/freshtoken/internal/redact"
)

// launchWait is how long a browser command may take to fail before it is
// taken to have opened the page (a browser itself keeps running).
const launchWait = time.Second

// openBrowser opens url with cmdline (the config's browser, or $BROWSER) if
// set, else with the desktop's default. A launcher's own output never
// reaches the terminal; its failure comes back as an error.
func openBrowser(cmdline, url string) error {
	if cmdline == "" {
		var out bytes.Buffer
		browser.Stdout, browser.Stderr = &out, &out
		if err := browser.OpenURL(url); err != nil {
			return launchError(err, out.String())
		}
		return nil
	}
	fields := strings.Fields(cmdline)
	var out bytes.Buffer
	cmd := exec.Command(fields[0], append(fields[1:], url)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			return launchError(fmt.Errorf("%s: %w", fields[0], err), out.String())
		}
	case <-time.After(launchWait):
	}
	return nil
}

// launchError is err with the first line the launcher printed, if any, on
// one line, the words in it shaped like secrets masked (redact.FreeText).
func launchError(err error, output string) error {
	first, _, _ := strings.Cut(strings.TrimSpace(output), "\n")
	if first == "" {
		return err
	}
	return fmt.Errorf("%w: %s", err, redact.FreeText(first, 200))
}
