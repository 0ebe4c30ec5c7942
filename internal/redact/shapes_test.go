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
	checkMasks(t, []masking{
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
	})
}

// TestFreeTextKeepsOrdinaryText: what reads as no secret stays readable:
// words, paths (with numbers in them), an exit status, curl's code, a
// URL without a key, names in CamelCase, a date-stamped file, a short
// code, a vault message.
func TestFreeTextKeepsOrdinaryText(t *testing.T) {
	checkKept(t, []string{
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
	})
}

// TestFreeTextMasksLabelledQuotedAndAuthorizationSecrets: secrets written
// as configuration files, shells, headers and JSON write them showed
// whole: a value labelled as a secret (password: …, "password": "…",
// password = …), one quoted after its name (export TOKEN='…'), an HTTP
// authorization's credentials (Bearer …, Basic's base64 of user:password,
// alone too), base64 padded with == (read as name==value), Azure's
// client secrets (a ~ in them), and a token coloured by a terminal's codes.
func TestFreeTextMasksLabelledQuotedAndAuthorizationSecrets(t *testing.T) {
	checkMasks(t, []masking{
		{"password: hunter2", "hunter2", "password: …(7 chars)"},
		{"Password: correct-horse-battery-staple", "correct-horse", "Password: corr…(28 chars)"},
		{"vault: token: abcdefgh12345678 refused", "abcdefgh12345678", "vault: token: abcd…(16 chars) refused"},
		{`{"client_secret": "s3cr3t-Value"}`, "s3cr3t-Value", `{"client_secret": "…(12 chars)"}`},
		{`{"password":"hunter2"}`, "hunter2", `{"password":"…(7 chars)"}`},
		{"aws_secret_access_key = hunter2hunter", "hunter2hunter", "aws_secret_access_key = …(13 chars)"},
		{`secret = "correct horse"`, "correct horse", `secret = "…(13 chars)"`},
		{"export TOKEN='abc123def456ghi789'", "abc123def456ghi789", "export TOKEN='abc1…(18 chars)'"},
		{`API_KEY="abc123def456ghi789" not accepted`, "abc123def456ghi789", `API_KEY="abc1…(18 chars)" not accepted`},
		{"Authorization: Bearer abc123def456ghi789", "abc123def456ghi789", "Authorization: Bearer abc1…(18 chars)"},
		{"Authorization: Basic dXNlcjpodW50ZXIy", "dXNlcjpodW50ZXIy", "Authorization: Basic dXNl…(16 chars)"},
		{"basic dXNlcjpwYXNzd29yZA== refused", "dXNlcjpwYXNzd29yZA", "basic dXNl…(20 chars) refused"},
		{"key dXNlcjpodW50ZXIyaHVudGVyMg== unknown", "dXNlcjpodW50ZXIyaHVudGVyMg", "key dXNl…(28 chars) unknown"},
		{"curl: -u dXNlcjpodW50ZXIy refused", "dXNlcjpodW50ZXIy", "curl: -u dXNl…(16 chars) refused"},
		{"az: secret Xy58Q~Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXyZ0aB expired", "Q~Ab3dEf6hIj", "az: secret Xy58Q~Ab…(40 chars) expired"},
		{"\x1b[31mError:\x1b[0m bad token \x1b[1m" + jwt + "\x1b[0m", "eyJzdWIiOiJtZSJ9", "Error: bad token eyJhbGci…(65 chars)"},
	})
}

// TestFreeTextKeepsIdentifiersAndMessages: what a person needs to read
// the error stays: a UUID (a request's, a trace's, a password manager's
// item), a hyphenated word starting sk-, and the words after a name that
// labels a secret or an authorization scheme in a message (Code: 403,
// token: expired, Bearer token expired, Basic auth failed), as password
// managers and secret stores write their errors.
func TestFreeTextKeepsIdentifiersAndMessages(t *testing.T) {
	checkKept(t, []string{
		"bw: item 5f3e1c2a-9b7d-4e8f-a1c3-0d2b4f6e8a9c not found",
		"AADSTS70008: The refresh token has expired. Trace ID: 0af76519-16cd-43dd-8448-eb211c80319c",
		"sk-something-very-long-but-words is not a command",
		"Error reading secret: Code: 403. Errors:",
		"token: expired",
		"error: password: authentication failed",
		"Authorization: Bearer token expired",
		"Basic auth failed",
		`WWW-Authenticate: Bearer realm="x", error="invalid_token"`,
		"secret-tool: No such secret collection at path: /",
		"An error occurred (AccessDeniedException) when calling the GetSecretValue operation: User: arn:aws:sts::123456789012:assumed-role/dev/me is not authorized",
		"[ERROR] 2026/12/06 14:00:00 could not read secret op://Private/FreeAgent/password: account is not signed in",
	})
}

// TestFreeTextMasksSecretsInAURLsPath: a webhook's URL carries its
// secret in its path, not its query (Slack's hooks.slack.com/services/
// T…/B…/secret, Discord's /api/webhooks/id/token, Telegram's /bot…/),
// and a failed [notify] command that quoted it (curl's error) showed it
// whole. The path's random-looking segments are masked, its other
// segments (the team's and channel's ids, the method) kept.
func TestFreeTextMasksSecretsInAURLsPath(t *testing.T) {
	checkMasks(t, []masking{
		{"notify: POST https://hooks.slack.com/services/T024BE7LD/B01ABCDEF12/" + randomKey[:24] + " failed", randomKey[:24],
			"notify: POST https://hooks.slack.com/services/T024BE7LD/B01ABCDEF12/Zq4m…(24 chars) failed"},
		{"curl: (22) https://discord.com/api/webhooks/1234567890123456789/" + randomKey + randomKey + ": 401", randomKey,
			"curl: (22) https://discord.com/api/webhooks/1234567890123456789/Zq4mT8xW…(64 chars): 401"},
		{"curl: (22) https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage returned 401", "AAHdqTcvCH1vGWJx",
			"curl: (22) https://api.telegram.org/bot12345…(47 chars)/sendMessage returned 401"},
	})
}

// TestFreeTextMasksFlagsSecrets: a secret given to a command's flag, as
// a command echoing its own line or a usage error shows it, showed whole
// when its value was not random enough alone: after a space (--token
// abc…, --password …), and after = when the flag's name had 12
// characters or more (--client-secret=…: read as one long word, its name
// was never read). Both are masked now; the flags that say where a
// secret is rather than being one (--password-file, --password-stdin,
// curl's --key, a token_file: or client_secret_env = label) keep their
// values readable, as does a flag followed by another or by a plain word.
func TestFreeTextMasksFlagsSecrets(t *testing.T) {
	checkMasks(t, []masking{
		{"error: --client-secret=abc123def456ghi789 rejected", "abc123def456ghi789", "error: --client-secret=abc1…(18 chars) rejected"},
		{"error: --code=abc123def rejected", "abc123def", "error: --code=…(9 chars) rejected"},
		{"error: unknown flag --token abc123def456ghi789", "abc123def456ghi789", "error: unknown flag --token abc1…(18 chars)"},
		{"mysql: --password hunter2xyz rejected", "hunter2xyz", "mysql: --password …(10 chars) rejected"},
		{`vault: --client-secret "abc 123 def" rejected`, "abc 123 def", `vault: --client-secret "…(11 chars)" rejected`},
	})
	checkKept(t, []string{
		"--token is required",
		"docker login --password-stdin ghcr.io failed",
		"docker login --password -u me failed",
		"vault: --token-ttl 5m is too short",
		"curl: (58) could not load --key /home/me/client.pem",
		"error: --token-file /run/user/1000/tok.txt: no such file",
		"token_file: /home/me/.local/token.json not found",
		`client_secret_env = "FREEAGENT_SECRET" is not set`,
	})
}

// TestFreeTextMasksOnlyAPathsRandomSegments: a file's path with a hash
// in one of its folders (Nix's store, Docker's layers) was masked whole
// as one random word (/nix/sto…(50 chars)), so the reader could not tell
// which program or file failed. A path from the root or the home folder
// has only its random-looking segments masked, a token among them too.
func TestFreeTextMasksOnlyAPathsRandomSegments(t *testing.T) {
	checkMasks(t, []masking{
		{"exec: /nix/store/8a7fxk2mzq9v1l0c3jh5w6p4rb8ydn2s-pass-1.7.4/bin/pass: no such file", "8a7fxk2mzq9v1l0c3jh5w6p4rb8ydn2s",
			"exec: /nix/store/8a7fxk2m…(39 chars).7.4/bin/pass: no such file"},
		{"open /var/lib/docker/overlay2/" + hexKey + "/merged: permission denied", hexKey,
			"open /var/lib/docker/overlay2/3f9a0c7e…(40 chars)/merged: permission denied"},
		{"cat: ~/secrets/" + randomKey + ": no such file", randomKey, "cat: ~/secrets/Zq4mT8xW…(32 chars): no such file"},
		{"open /tmp/" + githubPAT + ": no such file", githubPAT, "open /tmp/ghp_R8nT…(40 chars): no such file"},
	})
}

// TestFreeTextMasksAHostsPassword: a database's or a cache's address
// written user:password@host without a scheme, as clients quote it in
// their errors, showed its password whole (a URL's is masked). It is
// masked now; an image's name:tag@sha256:… and git's user@host:path stay.
func TestFreeTextMasksAHostsPassword(t *testing.T) {
	checkMasks(t, []masking{
		{"connect to me:S3cr3tPass99@db.example.com:5432 failed", "S3cr3tPass99", "connect to me:…(12 chars)@db.example.com:5432 failed"},
		{"redis: dial me:hunter2@cache.local:6379: connection refused", "hunter2", "redis: dial me:…(7 chars)@cache.local:6379: connection refused"},
	})
	checkKept(t, []string{
		"docker: nginx:1.25@sha256:e4c58958181a5925816faa528ce959e487632f4cfd192f8132f71b32c2e8a1f0: not found",
		"fatal: git@github.com:org/repo.git not found",
		"ssh: git@github.com: Permission denied (publickey).",
		"error: me@example.com is not allowed",
	})
}

// TestFreeTextKeepsDigests: a content's hash named by its algorithm (a
// Docker image's digest, sha256:…, after the image's name@ too; npm's and
// Nix's sha512-…), which says what a pull or an install failed on, was
// masked as a random secret; it stays readable, in a URL's path too.
func TestFreeTextKeepsDigests(t *testing.T) {
	const digest = "e4c58958181a5925816faa528ce959e487632f4cfd192f8132f71b32c2e8a1f0"
	checkKept(t, []string{
		"Error response from daemon: manifest for sha256:" + digest + " not found",
		"docker: nginx@sha256:" + digest + ": not found",
		"GET https://registry-1.docker.io/v2/library/nginx/manifests/sha256:" + digest + " 404",
		"npm ERR! sha512-" + randomKey + randomKey + "== integrity checksum failed",
	})
}

// TestFreeTextCostIsBounded: a line of a=a=a=… (each value read as a
// name=value again) took minutes in FreeText, and any line of a megabyte
// was read whole, though a few hundred characters show. Both now cost a
// few hundred allocations, and a word cut where the reading stops is left
// out, not shown in part: a secret's first 19 characters, too short to
// look random alone, must not show.
func TestFreeTextCostIsBounded(t *testing.T) {
	for name, line := range map[string]string{
		"nested name=value within what is read": strings.Repeat("a=", 430),
		"name=value words, a megabyte":          strings.Repeat("a=b ", 1<<18),
		"labelled secrets, a megabyte":          strings.Repeat("password: x1 ", 1<<16),
		"webhooks' URLs, a megabyte":            strings.Repeat("https://h/"+randomKey+"/"+randomKey+" ", 1<<14),
		"named digests, a megabyte":             strings.Repeat("x@sha256:"+hexKey+": ", 1<<14),
		"flags' secrets, a megabyte":            strings.Repeat("--token x1 --a-long-flag-name=x ", 1<<15),
	} {
		if allocs := testing.AllocsPerRun(1, func() { redact.FreeText(line, 200) }); allocs > 2000 {
			t.Errorf("%s: FreeText made %.0f allocations; want a few hundred", name, allocs)
		}
	}
	// Four random words of 200 show as 21 characters each; the secret
	// starts 19 bytes before the 864 FreeText reads for 200 to show.
	long := strings.Repeat(randomKey, 7)[:200]
	line := strings.Repeat(long+" ", 4) + strings.Repeat("x", 40) + " " + randomKey + randomKey
	got := redact.FreeText(line, 200)
	if strings.Contains(got, randomKey[:9]) {
		t.Errorf("FreeText of a line cut in a secret = %q: its first part shows", got)
	}
}

// masking is a text FreeText masks a secret in, and what it gives.
type masking struct{ in, secret, want string }

// checkMasks checks that FreeText gives each case's want, without its
// secret, and gives it again from it (text masked twice reads as once).
func checkMasks(t *testing.T, cases []masking) {
	t.Helper()
	for _, c := range cases {
		got := redact.FreeText(c.in, 400)
		if strings.Contains(got, c.secret) || got != c.want {
			t.Errorf("FreeText(%q)\n = %q\nwant %q", c.in, got, c.want)
		}
		if again := redact.FreeText(got, 400); again != got {
			t.Errorf("FreeText of its own %q gave %q: masked twice", got, again)
		}
	}
}

// checkKept checks that FreeText gives each of texts unchanged.
func checkKept(t *testing.T, texts []string) {
	t.Helper()
	for _, in := range texts {
		if got := redact.FreeText(in, 400); got != in {
			t.Errorf("FreeText(%q) = %q; want it unchanged", in, got)
		}
	}
}

// TestFreeTextKeepsAMaskWithAShortPrefixWhole: text masked already whose
// mask shows fewer characters than it might, not to cut one in two, is
// kept whole beside a secret written against it: the secret was masked
// cut in the middle of its last character, and the line showed U+FFFD.
func TestFreeTextKeepsAMaskWithAShortPrefixWhole(t *testing.T) {
	masked := redact.Mask("a" + strings.Repeat("é", 16))
	got := redact.FreeText("token=xé"+masked+" was refused", 200)
	if strings.Contains(got, "\uFFFD") || strings.Contains(got, "xé") || !strings.Contains(got, masked) {
		t.Errorf("FreeText = %q", got)
	}
}
