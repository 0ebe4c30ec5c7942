package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
)

func TestGrants(t *testing.T) {
	const generic = "api_url = \"https://api.example.com/\"\ntoken_url = \"https://login.example.com/token\"\n"
	for _, tt := range []struct{ env, text, grant, engine, deviceURL string }{
		{"code", "provider = \"freeagent\"\n", config.GrantAuthorizationCode, freshtoken.GrantAuthorizationCode, ""},
		{"machine", generic + "grant = \"client_credentials\"\n", config.GrantClientCredentials, freshtoken.GrantClientCredentials, ""},
		{"tv", generic + "device_auth_url = \"https://login.example.com/device\"\ngrant = \"device_code\"\n", config.GrantDeviceCode, freshtoken.GrantDeviceCode, "https://login.example.com/device"},
	} {
		e := load(t, "[env."+tt.env+"]\n"+tt.text+"client_id = \"id\"\n").Envs[tt.env]
		s := e.Settings()
		if e.Grant != tt.grant || s.Grant != tt.engine || s.DeviceAuthURL != tt.deviceURL {
			t.Errorf("%s: grant %q, engine %q, device_auth_url %q; want %q, %q, %q", tt.env, e.Grant, s.Grant, s.DeviceAuthURL, tt.grant, tt.engine, tt.deviceURL)
		}
		if err := e.MissingDeviceAuthURL(); err != nil {
			t.Errorf("%s: %v", tt.env, err)
		}
	}
}

func TestGrantMistakes(t *testing.T) {
	for _, tt := range []struct{ name, text, want string }{
		{"unknown grant", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\ngrant = \"password\"\n", `:4: env.a.grant: "password" is not "authorization_code", "client_credentials" or "device_code"`},
		{"bad device_auth_url", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\ngrant = \"device_code\"\ndevice_auth_url = \"login/device\"\n", `:5: env.a.device_auth_url: "login/device" is not an http(s) URL`},
		{"authorization code still needs auth_url", "[env.a]\napi_url = \"https://a.example/\"\ntoken_url = \"https://a.example/t\"\nclient_id = \"x\"\n", "env.a.auth_url: missing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, tt.text)
			_, err := config.Load(p)
			if !errors.Is(err, config.ErrInvalid) || !strings.HasPrefix(err.Error(), p) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v; want ErrInvalid at %s saying %q", err, p, tt.want)
			}
		})
	}
	f := load(t, "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\ngrant = \"device_code\"\n")
	if err := f.Envs["a"].MissingDeviceAuthURL(); !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "set device_auth_url") {
		t.Fatalf("a device_code environment without device_auth_url: %v", err)
	}
}
