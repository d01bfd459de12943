package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/seal"
	"github.com/authpool/authpool/server"
)

// serve runs `authpool serve`: the server of the config file, the flags
// overriding its listen address and upstream, until ctx ends.
func serve(ctx context.Context, args []string, env environment) error {
	fs := newFlags("serve", env)
	config := fs.String("config", "", "the config file (required)")
	listen := fs.String("listen", "", "the address to listen on, host:port (default: the file's server.listen)")
	upstream := fs.String("upstream", "", "the Anthropic API's base URL (default: the file's server.upstream)")
	rest, err := parseFlags(fs, args)
	switch {
	case err != nil:
		return err
	case len(rest) > 0:
		return usagef("serve: unexpected argument %q", rest[0])
	case *config == "":
		return usagef("serve: -config is required")
	}
	f, err := configfile.Load(*config)
	if err != nil {
		return err
	}
	set := setFlags(fs)
	if set["listen"] {
		f.Server.Listen = *listen
	}
	if set["upstream"] {
		f.Server.Upstream = *upstream
	}
	keyring, err := keyringOf(env)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(env.stderr, nil))
	srv, err := server.New(ctx, f, server.Options{Logger: logger, Keyring: keyring})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "listening on %s\n", srv.URL())
	return srv.Serve(ctx)
}

// keyringOf returns the keyring of AUTHPOOL_SEAL_KEYS, or nil when it is
// not set.
func keyringOf(env environment) (*seal.Keyring, error) {
	v := env.getenv(seal.EnvKeys)
	if v == "" {
		return nil, nil
	}
	keys, err := seal.ParseKeys(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", seal.EnvKeys, err)
	}
	return seal.NewKeyring(keys...)
}
