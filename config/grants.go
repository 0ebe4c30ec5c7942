package config

import (
	"strings"

	"github.com/freshtoken/freshtoken"
)

// Grants: how an environment obtains its tokens (`grant = …`).
const (
	GrantAuthorizationCode = "authorization_code" // a browser log-in (the default)
	GrantClientCredentials = "client_credentials" // no log-in: the client's own credentials
	GrantDeviceCode        = "device_code"        // RFC 8628: a code entered on another device
)

// resolveGrant checks the grant key of r into e.
func resolveGrant(e *Env, r EnvSettings) error {
	bad := func(key, msg string) error { return &Error{Key: "env." + e.Name + "." + key, Msg: msg} }
	switch g := strings.TrimSpace(r.Grant); g {
	case "", GrantAuthorizationCode:
		e.Grant = GrantAuthorizationCode
	case GrantClientCredentials, GrantDeviceCode:
		e.Grant = g
	case freshtoken.GrantDeviceCode:
		e.Grant = GrantDeviceCode
	default:
		return bad("grant", `"`+g+`" is not "authorization_code", "client_credentials" or "device_code"`)
	}
	return nil
}

// MissingDeviceAuthURL is the mistake of a device_code environment for
// which no device authorization endpoint is set and none can be
// discovered, or nil.
func (e *Env) MissingDeviceAuthURL() error {
	if e.Grant != GrantDeviceCode || e.DeviceAuthURL != "" || e.Issuer != "" {
		return nil
	}
	return Invalidf(`environment %s: grant = "device_code" needs the provider's device authorization endpoint; set device_auth_url, or issuer to discover it`, e.Name)
}

// engineGrant is the engine's name for grant.
func engineGrant(grant string) string {
	switch grant {
	case GrantClientCredentials:
		return freshtoken.GrantClientCredentials
	case GrantDeviceCode:
		return freshtoken.GrantDeviceCode
	}
	return freshtoken.GrantAuthorizationCode
}
