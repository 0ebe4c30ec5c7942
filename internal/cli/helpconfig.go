package cli

import "github.com/spf13/cobra"

// newConfigHelpTopic is `freshtoken help config`: the keys of the file.
func newConfigHelpTopic() *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "The configuration file and its keys",
		Long: `freshtoken reads one TOML file: --config PATH, else $FRESHTOKEN_CONFIG, else
freshtoken/config.toml in your config folder: $XDG_CONFIG_HOME, usually
~/.config, on Linux; ~/Library/Application Support on macOS; %AppData% on
Windows.

  default_env = "sandbox"          # used when -e and $FRESHTOKEN_ENV are not given (init -e NAME --default sets it)
  browser = "firefox --new-window" # opens log-in pages (default: $BROWSER, else the desktop's)
  ca_file = "/etc/ssl/corp-ca.pem" # a private certificate authority, trusted beside the system's

  [notify]                         # told once per change of state, by a running proxy
  command = "notify-me.sh"         # gets FRESHTOKEN_EVENT, FRESHTOKEN_ENV, FRESHTOKEN_MESSAGE
  webhook = "https://hooks.example.com/…"   # POST {"text": …}
  desktop = true

  [store]
  url = "file:///home/me/.local/state/freshtoken"   # the default
  # url = "redis://:PASSWORD@redis.internal:6379/0" # shared by many machines (rediss:// for TLS)
  # url = "keyring://"             # the system keychain; keyring://?service=NAME for another service name

  [env.sandbox]
  provider = "freeagent-sandbox"   # freeagent(-sandbox), xero, quickbooks(-sandbox), google, microsoft or generic
  client_id = "…"                  # required
  client_secret_env = "FREEAGENT_SECRET"   # or client_secret = "…", or client_secret_cmd = "pass show x"
  # client_secret_keyring = true   # or the system keychain (init --client-secret-keyring puts it there)
  redirect_uri = "http://127.0.0.1:8787/callback"   # the default

  [env.myapi]                      # any OAuth 2.0 provider
  api_url = "https://api.example.com/"
  auth_url = "https://login.example.com/authorize"
  token_url = "https://login.example.com/token"
  scopes = ["read", "offline_access"]
  client_auth = "basic"            # basic | body | none | private_key_jwt; never guessed
  refresh_before = "60s"           # renew this long before expiry
  timeout = "30s"                  # the longest one token request, the API's first byte, or a pause in its answer may take
  default_lifetime = "1h"          # when the provider gives no usable expires_in: renew after this
  refresh_idle_limit = "60d"       # the provider ends grants unused this long: the proxy renews in time
  token_file = "/run/user/1000/sandbox-token"   # kept holding the current access token by the proxy
  revocation_url = "https://login.example.com/revoke"   # RFC 7009: logout ends the grant there
  device_auth_url = "https://login.example.com/device"  # RFC 8628 device authorization

  [env.idp]                        # client authentication without a secret, and extras
  client_auth = "private_key_jwt"  # "none": a public client (no secret; the log-in uses PKCE)
  key_file = "/home/me/.config/freshtoken/idp-key.pem"  # PEM private key (RSA 2048+, EC P-256/P-384), mode 600
  key_id = "k1"                    # the kid the provider knows the key by (optional)
  key_alg = "PS256"                # RS256 | PS256 | ES256 | ES384 (default: from the key)
  assertion_audience = "https://login.example.com"  # the assertions' aud (default: token_url)
  audience = "https://api.example.com"   # on the authorization request and every token request
  resource = ["https://api.example.com/"]   # RFC 8707; one string or a list, sent likewise
  auth_params = { prompt = "consent", access_type = "offline" }   # added to the authorization request
  token_params = { }               # added to every token request (code, refresh and other grants)

  [env.sso]                        # the endpoints from the provider's discovery document
  api_url = "https://api.example.com/"
  issuer = "https://login.example.com/realms/x"   # RFC 8414 or OpenID Connect discovery
  client_id = "…"
  ca_file = "/etc/ssl/corp-ca.pem" # this environment's own private certificate authority

  [env.graph]
  provider = "microsoft"
  tenant = "contoso.onmicrosoft.com"   # default "common"; also "organizations", "consumers" or an ID
  scopes = ["User.Read"]           # offline_access is added: Microsoft needs it for refresh tokens
  client_id = "…"

  [env.machine]                    # how tokens are had: grant = …
  grant = "client_credentials"     # no log-in, no refresh token: a new token with the client's
                                   # credentials whenever one is due (auth_url not needed)
  # grant = "device_code"          # RFC 8628: login shows a URL and a code to enter on any device
  # device_auth_url = "https://login.example.com/device"   # needed by device_code, unless a preset or issuer gives it
  # grant = "authorization_code"   # the default: log in with a browser

auth_params and token_params cannot set what freshtoken sets itself (state,
redirect_uri, code_challenge, grant_type, client_id, …) nor what has a key of
its own (scope, audience, resource). Under private_key_jwt each token and
revocation request carries a new assertion (RFC 7523) signed with key_file,
which must be yours and readable by you alone, like an ssh key.

A preset fills api_url, the endpoints, client_auth, refresh_idle_limit and the
scopes its provider needs (google needs your scopes); a key set explicitly
wins, and overriding api_url moves a FreeAgent preset's endpoints with it.
With issuer, endpoints not set are read from the provider's discovery document
when first needed (never to serve a stored token), cached beside this file
for as long as the provider says (a day by default). Requests go through the
proxy HTTPS_PROXY or HTTP_PROXY names, except to hosts NO_PROXY lists. A token
whose whole lifetime is under twice refresh_before is renewed at half its
lifetime. Each provider, in detail:
https://github.com/freshtoken/freshtoken/blob/main/docs/providers.md
Every mistake is reported as FILE:LINE: KEY: what to do.
` + "`freshtoken store migrate --to URL`" + ` moves the tokens to another store and
sets [store] url.`,
	}
}
