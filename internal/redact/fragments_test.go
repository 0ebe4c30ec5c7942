package redact_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/redact"
)

// runOf reports the longest run of v that s holds.
func runOf(s, v string) string {
	var best string
	for i := range v {
		for j := len(v); j > i+len(best); j-- {
			if strings.Contains(s, v[i:j]) {
				best = v[i:j]
				break
			}
		}
	}
	return best
}

// readings are s as written, with its JSON escapes read, and
// percent-decoded once and twice, in a path and in a form.
func readings(s string) []string {
	read := []string{s, strings.NewReplacer(`\/`, "/", `\u002b`, "+").Replace(s)}
	for _, unescape := range []func(string) (string, error){url.PathUnescape, url.QueryUnescape} {
		for text := s; ; {
			var err error
			if text, err = unescape(text); err != nil || slices.Contains(read, text) {
				break
			}
			read = append(read, text)
		}
	}
	return read
}

// TestScrubMasksFragmentsOfASecret: a provider that quotes part of the
// token it was sent (its first 40 characters, all but a prefix it knows,
// its middle) showed that part in messages and logs, as only a whole
// secret was masked. Any run of 16 characters of a secret is masked now,
// as the secret it is part of, in the encodings the whole is found in
// where a fragment reads the same (raw, JSON-escaped, percent- and
// form-encoded), and nothing shorter is.
func TestScrubMasksFragmentsOfASecret(t *testing.T) {
	const (
		refresh = "rt_9fK2mQ7xVb4Lp1Zs8Hc3Nw6Ye0Tu5Ra/Gd+Jk=Xo~Mi.Pq-Ul_Ev9Wb2Cf7Sz4Dh"
		secret  = "Cs7/Pq+Xn 3Wk=Vb8Lm&Rt2Hy%Zd5"
	)
	redact.Register(refresh, secret)
	jsonOf := func(v string) string {
		b, _ := json.Marshal(v)
		return string(b[1 : len(b)-1])
	}
	for _, tc := range []struct{ name, text string }{
		{"prefix", "invalid_grant: refresh token " + refresh[:40] + " is revoked"},
		{"without its prefix", "unknown token " + refresh[3:]},
		{"middle", "token …" + refresh[20:36] + "… expired"},
		{"suffix, at the end", refresh[len(refresh)-16:]},
		{"at the start", refresh[:16] + " was refused"},
		{"overlapping quotes", "first " + refresh[:30] + refresh[10:50] + " then"},
		{"one quoted inside another", refresh[:40] + " " + refresh[5:25]},
		{"JSON-escaped", `{"error_description":"token ` + jsonOf(refresh[25:60]) + ` unknown"}`},
		{"a fragment split by an escape", `"hint":"` + strings.ReplaceAll(refresh[28:52], "/", `\/`) + `"`},
		{"split by a unicode escape", `"hint":"` + strings.ReplaceAll(refresh[30:50], "+", `\u002b`) + `"`},
		{"percent-encoded", "https://x.example/cb?state=" + url.QueryEscape(refresh[24:56])},
		{"percent-encoded twice", "next=" + url.QueryEscape(url.QueryEscape(refresh[24:56]))},
		{"form-encoded, a space as +", "client_secret=" + url.QueryEscape(secret[:18])},
		{"the client secret's middle", "secret " + secret[6:22] + " does not match"},
		// The run of base64 around the refresh token's is masked whole,
		// and took the client secret's start with it (its characters up
		// to the space are base64's), leaving the rest to show.
		{"the rest of a secret a base64 run took the start of", "Basic " + base64.StdEncoding.EncodeToString([]byte("x"+refresh)) + secret},
		{"two secrets' fragments", refresh[10:30] + secret[:16] + " and " + secret[10:] + "|" + refresh[40:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := redact.Scrub(tc.text)
			for _, read := range readings(got) {
				for _, v := range []string{refresh, secret} {
					if run := runOf(read, v); len(run) >= 12 {
						t.Errorf("%q shows %q of a secret", got, run)
					}
				}
			}
			if !strings.Contains(got, "…(") {
				t.Errorf("%q: no mask", got)
			}
		})
	}
}

// TestScrubKeepsRunsShorterThanAFragment: what is left shown of a secret
// is shorter than a fragment masked (16 characters of a long one; of one
// shorter than 32, half of it, and never under 12), and a secret shorter
// than 16 is masked whole only, as ordinary words and ids of its length
// may hold its runs.
func TestScrubKeepsRunsShorterThanAFragment(t *testing.T) {
	const (
		long   = "Lg4mZ8qT2wX6vB0nR3kY7pJ1sD5fH9cA"
		middle = "Md3pQ7wE1rT5yU9iO2aS6d" // 22: runs of 12 masked
		short  = "Sh0rtS3cr3t2X"
	)
	redact.Register(long, middle, short)
	for _, tc := range []struct {
		text   string
		masked bool
	}{
		{"id " + long[:16], true},
		{"id " + long[:15], false},
		{"id " + long[10:25] + " and " + long[16:31], false},
		{"id " + middle[:12], true},
		{"id " + middle[5:16], false},
		{"id " + short, true},
		{"id " + short[:12], false},
		{"id " + short[1:], false},
	} {
		got := redact.Scrub(tc.text)
		if masked := got != tc.text; masked != tc.masked {
			t.Errorf("%q: masked %v (%q), want %v", tc.text, masked, got, tc.masked)
		}
	}
}

// TestScrubKeepsTheWordsOfASecretMadeOfWords: a run of a secret that
// holds no digit and letters of one case only reads as words, not as a
// token's part: the dev provider's client secret, dev-client-secret,
// masked "-client-secre" in every message naming --client-secret-env
// (the demo's too), and a key like gw-subscription-key-0123 masked the
// "subscription-key" of every URL's query. Such a run is shown; the whole
// secret, and a run of it holding a digit, are still masked.
func TestScrubKeepsTheWordsOfASecretMadeOfWords(t *testing.T) {
	const words, key = "dev-client-secret", "gw-subscription-key-0123"
	redact.Register(words, key)
	for _, tc := range []struct {
		text   string
		masked bool
	}{
		{"pass --client-secret-env NAME", false},
		{"http://127.0.0.1/token?subscription-key=abc", false},
		{"secret " + words, true},
		{"key " + key, true},
		{"key part " + key[6:], true}, // "bscription-key-0123": a digit in it
	} {
		got := redact.Scrub(tc.text)
		if masked := got != tc.text; masked != tc.masked {
			t.Errorf("%q: masked %v (%q), want %v", tc.text, masked, got, tc.masked)
		}
	}
}

// TestHexSecretIsFoundInTheOtherCase: a hex token is the bytes it spells
// to a server that reads it so, and such a server may quote it in the
// other case (%X of the bytes): a token of lower-case hex quoted in upper
// case, whole or in part, and a short upper-case one quoted in lower
// case, showed whole. Other values are not looked for in another case.
func TestHexSecretIsFoundInTheOtherCase(t *testing.T) {
	const (
		long  = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
		short = "C0FFEE15BADA"
		mixed = "Rt7Kp2Xw9Lm4Qs8Vb3Nc6Zd1Fg5Hj0Ty"
	)
	redact.Register(long, short, mixed)
	for _, tc := range []struct {
		text, shown string
	}{
		{"invalid token " + strings.ToUpper(long), strings.ToUpper(long[8:24])},
		{"token " + strings.ToUpper(long[20:44]) + " unknown", strings.ToUpper(long[20:36])},
		{"token=" + strings.ToUpper(long) + "&x=1", strings.ToUpper(long[8:24])},
		{`{"key":"` + strings.ToLower(short) + `"}`, strings.ToLower(short)},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("id:"+long)), long[8:24]},
	} {
		if got := redact.Scrub(tc.text); strings.Contains(got, tc.shown) || !strings.Contains(got, "…(") {
			t.Errorf("%q scrubbed as %q", tc.text, got)
		}
	}
	if text := "id " + strings.ToLower(mixed); redact.Scrub(text) != text {
		t.Errorf("%q masked: want a value of other characters looked for as it is written", text)
	}
}

// TestAHexTokensRunIsFoundFromItsOwnForm: a hex token's runs are looked
// for as written and in the other case, and a piece of digits alone,
// the same in both, was kept for the form that sorts first (upper case)
// alone, as a piece a value holds twice is: a run of the token as written
// holding no other piece (1 in 40 of those of 16 characters) was read on
// from the upper-case form, stopped at its first letter, and shown.
func TestAHexTokensRunIsFoundFromItsOwnForm(t *testing.T) {
	const token = "c0ffee1ba31415926a4c123b1612dd272d1371c17149d439536b3216fdaeeb97" // its piece at 9 is 31415926
	redact.Set("hex-own-form", token)
	defer func() { redact.Set("hex-own-form"); redact.Set("hex-own-form") }()
	for _, run := range []string{token[5:21], strings.ToUpper(token[5:21])} {
		if got := redact.Scrub("invalid token " + run); strings.Contains(got, run) || !strings.Contains(got, redact.Mask(token)) {
			t.Errorf("%q of %q scrubbed as %q; want it masked", run, token, got)
		}
	}
}

// TestRegisterWholeNeverWeakensAValueMaskedInPart: a value registered
// (Register) or set (Set) before, then registered whole only, keeps its
// runs masked, whether it was indexed between the two or not; so does one
// set after it was registered whole only, once the owner has let it go.
func TestRegisterWholeNeverWeakensAValueMaskedInPart(t *testing.T) {
	values := []string{"Zq8w3RtY7uP0kLm2NbVc5x", "Hj4Kp9Lm2Qw7Er5Ty1Ui8O", "Bn6Vc3Xz0As5Df8Gh2Jk4L", "Pq1Wo9Ei7Ru5Ty3Ui1Op6A"}
	for i, then := range []func(v string){
		func(v string) { redact.Register(v); redact.Scrub("indexed"); redact.RegisterWhole(v) },
		func(v string) { redact.Set("never-weaker", v); redact.Scrub("indexed"); redact.RegisterWhole(v) },
		func(v string) { redact.Set("never-weaker", v); redact.RegisterWhole(v) },
		func(v string) {
			redact.RegisterWhole(v)
			redact.Set("never-weaker", v)
			redact.Scrub("indexed")
			redact.Set("never-weaker")
			redact.Set("never-weaker")
		},
	} {
		v := values[i]
		then(v)
		if run := v[2:20]; strings.Contains(redact.Scrub("token "+run), run) {
			t.Errorf("case %d: a run of %q shown; want it masked", i, v)
		}
		redact.Set("never-weaker")
		redact.Set("never-weaker")
	}
}

// TestAPieceFiveHexTokensShareIsLookedUp: a piece is looked up while no
// more than maxSharing values hold it, however many of their forms do: a
// piece of digits alone that five hex tokens start with (a vendor's
// prefix), held by both cases of each, is still looked up, and a run of
// one of them holding no other piece is masked.
func TestAPieceFiveHexTokensShareIsLookedUp(t *testing.T) {
	tokens := []string{
		"31415926c4a1be7d09f3e2a65b8c1d4f7e0a3b6c",
		"31415926d5b2cf8e1a04f3b76c9d2e5a8f1b4c7d",
		"31415926e6c3da9f2b15a4c87dae3f6b9a2c5d8e",
		"31415926f7d4eba03c26b5d98ebf4a7cab3d6e9f",
		"31415926a8e5fcb14d37c6ea9fca5b8dbc4e7fa0",
	}
	redact.Set("hex-prefix", tokens...)
	defer func() { redact.Set("hex-prefix"); redact.Set("hex-prefix") }()
	run := tokens[2][:16] // only the shared piece is whole in it
	if got := redact.Scrub("invalid token " + run); strings.Contains(got, run) || !strings.Contains(got, redact.Mask(tokens[2])) {
		t.Errorf("%q of %q scrubbed as %q; want it masked", run, tokens[2], got)
	}
}

// TestAWholeOnlySecretsRunsAreShown: a shared store's password made of
// words with a digit, my-company-redis-2024, had its runs masked as a
// token's, and with them the name of the store's host in every debug line
// (my-company-redis-2023…, the cluster of the year before). Registered
// whole only (RegisterWhole), the whole password is masked, in every
// encoding, and its runs are not; registered also as a secret that may be
// quoted in part (Register, Set), its runs are masked again.
func TestAWholeOnlySecretsRunsAreShown(t *testing.T) {
	for _, tc := range []struct {
		password, host string
		then           func(string)
	}{
		{"my-company-redis-2024", "my-company-redis-2023.abc123.0001.euw1.cache.amazonaws.com", nil},
		{"acme-staging-redis-77", "acme-staging-redis-78.internal", func(v string) { redact.Register(v) }},
		{"team-cache-2024-password", "team-cache-2024-pass.internal", func(v string) { redact.Set("whole-then-set", v) }},
	} {
		password, host, then := tc.password, tc.host, tc.then
		line := "Redis store at " + host + ":6379: renewal lock held"
		redact.RegisterWhole(password)
		if got := redact.Scrub(line); got != line {
			t.Errorf("%q registered whole only: %q logged as %q; want it as it is", password, line, got)
		}
		for _, secret := range []string{
			"auth " + password,
			"redis://:" + url.QueryEscape(password) + "@" + host,
			"Basic " + base64.StdEncoding.EncodeToString([]byte("default:"+password)),
			`{"password":"` + password + `"}`,
		} {
			if got := redact.Scrub(secret); strings.Contains(got, password[3:]) || !strings.Contains(got, redact.Mask(password)) {
				t.Errorf("%q logged as %q; want the password masked", secret, got)
			}
		}
		if then == nil {
			continue
		}
		then(password)
		if got := redact.Scrub(line); !strings.Contains(got, "…(") {
			t.Errorf("%q registered again to be masked in part: %q logged as %q; want its run masked", password, line, got)
		}
		redact.Set("whole-then-set")
		redact.Set("whole-then-set")
	}
}
