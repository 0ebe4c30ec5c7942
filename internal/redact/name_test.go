package redact_test

import (
	"testing"

	"github.com/freshtoken/freshtoken/internal/redact"
)

// TestNameHidesWhatMayBeASecret: a name a person writes is quoted
// whatever its length; a secret pasted where a name goes (a token, a
// client secret, hex, a JWT) is NotShown.
func TestNameHidesWhatMayBeASecret(t *testing.T) {
	for name, want := range map[string]string{
		"prod":                   `"prod"`,
		"acme-prod2":             `"acme-prod2"`,
		"FreeAgentSandbox2":      `"FreeAgentSandbox2"`,
		"EU_2024_quickbooks":     `"EU_2024_quickbooks"`,
		"v2api":                  `"v2api"`,
		"my env":                 `"my env"`,
		"--help":                 `"--help"`,
		"8wPmIs6ST3ZyWObR8yhlg2": redact.NotShown, // a FreeAgent-like client secret, 22 characters
		"Zk5S2GnPkoA1VzqMmB3Qce6fFGxfK3vqXaXfjq0yA":          redact.NotShown,
		"dev_at_towQ3Tw3mPwAu24SFNUGoEE5t-d8A3Zt8HKoqy29mhM": redact.NotShown,
		"3f9a1c07e2b84d6a9e0f5b2c71d8a4e6f0b3c9d2":           redact.NotShown,
		"ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ":           redact.NotShown,
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl":  redact.NotShown,
	} {
		if got := redact.Name(name); got != want {
			t.Errorf("Name(%q) = %s, want %s", name, got, want)
		}
	}
}
