package config

import (
	"slices"
	"testing"

	"github.com/BurntSushi/toml"
)

// TestUnknownKeysAsTheDecoderFindsThem: for files the decoder takes whole,
// unknownKeys, which Load uses once the decoder has stopped at a value it
// could not take, finds the keys the decoder's Undecoded does, in the same
// order.
func TestUnknownKeysAsTheDecoderFindsThem(t *testing.T) {
	files := []string{
		"[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n",
		"[env.a]\nprovider = \"freeagent\"\nclinet_id = \"x\"\nscope = [\"a\"]\n",
		"defaul_env = \"a\"\n[notfy]\ncommand = \"x\"\n[notify]\ncomand = \"y\"\nwebhook = \"https://h/\"\n",
		"[store]\nurl = \"file:///x\"\nca = \"y\"\n[store.more]\nz = 1\n",
		"[env.a]\nauth_params = { prompt = \"consent\" }\nresource = [\"r\"]\nassertion_audience = \"a\"\n[env.a.token_params]\nx = \"y\"\n[env.a.extra]\nq = 1\n",
		// Keys in another case are the decoder's (miscased reports them).
		"[env.a]\nClient_ID = \"x\"\nTIMEOUT = \"5s\"\n[Env.b]\nclient_id = \"y\"\n[NOTIFY]\ndesktop = true\n",
		"env.a.client_id = \"x\"\nenv.a.nope.deeper = 1\nstore.url = \"file:///x\"\n",
		"[[env.a.list]]\nx = 1\n[[env.a.list]]\ny = 2\n[[bogus]]\nz = 3\n",
	}
	for i, text := range files {
		var raw rawFile
		md, err := toml.Decode(text, &raw)
		if err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
		want, got := keyStrings(md.Undecoded()), keyStrings(unknownKeys(md.Keys()))
		if !slices.Equal(got, want) {
			t.Errorf("file %d:\n%s\nunknownKeys %q, the decoder's Undecoded %q", i, text, got, want)
		}
	}
}

func keyStrings(keys []toml.Key) []string {
	var s []string
	for _, k := range keys {
		if !slices.Contains(s, k.String()) {
			s = append(s, k.String())
		}
	}
	return s
}
