package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/httpx"
)

// TestExitCodesAgree: the exit codes the table of failure kinds gives are
// the ones `freshtoken --help` and the README list.
func TestExitCodesAgree(t *testing.T) {
	_, help := runHelp(t, "--help")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for k := failure.Unexpected; k <= failure.Interrupted; k++ {
		listed := fmt.Sprintf("%d ", k.Row().Exit)
		if k.Row().Exit > 128 {
			listed = "128+N " // after a signal
		}
		if !strings.Contains(help, "\n  "+listed) {
			t.Errorf("--help does not list exit code %s(kind %d)", listed, k)
		}
		if !strings.Contains(string(readme), " "+listed) {
			t.Errorf("the README does not list exit code %s", listed)
		}
	}
}

// TestHeaderLimitAgrees: the limit on an API answer's headers that
// `freshtoken --help` and the README give beside exit 5 is the one the
// transport sets; --help said 10 MB once it was 1 MiB.
func TestHeaderLimitAgrees(t *testing.T) {
	_, help := runHelp(t, "--help")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	said := fmt.Sprintf("its headers past %d MiB", httpx.MaxAnswerHeader>>20)
	for where, text := range map[string]string{"--help": strings.Join(strings.Fields(help), " "), "the README": strings.Join(strings.Fields(string(readme)), " ")} {
		if !strings.Contains(text, said) {
			t.Errorf("%s does not say %q", where, said)
		}
	}
}

// TestEveryCommandHasExamples walks the command tree: every command a
// person can run or open for help shows examples in its --help, and says
// more than its one-line summary (service install's --help said only
// "Write the service's file and start it": not which file, nor what the
// service runs).
func TestEveryCommandHasExamples(t *testing.T) {
	ios, _, _ := testStreams(false, false)
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			if (sub.Runnable() || sub.HasSubCommands()) && sub.Example == "" {
				t.Errorf("%s --help shows no examples", sub.CommandPath())
			}
			if sub.Runnable() && sub.Long == "" {
				t.Errorf("%s --help says no more than its summary", sub.CommandPath())
			}
			walk(sub)
		}
	}
	walk(cli.NewRootCmd(&cli.Factory{IO: ios}))
}

// TestCurlExamplesAskForJSON: FreeAgent wants Accept: application/json on
// every request, so every curl example in --help, the README and docs/ that
// calls an API, with a token or through the proxy (which passes curl's
// Accept: */* on as it is), sends it, and can be pasted as it is.
func TestCurlExamplesAskForJSON(t *testing.T) {
	ios, _, _ := testStreams(false, false)
	texts := helpTexts(cli.NewRootCmd(&cli.Factory{IO: ios}))
	for doc, text := range readDocs(t) {
		texts[doc] = text
	}
	for where, text := range texts {
		for line := range strings.Lines(text) {
			api := strings.Contains(line, "Authorization: Bearer") || throughProxy.MatchString(line)
			if curlCommand.MatchString(line) && api && !strings.Contains(line, "Accept: application/json") {
				t.Errorf("%s: a curl example without Accept: application/json: %s", where, strings.TrimSpace(line))
			}
		}
	}
}

// readDocs returns the text of the README and of each page of docs/, by
// path, with a shell line continued after a backslash joined to the next.
func readDocs(t *testing.T) map[string]string {
	t.Helper()
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	texts := make(map[string]string)
	for _, doc := range append(docs, "../../README.md") {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		texts[doc] = strings.ReplaceAll(string(data), "\\\n", "")
	}
	return texts
}

// curlCommand matches a curl command line, not the word in a sentence.
var curlCommand = regexp.MustCompile("(^|[\\s(`])curl +[-'\"h]")

// throughProxy matches a URL of an API through the proxy (ENV/v2/…).
var throughProxy = regexp.MustCompile(`127\.0\.0\.1:8787/[a-z][a-z0-9_-]*/v`)

// TestHelpConfigNamesEveryKey: `freshtoken help config` shows every key an
// environment may have.
func TestHelpConfigNamesEveryKey(t *testing.T) {
	_, out := runHelp(t, "help", "config")
	fields := reflect.TypeFor[config.EnvSettings]()
	for i := range fields.NumField() {
		key, _, _ := strings.Cut(fields.Field(i).Tag.Get("toml"), ",")
		if !strings.Contains(out, " "+key+" = ") {
			t.Errorf("help config does not show %s", key)
		}
	}
}

// TestHelpSaysWhereTheConfigIsOnEverySystem: the --config flag, `help
// config` and the README name the config folder of macOS and Windows too
// (os.UserConfigDir): the help said ~/.config alone, where a Mac's
// freshtoken never looks, and the README said nowhere where init writes.
func TestHelpSaysWhereTheConfigIsOnEverySystem(t *testing.T) {
	root, out := runHelp(t, "help", "config")
	for where, text := range map[string]string{
		"--config":    root.PersistentFlags().Lookup("config").Usage,
		"help config": out,
		"README.md":   readDocs(t)["../../README.md"],
	} {
		for _, dir := range []string{"~/.config", "~/Library/Application Support", "%AppData%"} {
			if !strings.Contains(strings.Join(strings.Fields(text), " "), dir) {
				t.Errorf("%s does not name %s", where, dir)
			}
		}
	}
}

// TestHelpLinksDocsByAddress: help that points to a page of the
// documentation gives its address, since an installed freshtoken (a .deb,
// an archive) has no docs/ folder beside it.
func TestHelpLinksDocsByAddress(t *testing.T) {
	root, out := runHelp(t, "help", "config")
	texts := helpTexts(root)
	texts["help config"] = out
	const site = "https://github.com/freshtoken/freshtoken/blob/main/"
	for where, text := range texts {
		if strings.Count(text, "docs/") != strings.Count(text, site+"docs/") {
			t.Errorf("%s names a page of docs/ without its address (%s…)", where, site)
		}
	}
}

// runHelp runs freshtoken with args, asking for help, and returns its
// command tree and what it printed.
func runHelp(t *testing.T, args ...string) (root *cobra.Command, out string) {
	t.Helper()
	ios, stdout, _ := testStreams(false, false)
	root = cli.NewRootCmd(&cli.Factory{IO: ios})
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	return root, stdout.String()
}

// helpTexts is the --help text (Long and Example) of root and of every
// command under it, by "COMMAND --help".
func helpTexts(root *cobra.Command) map[string]string {
	texts := map[string]string{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		texts[c.CommandPath()+" --help"] = c.Long + "\n" + c.Example
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return texts
}

// TestFlagsNamedInHelpExist: a flag's help, a command's text or its
// examples that name another flag (`--os …, with --dry-run`) name one the
// command has, so that doing as the help says is never "unknown flag".
func TestFlagsNamedInHelpExist(t *testing.T) {
	ios, _, _ := testStreams(false, false)
	named := regexp.MustCompile(`(?:^|[\s(\x60"'])--([a-z][a-z-]*[a-z])`)
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		has := func(name string) bool {
			return c.Flags().Lookup(name) != nil || c.InheritedFlags().Lookup(name) != nil
		}
		check := func(where, text string) {
			for _, m := range named.FindAllStringSubmatch(text, -1) {
				if name := m[1]; !has(name) && !namesOtherCommand(text, name) {
					t.Errorf("%s: %s names --%s, which %s does not have", c.CommandPath(), where, name, c.CommandPath())
				}
			}
		}
		c.Flags().VisitAll(func(f *pflag.Flag) { check("the help of --"+f.Name, f.Usage) })
		for _, line := range strings.Split(c.Example, "\n") {
			if c.HasSubCommands() {
				break // its examples run the subcommands
			}
			if args := exampleArgs(line, c.CommandPath()); args != nil {
				for _, a := range args {
					if name, ok := strings.CutPrefix(a, "--"); ok && name != "" {
						if name, _, _ = strings.Cut(name, "="); !has(name) {
							t.Errorf("%s: its example %q uses --%s, which it does not have", c.CommandPath(), strings.TrimSpace(line), name)
						}
					}
				}
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cli.NewRootCmd(&cli.Factory{IO: ios}))
}

// exampleArgs is what follows path (`freshtoken service status`) in an
// example line that runs that command, global flags between its words
// allowed, up to a comment, a pipe or the next command; nil for a line
// that runs another.
func exampleArgs(line, path string) []string {
	words := strings.Fields(path)
	if i := strings.Index(line, " #"); i >= 0 {
		line = line[:i]
	}
	if i := strings.Index(line, "freshtoken "); i >= 0 {
		line = line[i:]
	} else {
		return nil
	}
	fields := strings.Fields(line)
	w := 0
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		switch {
		case f == "|" || f == "&&" || f == ";" || strings.HasPrefix(f, "$(") || f == "--":
			return nil
		case w < len(words) && f == words[w]:
			w++
			if w == len(words) {
				var rest []string
				for _, a := range fields[i+1:] {
					if a == "|" || a == "&&" || a == ";" || a == "--" || a == ">" {
						break
					}
					rest = append(rest, a)
				}
				return rest
			}
		case f == "-e" || f == "--config" || f == "--log-format" || f == "--log-file":
			i++ // a global flag and its value
		case strings.HasPrefix(f, "-"):
		default:
			return nil // another command
		}
	}
	return nil
}

// namesOtherCommand reports whether text names --name as another
// command's flag (`freshtoken init … --client-secret-env`).
func namesOtherCommand(text, name string) bool {
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "--"+name) && strings.Contains(line, "freshtoken ") {
			return true
		}
	}
	return false
}

// TestHelpProseFitsEightyColumns: the prose of every command's --help is
// wrapped at 80 columns, as a terminal shows it unbroken. Lines added to
// a paragraph ran on (request's, of JSON that indenting would swell, to
// 119 columns; store migrate's to 134), and the terminal broke them
// mid-word. Indented lines (examples, a configuration's comments, tables)
// may be wider.
func TestHelpProseFitsEightyColumns(t *testing.T) {
	ios, _, _ := testStreams(false, false)
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for i, line := range strings.Split(c.Long, "\n") {
			if n := len([]rune(line)); n > 80 && !strings.HasPrefix(line, " ") {
				t.Errorf("%s --help, line %d of its text, is %d columns: %q", c.CommandPath(), i+1, n, line)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cli.NewRootCmd(&cli.Factory{IO: ios}))
}

// TestTabOffersNoFilesWhereNoneAreTaken: Tab after a command that takes no
// argument offers nothing, where cobra's default offered the folder's
// files; after exec (a program) and import postman (the export) it still
// offers files.
func TestTabOffersNoFilesWhereNoneAreTaken(t *testing.T) {
	offers := func(words ...string) string {
		t.Helper()
		_, directive := tabOffers(t, append(words, "")...)
		return directive
	}
	noFiles := fmt.Sprintf(":%d", cobra.ShellCompDirectiveNoFileComp)
	ios, _, _ := testStreams(false, false)
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		path := strings.Fields(c.CommandPath())[1:]
		if !c.Runnable() || c.Hidden || c.HasSubCommands() || len(path) == 0 || path[0] == "help" || path[0] == "exec" || path[0] == "import" {
			return
		}
		if got := offers(path...); got != noFiles {
			t.Errorf("Tab after `%s ` gives directive %s, want %s (no files)", c.CommandPath(), got, noFiles)
		}
	}
	walk(cli.NewRootCmd(&cli.Factory{IO: ios}))
	for _, words := range [][]string{{"exec", "--"}, {"import", "postman"}} {
		if got := offers(words...); got == noFiles {
			t.Errorf("Tab after `freshtoken %s ` offers no files, but it takes one", strings.Join(words, " "))
		}
	}
}

// tabOffers is what Tab offers for words, the last one the word being
// typed ("" after a space): the words it offers, and cobra's directive
// (":4", no files).
func tabOffers(t *testing.T, words ...string) (offered []string, directive string) {
	t.Helper()
	ios, stdout, _ := testStreams(false, false)
	cli.Main(append(append([]string{"--config", filepath.Join(t.TempDir(), "none.toml"), cobra.ShellCompRequestCmd}, words[:len(words)-1]...), words[len(words)-1]), ios)
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1]
}

// TestTabAfterAFlagOffersFilesOnlyWhereOneIsTaken: Tab after a flag that
// takes a value offers the folder's files only if that value is a file
// (--config, --log-file, init's --ca-file, --key-file and
// --client-secret-cmd); after any other (`token --min-valid`, `demo
// --calls`, `-H`, `store migrate --to`) it offered them too, as if the
// flag took one.
func TestTabAfterAFlagOffersFilesOnlyWhereOneIsTaken(t *testing.T) {
	takesFile := map[string]bool{"config": true, "log-file": true, "ca-file": true, "key-file": true, "client-secret-cmd": true}
	ios, _, _ := testStreams(false, false)
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.Hidden || c.Name() == "help" {
			return
		}
		c.LocalFlags().VisitAll(func(fl *pflag.Flag) {
			if fl.NoOptDefVal != "" {
				return
			}
			words := append(strings.Fields(c.CommandPath())[1:], "--"+fl.Name, "")
			_, got := tabOffers(t, words...)
			files := got == fmt.Sprintf(":%d", cobra.ShellCompDirectiveDefault)
			if files != takesFile[fl.Name] {
				t.Errorf("Tab after `%s --%s ` gives directive %s; files offered %t, want %t", c.CommandPath(), fl.Name, got, files, takesFile[fl.Name])
			}
		})
	}
	walk(cli.NewRootCmd(&cli.Factory{IO: ios}))
}

// TestTabAfterDataOffersFilesAfterAnAt: Tab after `-d @` offers the
// folder's files and folders with the @ before them, and nothing after a
// -d without one (the body itself): the shell's own file names went
// without the @, and sent the name as the body.
func TestTabAfterDataOffersFilesAfterAnAt(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"contact.json", ".hidden", filepath.Join("sub", "a.json")} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	noFiles := fmt.Sprintf(":%d", cobra.ShellCompDirectiveNoFileComp)
	for _, c := range []struct {
		typed, directive string
		want             []string
	}{
		{"@", fmt.Sprintf(":%d", cobra.ShellCompDirectiveNoFileComp|cobra.ShellCompDirectiveNoSpace), []string{"@contact.json", "@sub/"}},
		{"@sub/", noFiles, []string{"@sub/a.json"}},
		{"@.", noFiles, []string{"@.hidden"}},
		{"{", noFiles, nil},
	} {
		got, directive := tabOffers(t, "post", "/v2/contacts", "-d", c.typed)
		if !reflect.DeepEqual(got, c.want) && len(got)+len(c.want) > 0 || directive != c.directive {
			t.Errorf("Tab after `-d %s` offers %q, directive %s; want %q, %s", c.typed, got, directive, c.want, c.directive)
		}
	}
}

// TestDocsCommandsExist: every freshtoken command line the README and
// docs/ show, in a code block or in backquotes, runs a command freshtoken
// has, with flags that command has, so that a reader who types it as
// written never meets "unknown command" or "unknown flag".
func TestDocsCommandsExist(t *testing.T) {
	ios, _, _ := testStreams(false, false)
	root := cli.NewRootCmd(&cli.Factory{IO: ios})
	root.InitDefaultVersionFlag()
	for doc, text := range readDocs(t) {
		for _, args := range docCommands(text) {
			cmd, _, err := root.Find(args)
			if err != nil || (cmd == root && !strings.HasPrefix(args[0], "-")) {
				t.Errorf("%s: freshtoken %s: no such command", filepath.Base(doc), strings.Join(args, " "))
				continue
			}
			for _, a := range args {
				name, ok := strings.CutPrefix(a, "--")
				if !ok || !flagName.MatchString(name) {
					continue
				}
				name, _, _ = strings.Cut(name, "=")
				if cmd.Flags().Lookup(name) == nil && cmd.InheritedFlags().Lookup(name) == nil {
					t.Errorf("%s: freshtoken %s: %s has no --%s", filepath.Base(doc), strings.Join(args, " "), cmd.CommandPath(), name)
				}
			}
		}
	}
}

var flagName = regexp.MustCompile(`^[a-z][a-z-]*(=|$)`)

// docCommands are the arguments of each freshtoken command text shows:
// in a fenced code block, freshtoken as a line's first word or after
// $(, a pipe, && or ;; elsewhere, a backquoted span that begins with it.
func docCommands(text string) [][]string {
	var cmds [][]string
	inBlock := false
	for line := range strings.Lines(text) {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inBlock = !inBlock
			continue
		}
		if inBlock {
			cmds = append(cmds, commandsIn(line)...)
			continue
		}
		for _, m := range backquoted.FindAllStringSubmatch(line, -1) {
			if strings.HasPrefix(m[1], "freshtoken ") {
				cmds = append(cmds, commandsIn(m[1])...)
			}
		}
	}
	return cmds
}

var backquoted = regexp.MustCompile("`([^`]*)`")

// commandsIn returns the arguments of each freshtoken command of a shell
// line, each up to a comment, a pipe, a redirection or the end of $(…).
func commandsIn(line string) [][]string {
	if i := strings.Index(line, " #"); i >= 0 {
		line = line[:i]
	}
	var cmds [][]string
	fields := strings.Fields(line)
	for i, f := range fields {
		starts := i == 0 || strings.HasSuffix(fields[i-1], "$(") || fields[i-1] == "|" || fields[i-1] == "&&" || fields[i-1] == ";"
		if f = strings.TrimLeft(f, "\"$("); f != "freshtoken" || !(starts || fields[i] != f) {
			continue
		}
		var args []string
		for _, a := range fields[i+1:] {
			if a == "--" || strings.ContainsAny(a[:1], "|&;>)<") {
				break
			}
			a, closed := strings.CutSuffix(strings.TrimSuffix(a, "\""), ")")
			args = append(args, a)
			if closed {
				break
			}
		}
		if len(args) > 0 && !strings.HasPrefix(args[0], "[") {
			cmds = append(cmds, args)
		}
	}
	return cmds
}
