//go:build unix

package config_test

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/config"
)

// TestNamedPipesAreRefusedAtOnce: a key_file, ca_file or config file that
// is a named pipe with no writer is refused at once as not a regular
// file; opening it to read would wait for a writer forever, and no signal
// but SIGKILL would end that wait.
func TestNamedPipesAreRefusedAtOnce(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, read := range map[string]func() error{
		"key_file": func() error { _, err := config.ReadClientKey(fifo); return err },
		"config":   func() error { _, err := config.Load(fifo); return err },
		"ca_file":  func() error { _, err := config.Load(write(t, "ca_file = \""+fifo+"\"\n")); return err },
	} {
		t.Run(name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- read() }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "not a regular file") {
					t.Fatalf("err = %v; want one saying it is not a regular file", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("still waiting for a writer to the named pipe after 10 s")
			}
		})
	}
}
