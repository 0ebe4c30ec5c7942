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

// MissingLoginEndpoint is the mistake of an environment whose log-in
// cannot start with the endpoints ep, as set or discovered: its issuer's
// discovery document names no authorization endpoint for a browser log-in,
// or no device authorization endpoint for a device log-in; nil when the
// grant's log-in has the endpoint it starts at, or needs none. (Without an
// issuer, Load has made sure of them.)
func (e *Env) MissingLoginEndpoint(ep freshtoken.Endpoints) error {
	switch {
	case e.Grant == GrantAuthorizationCode && ep.AuthURL == "":
		return Invalidf("environment %s: the discovery document of %s names no authorization_endpoint, where the browser log-in begins; set auth_url", e.Name, e.Issuer)
	case e.Grant == GrantDeviceCode && ep.DeviceAuthURL == "":
		return Invalidf("environment %s: the discovery document of %s names no device_authorization_endpoint, where the device log-in asks for its code; set device_auth_url", e.Name, e.Issuer)
	}
	return nil
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
