package configedit

import (
	"testing"

	"github.com/freshtoken/freshtoken/config"
)

// TestEnvsEditAddsAsReplaceTableDoes: the tables WriteEnvs adds at the end
// of the file, with no new look at the whole file for each (see envsEdit),
// are written as replaceTable writes them one by one: a file of CRLF lines,
// one without a last line end, one ending in blank lines, one naming an
// environment already or in a comment or a string, names given twice.
func TestEnvsEditAddsAsReplaceTableDoes(t *testing.T) {
	envs := []NamedEnv{
		{Name: "a", Settings: config.EnvSettings{Provider: "freeagent", ClientID: "a-id"}},
		{Name: "b", Settings: config.EnvSettings{Provider: "freeagent", ClientID: "b-id"}},
		{Name: "c", Settings: config.EnvSettings{Provider: "freeagent", ClientID: "c-id"}},
		{Name: "a", Settings: config.EnvSettings{Provider: "freeagent", ClientID: "a-id-2"}},
		{Name: "d", Settings: config.EnvSettings{Provider: "freeagent", ClientID: "d-id"}},
		{Name: "e", Settings: config.EnvSettings{Provider: "freeagent", ClientID: "e-id"}},
	}
	for _, text := range []string{
		"",
		"\n\n",
		"default_env = \"b\"\r\n\r\n[env.b]\r\nprovider = \"freeagent\"\r\nclient_id = \"old\"\r\n",
		"[env.x]\nprovider = \"freeagent\"\nclient_id = \"x\"",
		"[env.x]\nprovider = \"freeagent\"\nclient_id = \"x\"\n\n\n",
		"# [env.c] was here\n[env.x]\nprovider = \"freeagent\"\nclient_id = \"x\"\nscopes = ['''\n[env.d]\n''']\n",
		"[env.d]\nprovider = \"freeagent\"\nclient_id = \"d\"\n# its last line\n",
	} {
		want := text
		for _, e := range envs {
			var err error
			edit, err := envsEdit("config.toml", []NamedEnv{e}, "")
			if err != nil {
				t.Fatal(err)
			}
			if want, err = edit(want); err != nil {
				t.Fatal(err)
			}
		}
		edit, err := envsEdit("config.toml", envs, "")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := edit(text); err != nil || got != want {
			t.Errorf("envsEdit of %q = %q, %v; want %q, as one by one", text, got, err, want)
		}
	}
}
