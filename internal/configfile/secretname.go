package configfile

import (
	"os"
	"strings"
	"unicode"

	"github.com/freshtoken/freshtoken/internal/redact"
)

// looksLikeASecret reports whether s, given as a variable's name, is rather
// a generated secret: 16 characters or more mixing upper and lower case
// letters and digits, or lower case letters and digits without a _ (hex,
// as GitHub's), as nobody names a variable; but not one holding a word a
// variable for a secret is named by, as a word of it (Auth0_Client_Secret,
// Okta1ApiKey), which a generated secret seldom holds.
func looksLikeASecret(s string) bool {
	var upper, lower, digit bool
	for _, r := range s {
		upper = upper || unicode.IsUpper(r)
		lower = lower || unicode.IsLower(r)
		digit = digit || unicode.IsDigit(r)
	}
	if redact.HasASecretWord(s) {
		return false
	}
	return len(s) >= 16 && digit && lower && (upper || !strings.Contains(s, "_") && IsEnvVarName(s))
}

// SecretForAName reports whether name, given as the name of the variable
// holding the client secret (client_secret_env, init's flag and prompt), is
// rather the secret itself, as a generated secret looks and no variable's
// name does, no variable being set by that name: a variable set by it is
// one, whatever it looks like.
func SecretForAName(name string) bool {
	_, set := os.LookupEnv(name)
	return name != "" && !set && looksLikeASecret(name)
}
