package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/clock"
)

type tokenOptions struct {
	f        *Factory
	JSON     bool
	Force    bool
	MinValid time.Duration
}

func newTokenCmd(f *Factory, runF func(*tokenOptions) error) *cobra.Command {
	opts := &tokenOptions{f: f}
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print a valid access token, renewing it if needed",
		Long: `Print a valid access token and a newline on stdout, renewing it first when it
is about to expire. Scripts call it before each request.

--json prints {"env","access_token","token_type","expires_at","expires_in"}:
expires_at in RFC 3339 (UTC), expires_in in whole seconds from now. Both are
left out when the provider gave the token no lifetime (no usable expires_in):
it is then used until the API refuses it, and renewed once default_lifetime
has passed, so test for them (jq: .expires_in // empty).`,
		Example: `  curl -H "Authorization: Bearer $(freshtoken -e sandbox token)" -H "Accept: application/json" https://api.sandbox.freeagent.com/v2/company
  freshtoken token --json
  freshtoken token --force    # renew now
  freshtoken token --min-valid 10m   # a token that lasts the next 10 minutes`,
		Args: exactArgs(0, "no arguments"),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if opts.Force && opts.MinValid > 0 {
				return usageErrorf("--force and --min-valid cannot be used together")
			}
			if opts.MinValid < 0 {
				return usageErrorf("--min-valid %s is negative; give how long the token must stay valid, such as 10m", opts.MinValid)
			}
			return nil
		},
		RunE: runner(opts, runF, runToken),
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, `print {"env","access_token","token_type","expires_at","expires_in"} (no expires_* when the provider gave no lifetime)`)
	cmd.Flags().BoolVar(&opts.Force, "force", false, "renew the token now, even if it is still valid (a renewal another process completes while this one waits for it serves too)")
	cmd.Flags().DurationVar(&opts.MinValid, "min-valid", 0, "renew first if the token has less than this left (such as 10m); more than the provider's tokens last gets a warning")
	return cmd
}

// freshToken is src's token: renewed now with force, renewed first if it
// has less than minValid left, else renewed only when due. A token that
// still will not last minValid (the provider's live less, and renewing on
// every call would not change that) comes with a warning (f.warn), so that a
// long script is not surprised halfway.
func freshToken(ctx context.Context, f *Factory, src *freshtoken.Source, force bool, minValid time.Duration) (*oauth2.Token, error) {
	switch {
	case force:
		return src.Renew(ctx)
	case minValid > 0:
		tok, err := src.TokenValidFor(ctx, minValid)
		if err == nil && !tok.Expiry.IsZero() {
			if left := tok.Expiry.Sub(clock.Now()); left < minValid {
				why := "the provider issues none that last longer"
				switch r, _ := src.Record(ctx); {
				case r != nil && r.RefreshToken == "" && src.NeedsLogin():
					why = "it came with no refresh token, so it cannot be renewed; it ends when it expires"
				case r != nil && !r.IssuedAt.IsZero() && r.Expiry.Equal(tok.Expiry):
					why = fmt.Sprintf("the provider's tokens last %s, so no renewal can meet it; it is renewed as usual rather than on every call", r.Expiry.Sub(r.IssuedAt).Round(time.Second))
				}
				f.warn(fmt.Sprintf("%s: warning: this token is valid for only %s, less than --min-valid %s: %s",
					src.Env(), left.Round(time.Second), minValid, why))
			}
		}
		return tok, err
	}
	return src.TokenContext(ctx)
}

func runToken(ctx context.Context, opts *tokenOptions) error {
	opts.f.rerunnable = true
	src, err := opts.f.Source(ctx, "")
	if err != nil {
		return err
	}
	tok, err := freshToken(ctx, opts.f, src, opts.Force, opts.MinValid)
	if err != nil {
		return err
	}
	out := opts.f.IO.Out
	if !opts.JSON {
		_, err := fmt.Fprintln(out, tok.AccessToken)
		return err
	}
	doc := struct {
		Env         string `json:"env"`
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresAt   string `json:"expires_at,omitempty"`
		ExpiresIn   *int64 `json:"expires_in,omitempty"`
	}{Env: src.Env(), AccessToken: tok.AccessToken, TokenType: tok.Type()}
	if !tok.Expiry.IsZero() {
		doc.ExpiresAt = tok.Expiry.UTC().Format(time.RFC3339)
		in := max(int64(tok.Expiry.Sub(clock.Now()).Seconds()), 0)
		doc.ExpiresIn = &in
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
