package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/oauth"
	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/server"
)

// loginOptions are login's flags.
type loginOptions struct {
	id, kind, name string
	serverURL      string
	adminTokenFile string
	config         string
	importFile     string
	file           *configfile.File // -config's, read
}

// login runs `authpool login`: a login (or an imported one) stored as a
// subscription's credential, through a server's admin API or in the store
// of a config file.
func login(ctx context.Context, args []string, env environment) error {
	o, err := parseLogin(args, env)
	if err != nil {
		return err
	}
	if o.config != "" {
		f, err := configfile.Load(o.config)
		if err != nil {
			return err
		}
		o.file = &f
	}
	if err := o.checkStore(env); err != nil {
		return err // before the login, which would be lost
	}
	tok, err := obtain(ctx, o, env)
	if err != nil {
		return err
	}
	t := authpool.Token{Access: tok.AccessToken, Refresh: tok.RefreshToken, ExpiresAt: tok.ExpiresAt}
	added := false
	if o.serverURL != "" {
		added, err = storeThroughServer(ctx, o, t, env)
	} else {
		added, err = storeInStore(ctx, o, t, env)
	}
	if err != nil {
		return err
	}
	report(env.stdout, o, tok, added)
	return nil
}

// parseLogin reads login's command line.
func parseLogin(args []string, env environment) (loginOptions, error) {
	fs := newFlags("login", env)
	var o loginOptions
	fs.StringVar(&o.serverURL, "server", "", "a running server's URL: the login goes through its admin API")
	fs.StringVar(&o.adminTokenFile, "admin-token-file", "", "the file holding the server's admin token (default: $AUTHPOOL_ADMIN_TOKEN, or -config's server.adminToken)")
	fs.StringVar(&o.config, "config", "", "the config file: its server.oauth endpoints; without -server, its store (Redis) receives the login")
	fs.StringVar(&o.importFile, "import", "", "import this Claude Code credentials file (~/.claude/.credentials.json) instead of logging in")
	fs.StringVar(&o.kind, "kind", "", "the plan, to add the subscription when the pool lacks it: pro, max5x or max20x")
	fs.StringVar(&o.name, "name", "", "the subscription's name, for people, when it is added")
	rest, err := parseFlags(fs, args)
	switch {
	case err != nil:
		return o, err
	case len(rest) == 0:
		return o, usagef("login: the subscription's id is required: authpool login <id> ...")
	case len(rest) > 1:
		return o, usagef("login: one subscription at a time: unexpected argument %q", rest[1])
	case o.serverURL == "" && o.config == "":
		return o, usagef("login: say where the login goes: -server URL (a running server) or -config FILE (its store)")
	}
	o.id = rest[0]
	switch authpool.Kind(o.kind) {
	case "", authpool.KindPro, authpool.KindMax5x, authpool.KindMax20x:
	default:
		return o, usagef("login: -kind %q: must be pro, max5x or max20x", o.kind)
	}
	return o, nil
}

// checkStore checks, before the login (which would be lost), that it can
// be stored: through -server, a URL and an admin token; else, without the
// server, in the config's store: a Redis store (not the server's memory),
// with sealing keys.
func (o loginOptions) checkStore(env environment) error {
	if o.serverURL != "" {
		_, err := o.serverClient(env)
		return err
	}
	if o.file.Server.WithDefaults().Store.URL == configfile.DefaultStoreURL {
		return usagef("login: %s keeps its pool in memory, which this command cannot reach: log in through the running server (-server URL)", o.config)
	}
	if keyring, err := keyringOf(env); err != nil || keyring == nil {
		return cmp.Or(err, server.ErrNoSealKeys)
	}
	return nil
}

// obtain returns the login's tokens: imported from a credentials file, or
// from Claude's OAuth login, the user pasting the code back.
func obtain(ctx context.Context, o loginOptions, env environment) (oauth.Token, error) {
	if o.importFile != "" {
		f, err := os.Open(o.importFile)
		if err != nil {
			return oauth.Token{}, fmt.Errorf("login: -import: %w", err)
		}
		defer f.Close()
		return oauth.ReadCredentialsFile(f)
	}
	var cfg oauth.Config
	if o.file != nil {
		cfg = o.file.Server.OAuth.Config()
	}
	c, err := oauth.New(cfg)
	if err != nil {
		return oauth.Token{}, err
	}
	l, err := c.NewLogin()
	if err != nil {
		return oauth.Token{}, err
	}
	fmt.Fprintf(env.stdout, "Open this URL in a browser, log in with the account of subscription %q, and paste the code the page shows:\n\n  %s\n\ncode#state: ",
		o.id, l.AuthorizeURL())
	pasted, err := readLine(ctx, env.stdin)
	if err != nil {
		return oauth.Token{}, fmt.Errorf("login: reading the code: %w", err)
	}
	tok, err := l.Exchange(ctx, pasted)
	if err != nil {
		return oauth.Token{}, err
	}
	if len(tok.Scopes) > 0 && !tok.HasScope(oauth.ScopeInference) {
		return oauth.Token{}, fmt.Errorf("login: the login was granted no %s scope: it is a Console login, not a subscription's", oauth.ScopeInference)
	}
	return tok, nil
}

// readLine reads one line (at most 16 KiB) from r, or returns ctx's error
// once ctx ends (Ctrl-C: main catches the signal into ctx); the read is
// then left to the process's exit.
func readLine(ctx context.Context, r io.Reader) (string, error) {
	type line struct {
		text string
		err  error
	}
	got := make(chan line, 1)
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 4096), 16<<10)
		switch {
		case sc.Scan():
			got <- line{text: sc.Text()}
		case sc.Err() != nil:
			got <- line{err: sc.Err()}
		default:
			got <- line{err: io.ErrUnexpectedEOF}
		}
	}()
	select {
	case l := <-got:
		return l.text, l.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// storeInStore writes the login into the store of the config file, which
// must outlive this command (Redis).
func storeInStore(ctx context.Context, o loginOptions, t authpool.Token, env environment) (bool, error) {
	f := o.file
	if slices.ContainsFunc(f.Config.Subscriptions, func(s authpool.Subscription) bool { return s.ID == o.id }) {
		fmt.Fprintf(env.stderr, "authpool: warning: subscription %q is in %s: a server's next start writes the file's credential over this login unless this login expires later than the file's (a credential of the file without an expiry always wins); take it out of the file\n", o.id, o.config)
	}
	keyring, err := keyringOf(env)
	if err != nil {
		return false, err
	}
	pool, closePool, err := server.OpenPool(ctx, *f, server.Options{Keyring: keyring})
	if err != nil {
		return false, err
	}
	defer func() {
		closing, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = closePool(closing)
	}()
	err = pool.UpdateCredential(ctx, o.id, t)
	if !errors.Is(err, authpool.ErrNotFound) {
		return false, err
	}
	if o.kind == "" {
		return false, notInPool(o.id)
	}
	return true, pool.AddSubscription(ctx, authpool.Subscription{ID: o.id, Name: o.name, Kind: authpool.Kind(o.kind),
		Credential: t.Access, RefreshToken: t.Refresh, CredentialExpiresAt: t.ExpiresAt})
}

func notInPool(id string) error {
	return fmt.Errorf("login: subscription %q is not in the pool: give -kind pro, max5x or max20x to add it", id)
}

// report tells the user what happened, and that the login is now the
// pool's alone.
func report(w io.Writer, o loginOptions, tok oauth.Token, added bool) {
	verb := "logged in"
	if added {
		verb = "added and logged in"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nsubscription %q %s", o.id, verb)
	if !tok.ExpiresAt.IsZero() {
		fmt.Fprintf(&b, ": its access token expires at %s", tok.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if tok.CanRefresh() {
		b.WriteString(", and the server refreshes it before then.\n")
	} else {
		b.WriteString(".\nIt has no refresh token (a claude setup-token?): replace it by hand before it expires.\n")
	}
	b.WriteString("This login now belongs to the pool: do not use it in your own Claude Code as well, or whichever " +
		"refreshes second gets invalid_grant and loses it.\n")
	if o.importFile != "" {
		b.WriteString("Log the Claude Code it came from out (or in with another account).\n")
	}
	_, _ = io.WriteString(w, b.String())
}
