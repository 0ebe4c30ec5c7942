package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/configfile"
)

// TestReloadParsesOnlyWhatChanged: Reload gives an earlier reading again
// while the file holds the same bytes with the same mode (touched, its
// times changed), and reads the file anew otherwise: an edit of the same
// size, and a chmod that lets others read a file holding a plain
// client_secret, which is refused as Load refuses it.
func TestReloadParsesOnlyWhatChanged(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.toml")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("[env.dev]\nprovider = \"freeagent\"\nclient_id = \"a\"\nclient_secret = \"s\"\n")
	first, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	touched, err := Reload(p, first)
	if err != nil || touched == first || touched.read.reading != first.read.reading {
		t.Fatalf("touched: %v, the same File %v, parsed again %v; want a copy of the reading given again",
			err, touched == first, touched.read.reading != first.read.reading)
	}
	write("[env.dev]\nprovider = \"freeagent\"\nclient_id = \"b\"\nclient_secret = \"s\"\n")
	edited, err := Reload(p, touched)
	if err != nil || edited.Envs["dev"].ClientID != "b" {
		t.Fatalf("edited to the same size: %v, client %q; want b", err, edited.Envs["dev"].ClientID)
	}
	if !configfile.EnforcesModes {
		return
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Reload(p, edited); err == nil {
		t.Fatal("made readable by others, its plain client_secret: read as before; want it refused")
	}
}

// TestReloadGivesAReadingOfItsOwn: Reload is Load, given an earlier
// reading: a program that changed the reading Load gave it (an
// environment's scopes, its parameters, a setting as written, an
// environment added) had those changes given back by Reload as the file's,
// and the reading it gave changed the earlier one, as they shared their
// environments. Each reading is the file's, and its own.
func TestReloadGivesAReadingOfItsOwn(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.toml")
	text := "[env.dev]\nprovider = \"generic\"\napi_url = \"https://api.example/\"\nauth_url = \"https://login.example/a\"\ntoken_url = \"https://login.example/t\"\nclient_id = \"a\"\nscopes = [\"read\"]\nresource = [\"https://api.example/\"]\nauth_params = { prompt = \"consent\" }\ntoken_params = { x = \"1\" }\n"
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	change := func(f *File) {
		e := f.Envs["dev"]
		e.ClientID = "changed"
		e.Scopes[0] = "changed"
		e.Resources[0] = "changed"
		e.AuthParams["prompt"] = "changed"
		e.TokenParams["x"] = "changed"
		s := f.Settings["dev"]
		s.Scopes[0] = "changed"
		s.AuthParams["prompt"] = "changed"
		f.Envs["other"] = &Env{Name: "other"}
	}
	same := func(f *File) string {
		e, s := f.Envs["dev"], f.Settings["dev"]
		switch {
		case len(f.Envs) != 1:
			return fmt.Sprintf("environments %v", f.Names())
		case e.ClientID != "a" || e.Scopes[0] != "read" || e.Resources[0] != "https://api.example/" || e.AuthParams["prompt"] != "consent" || e.TokenParams["x"] != "1":
			return fmt.Sprintf("environment %+v", *e)
		case s.Scopes[0] != "read" || s.AuthParams["prompt"] != "consent":
			return fmt.Sprintf("settings %+v", s)
		}
		return ""
	}
	first, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	change(first)
	again, err := Reload(p, first)
	if err != nil {
		t.Fatal(err)
	}
	if got := same(again); got != "" {
		t.Fatalf("reloaded after the program changed its reading: %s; want the file's", got)
	}
	later, err := Reload(p, again)
	if err != nil {
		t.Fatal(err)
	}
	change(later)
	if got := same(again); got != "" {
		t.Fatalf("the earlier reading after the program changed the later: %s; want the file's", got)
	}
}

// TestCloneSharesNothing: every slice and map of an environment and of
// its settings as written, those added later too, is copied by clone, so
// that a File Reload gives is its caller's to change.
func TestCloneSharesNothing(t *testing.T) {
	e, s := &Env{}, EnvSettings{}
	fill := func(v reflect.Value) {
		for i := range v.NumField() {
			switch f := v.Field(i); f.Kind() {
			case reflect.Slice:
				f.Set(reflect.MakeSlice(f.Type(), 1, 1))
			case reflect.Map:
				f.Set(reflect.MakeMap(f.Type()))
			}
		}
	}
	fill(reflect.ValueOf(e).Elem())
	fill(reflect.ValueOf(&s).Elem())
	f := &File{Envs: map[string]*Env{"dev": e}, Settings: map[string]EnvSettings{"dev": s}}
	c := f.clone()
	shared := func(what string, a, b reflect.Value) {
		for i := range a.NumField() {
			if k := a.Field(i).Kind(); (k == reflect.Slice || k == reflect.Map || k == reflect.Pointer) && a.Field(i).UnsafePointer() == b.Field(i).UnsafePointer() {
				t.Errorf("%s.%s is shared by the copy", what, a.Type().Field(i).Name)
			}
		}
	}
	if c.Envs["dev"] == e {
		t.Fatal("the environment is shared by the copy")
	}
	shared("Env", reflect.ValueOf(e).Elem(), reflect.ValueOf(c.Envs["dev"]).Elem())
	shared("EnvSettings", reflect.ValueOf(s), reflect.ValueOf(c.Settings["dev"]))
	shared("File", reflect.ValueOf(f).Elem(), reflect.ValueOf(c).Elem())
}
