// Package extraparams says which extra parameters an environment's
// authorization and token requests may carry (Settings.AuthParams and
// TokenParams): none that freshtoken sets itself, none with a setting of
// its own, and no credential in the authorization URL. The engine refuses
// settings that break the rule; the configuration file and the command
// line's flags name the key to change.
package extraparams

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// Parameters the authorization request carries that freshtoken sets itself,
// or that have their own setting; AuthParams may not name them. Its
// response_mode is the default, query, as the callback reads the code from
// the query: form_post or fragment would leave the log-in waiting.
var ownAuthParams = map[string]string{
	"response_type": "", "client_id": "", "redirect_uri": "", "state": "",
	"code_challenge": "", "code_challenge_method": "", "response_mode": "",
	"scope": "Scopes", "audience": "Audience", "resource": "Resources",
}

// Parameters of token requests that freshtoken or a grant sets, or that
// have their own setting; TokenParams may not name them.
var ownTokenParams = map[string]string{
	"grant_type": "", "code": "", "code_verifier": "", "redirect_uri": "", "refresh_token": "",
	"device_code": "", "client_id": "", "client_secret": "", "client_assertion": "",
	"client_assertion_type": "",
	"scope":                 "Scopes", "audience": "Audience", "resource": "Resources",
}

// OwnError is the error of CheckAuth and CheckToken for a parameter that
// freshtoken sets itself or that has a setting of its own.
type OwnError struct {
	Param string
	// Setting is the Settings field that sets it instead; "" when
	// freshtoken sets it itself.
	Setting string
}

func (e *OwnError) Error() string {
	if e.Setting == "" {
		return fmt.Sprintf("freshtoken sets %q itself", e.Param)
	}
	return fmt.Sprintf("%q has a setting of its own (%s)", e.Param, e.Setting)
}

// credentials are parameters that hold a secret. The authorization request
// is a URL in the browser, whose history and the provider's logs keep it,
// so AuthParams may not name them.
var credentials = []string{"client_secret", "client_assertion", "client_assertion_type", "code_verifier", "refresh_token", "password"}

// CheckAuth reports whether an extra parameter of the authorization
// request (Settings.AuthParams) may be named key: not one freshtoken sets
// itself, such as state, nor one with a setting of its own, such as scope,
// nor a credential, such as client_secret.
func CheckAuth(key string) error {
	if slices.Contains(credentials, key) {
		return fmt.Errorf("%q is a credential, which never goes in the authorization URL: the browser's history and the provider's logs keep it", key)
	}
	return check(ownAuthParams, key)
}

// CheckToken is CheckAuth for Settings.TokenParams.
func CheckToken(key string) error { return check(ownTokenParams, key) }

func check(own map[string]string, key string) error {
	if strings.TrimSpace(key) == "" {
		return fmt.Errorf("an empty parameter name")
	}
	if setting, ok := own[key]; ok {
		return &OwnError{Param: key, Setting: setting}
	}
	return nil
}

// OwnInAuthURL lists, sorted, the parameters in the query of authURL that
// AuthParams could not hold either: those of one log-in (a whole
// authorization URL copied from a browser), which the provider would read
// in place of the ones freshtoken adds, and credentials. endpoint is
// authURL without them.
func OwnInAuthURL(authURL string) (own []string, endpoint string) {
	u, err := url.Parse(authURL)
	if err != nil {
		return nil, authURL
	}
	q := u.Query()
	for k := range q {
		if k != "" && CheckAuth(k) != nil {
			own = append(own, k)
			q.Del(k)
		}
	}
	if len(own) == 0 {
		return nil, authURL
	}
	sort.Strings(own)
	u.RawQuery = q.Encode()
	return own, u.String()
}
