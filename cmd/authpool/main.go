// Command authpool runs a pool of Claude subscriptions as a server a team
// shares, and logs subscriptions in to it:
//
//	go install github.com/authpool/authpool/cmd/authpool@latest
//
//	authpool serve -config pool.json [-listen ADDR] [-upstream URL]
//	authpool login <id> [-kind KIND] [-name NAME] -server URL [-admin-token-file FILE] [-config FILE]
//	authpool login <id> [-kind KIND] -config FILE          # straight into the config's (Redis) store
//	authpool login -import ~/.claude/.credentials.json <id> ...
//	authpool status -server URL [-token-file FILE]
//	authpool caller add <id> [-cap USD] [-window 5h] [-rate N -burst N] [-sessionless MODE] -server URL [-admin-token-file FILE]
//	authpool caller list|remove <id>|usage <id> [-json] -server URL [-admin-token-file FILE]
//
// serve runs package server until SIGINT or SIGTERM, then lets the requests
// in flight finish and exits 0; it prints "listening on URL" first. login
// runs Claude's OAuth login (PKCE, as Claude Code does: open the URL, paste
// back code#state) or imports Claude Code's credentials file, and stores
// the tokens through a running server's admin API or in the store a config
// file names. status prints a running server's pool, and the callers its
// store keeps, as tables. caller adds (printing the new caller's key,
// once), lists, removes and reports the callers a running server keeps in
// its store, through its admin API.
// AUTHPOOL_SEAL_KEYS holds the keys that seal credentials in a Redis store;
// AUTHPOOL_ADMIN_TOKEN and AUTHPOOL_STATUS_TOKEN may hold the tokens.
// docs/server.md has the whole story.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal stops the command gracefully; then the signals' own
	// action is back, so a second one ends a stop that takes too long.
	context.AfterFunc(ctx, stop)
	env := environment{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(run(ctx, os.Args[1:], env))
}

// environment is what a command reads and writes besides its arguments.
type environment struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

const usage = `usage:
  authpool serve -config FILE [-listen ADDR] [-upstream URL]
  authpool login <id> [-kind KIND] [-name NAME] (-server URL [-admin-token-file FILE] | -config FILE)
  authpool login -import CREDENTIALS.json <id> ...
  authpool status -server URL [-token-file FILE]
  authpool caller add|list|remove|usage [<id>] [flags] -server URL [-admin-token-file FILE]
run "authpool COMMAND -h" for a command's flags; docs/server.md for the rest`

// run runs the command args name and returns the exit status: 0, 1 for a
// failure, 2 for a mistake in the command line.
func run(ctx context.Context, args []string, env environment) int {
	if len(args) == 0 {
		fmt.Fprintln(env.stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], env)
	case "login":
		err = login(ctx, args[1:], env)
	case "status":
		err = status(ctx, args[1:], env)
	case "caller":
		err = caller(ctx, args[1:], env)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(env.stdout, usage)
		return 0
	default:
		err = usagef("unknown command %q", args[0])
	}
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(env.stderr, "authpool: %v\n%s\n", err, usage)
		return 2
	}
	fmt.Fprintln(env.stderr, "authpool:", err)
	return 1
}

// parseFlags parses args with fs, flags and positional arguments in any
// order (Go's flag package stops at the first positional one), and returns
// the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional, args = append(positional, args[0]), args[1:]
	}
}

// newFlags returns a flag set for command name that reports to env's
// standard error.
func newFlags(name string, env environment) *flag.FlagSet {
	fs := flag.NewFlagSet("authpool "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	return fs
}

// setFlags returns the names of the flags fs's Parse set.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}
