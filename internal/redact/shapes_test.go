package redact_test

import (
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/redact"
)

// Made-up secrets of the shapes Shapes knows, none ever issued.
const (
	vaultToken = "hvs.CAESIJx7Qm2pLw9RtYb3NcVd8KfGh1ZsUaEo5Wi4Xj6Tn0Pq"
	githubPAT  = "ghp_R8nT2vXk5LmQ9wYb3HcZ7dJf1sGpA4eUo6Ni"
	jwt        = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtZSJ9.c2lnbmF0dXJlLW9mLWEtdG9rZW4"
	randomKey  = "Zq4mT8xWb2Ls9Kd7Rf3Vn6Hy1Pc5Ga0E"
	hexKey     = "3f9a0c7e5b1d4826a9e0f7c3b2d5e8a1c4f60b97"
)

// TestFreeTextMasksWhatIsShapedLikeASecret: text from outside that names
// no secret (a client_secret_cmd's error output: a malformed command's
// `sh: 1: hvs.…: not found`, curl's error with the URL it was given)
// showed the tokens in it whole, in the one-line error that reaches logs,
// journals and the proxy's status page. Each is masked, as Mask shows a
// secret, and the text around it kept.
func TestFreeTextMasksWhatIsShapedLikeASecret(t *testing.T) {
	for _, c := range []struct{ in, secret, want string }{
		{"sh: 1: " + vaultToken + ": not found", vaultToken, "sh: 1: hvs.CAES…(52 chars): not found"},
		{"curl: (6) Could not resolve host: vault; token=" + githubPAT, githubPAT, "curl: (6) Could not resolve host: vault; token=ghp_R8nT…(40 chars)"},
		{"curl: (22) https://vault.example.com/v1/x?token=" + randomKey + " returned 403", randomKey, "curl: (22) https://vault.example.com/v1/x?token=Zq4mT8xW…(32 chars) returned 403"},
		{"error: bad credential " + githubPAT + ".", githubPAT, "error: bad credential ghp_R8nT…(40 chars)."},
		{"Authorization: Bearer " + jwt, jwt, "Authorization: Bearer eyJhbGci…(65 chars)"},
		{"secret " + randomKey + " was refused", randomKey, "secret Zq4mT8xW…(32 chars) was refused"},
		{"key '" + hexKey + "' unknown", hexKey, "key '3f9a0c7e…(40 chars)' unknown"},
		{"--password=hunter2hunter2hunter2 is not a flag", "hunter2", "--password=hunt…(21 chars) is not a flag"},
		{"export AWS_ACCESS_KEY_ID AKIAQX7EXAMPLE4KEY9Z failed", "AKIAQX7EXAMPLE4KEY9Z", "export AWS_ACCESS_KEY_ID AKIA…(20 chars) failed"},
		{"slack: xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp", "xoxb-1234567890", "slack: xoxb-123…(43 chars)"},
		{"openai: sk-proj-4fJ9kL2mN8pQ1rS5tU7vW3xY", "sk-proj-4fJ9kL2mN8pQ1rS5tU7vW3xY", "openai: sk-proj-…(32 chars)"},
		{"google: ya29.a0AfH6SMBx9kZqTc3Lp7Wn2Rv5Ys8", "ya29.a0AfH6SMBx9kZqTc3Lp7Wn2Rv5Ys8", "google: ya29.a0A…(34 chars)"},
	} {
		got := redact.FreeText(c.in, 400)
		if strings.Contains(got, c.secret) || got != c.want {
			t.Errorf("FreeText(%q)\n = %q\nwant %q", c.in, got, c.want)
		}
		if again := redact.FreeText(got, 400); again != got {
			t.Errorf("FreeText of its own %q gave %q: masked twice", got, again)
		}
	}
}

// TestFreeTextKeepsOrdinaryText: what reads as no secret stays readable:
// words, paths (with numbers in them), an exit status, curl's code, a
// URL without a key, names in CamelCase, a date-stamped file, a short
// code, a vault message.
func TestFreeTextKeepsOrdinaryText(t *testing.T) {
	for _, in := range []string{
		"exit status 2: Error: Vault is sealed",
		"curl: (6) Could not resolve host: vault.example.com",
		"open /run/user/1000/freshtoken/secret-cmd.lock: permission denied",
		"cannot execute /usr/lib/x86_64-linux-gnu/libsecret-1.so.0",
		"gpg: decryption failed: No secret key",
		"see https://developer.hashicorp.com/vault/docs/commands/login?lang=en for help",
		"TestStoppedCommandEndsWhatItStarted failed",
		"backup-20261206-134904-final-v2.tar not found",
		"request id 7Hq2: try again; status=12 user=me sk-learn task-force",
		"pass: freeagent/client-secret is not in the password store.",
	} {
		if got := redact.FreeText(in, 400); got != in {
			t.Errorf("FreeText(%q) = %q; want it unchanged", in, got)
		}
	}
}
