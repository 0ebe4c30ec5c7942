package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/freshtoken/freshtoken"
)

// Version is freshtoken's version, set at build time with -ldflags.
var Version = "dev"

func userAgent() string {
	return "freshtoken/" + Version + " (+https://github.com/freshtoken/freshtoken)"
}

type requestOptions struct {
	f       *Factory
	Method  string
	Path    string
	Data    string
	Headers []string
	Include bool
}

// newRequestCmds builds `request METHOD PATH` and its shorthands.
func newRequestCmds(f *Factory, runF func(*requestOptions) error) []*cobra.Command {
	cmds := []*cobra.Command{newRequestCmd(f, "", runF)}
	for _, m := range []string{"get", "post", "put", "patch", "delete"} {
		cmds = append(cmds, newRequestCmd(f, strings.ToUpper(m), runF))
	}
	return cmds
}

func newRequestCmd(f *Factory, method string, runF func(*requestOptions) error) *cobra.Command {
	opts := &requestOptions{f: f, Method: method}
	cmd := &cobra.Command{
		Use:   "request METHOD PATH",
		Short: "Call the API with a fresh token",
		Long: `Call the environment's API with a fresh access token. PATH is joined to the
environment's api_url (a full URL on the same host works too). The response
body goes to stdout: pretty-printed JSON on a terminal, unchanged otherwise.
An HTTP error status exits 4, with the body still on stdout.`,
		Example: `  freshtoken request GET /v2/company
  freshtoken request POST /v2/contacts -d @contact.json`,
		Args: exactArgs(2, "METHOD and PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if method == "" {
				opts.Method, opts.Path = strings.ToUpper(args[0]), args[1]
			} else {
				opts.Path = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return runRequest(cmd, opts)
		},
	}
	if method != "" {
		lower := strings.ToLower(method)
		cmd.Use = lower + " PATH"
		cmd.Short = "Call the API with " + method + " and a fresh token"
		cmd.Args = exactArgs(1, "PATH")
		cmd.Example = fmt.Sprintf("  freshtoken -e sandbox %s /v2/contacts", lower)
		if method == "POST" || method == "PUT" || method == "PATCH" {
			cmd.Example = fmt.Sprintf(`  freshtoken -e sandbox %s /v2/contacts -d '{"contact":{"first_name":"Ada"}}'
  freshtoken -e sandbox %s /v2/contacts -d @contact.json`, lower, lower)
		}
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Data, "data", "d", "", "request body: DATA, @FILE, or @- for stdin")
	fl.StringArrayVarP(&opts.Headers, "header", "H", nil, "extra header 'Key: Value' (repeatable)")
	fl.BoolVarP(&opts.Include, "include", "i", false, "print the status line and headers before the body")
	return cmd
}

func runRequest(cmd *cobra.Command, opts *requestOptions) error {
	ctx := cmd.Context()
	f := opts.f
	src, err := f.Source(ctx, "")
	if err != nil {
		return err
	}
	target, err := resolveURL(src.APIURL(), opts.Path)
	if err != nil {
		return err
	}
	body, err := readData(opts.Data, f.IO.In)
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, opts.Method, target, rd)
	if err != nil {
		return usageErrorf("cannot build the request: %v", err)
	}
	req.Header.Set("User-Agent", userAgent())
	req.Header.Set("Accept", "application/json")
	if body != nil && json.Valid(body) {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range opts.Headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return usageErrorf("-H %q is not 'Key: Value'", h)
		}
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := src.Client().Do(req)
	if err != nil {
		return apiError(err, src.Env(), target)
	}
	defer resp.Body.Close()
	return writeResponse(f, resp, opts.Include, src.Env())
}

// apiError explains a request that got no answer. The engine's own errors
// (log-in needed and the like) pass through; net/http only wraps them.
func apiError(err error, env, target string) error {
	var fe *freshtoken.Error
	if errors.As(err, &fe) {
		return fe
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &freshtoken.Error{Env: env, Kind: freshtoken.ErrUnreachable,
		Msg: fmt.Sprintf("the API at %s could not be reached (%v); check your connection and api_url", target, err)}
}

// writeResponse prints resp and turns an error status into HTTPStatusError.
func writeResponse(f *Factory, resp *http.Response, include bool, env string) error {
	out := f.IO.Out
	if include {
		fmt.Fprintf(out, "%s %s\n", resp.Proto, resp.Status)
		keys := make([]string, 0, len(resp.Header))
		for k := range resp.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, v := range resp.Header[k] {
				fmt.Fprintf(out, "%s: %s\n", k, v)
			}
		}
		fmt.Fprintln(out)
	}
	if f.IO.OutTTY && isJSON(resp.Header.Get("Content-Type")) {
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		var pretty bytes.Buffer
		if json.Indent(&pretty, data, "", "  ") == nil {
			pretty.WriteByte('\n')
			data = pretty.Bytes()
		}
		if _, err := out.Write(data); err != nil {
			return err
		}
	} else if _, err := io.Copy(out, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		return &HTTPStatusError{Env: env, Method: resp.Request.Method, URL: resp.Request.URL.String(), Status: resp.Status}
	}
	return nil
}

func isJSON(contentType string) bool {
	ct := strings.ToLower(contentType)
	return strings.HasPrefix(ct, "application/json") || strings.Contains(ct, "+json")
}

// resolveURL joins path to the API root; a full URL must be on its host.
func resolveURL(apiURL, path string) (string, error) {
	base, err := url.Parse(apiURL)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		u, err := url.Parse(path)
		if err != nil {
			return "", usageErrorf("%q is not a URL", path)
		}
		if u.Scheme != base.Scheme || u.Host != base.Host {
			return "", usageErrorf("%s is not on this environment's API host %s; freshtoken sends tokens only there", path, base.Host)
		}
		return u.String(), nil
	}
	rel, err := url.Parse(strings.TrimPrefix(path, "/"))
	if err != nil {
		return "", usageErrorf("%q is not a path", path)
	}
	return base.ResolveReference(rel).String(), nil
}

// readData reads -d: literal data, @FILE, or @- for stdin.
func readData(data string, stdin io.Reader) ([]byte, error) {
	switch {
	case data == "":
		return nil, nil
	case data == "@-":
		return io.ReadAll(stdin)
	case strings.HasPrefix(data, "@"):
		b, err := os.ReadFile(data[1:])
		if err != nil {
			return nil, usageErrorf("-d %s: %v", data, err)
		}
		return b, nil
	}
	return []byte(data), nil
}
