package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
)

// TestUnusableProxyVariableIsRefused: a proxy variable Go cannot read (a
// password with a bare % or #, as people paste them) is not silently
// ignored, which would send every request around the proxy and fail with
// a misleading error, but refused as a configuration error that names the
// variable, says how to fix it, and never shows the password.
func TestUnusableProxyVariableIsRefused(t *testing.T) {
	for _, name := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"} {
		t.Run(name, func(t *testing.T) {
			for _, n := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"} {
				t.Setenv(n, "")
			}
			t.Setenv(name, "http://alice:pa%zzword@proxy.corp.test:3128")
			path := issuerConfig(t, t.TempDir(), "https://login.example.com/realms/x", "")
			_, err := config.Open(t.Context(), config.OpenOptions{Path: path, Env: "idp"})
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "percent-encode") {
				t.Fatalf("err = %v; want a configuration error naming %s and saying how to fix it", err, name)
			}
			if strings.Contains(err.Error(), "pa%zzword") || strings.Contains(err.Error(), "alice") {
				t.Fatalf("the error shows the proxy's credentials: %v", err)
			}
		})
	}
	t.Run("usable", func(t *testing.T) {
		t.Setenv("HTTPS_PROXY", "http://alice:pa%25word@proxy.corp.test:3128")
		t.Setenv("HTTP_PROXY", "proxy.corp.test:3128")
		path := issuerConfig(t, t.TempDir(), "https://login.example.com/realms/x", "")
		if _, err := config.Open(t.Context(), config.OpenOptions{Path: path, Env: "idp"}); err != nil {
			t.Fatalf("a proxy URL Go reads was refused: %v", err)
		}
	})
}
