package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/authpool/authpool/callerreport"
)

// callerUsage is the usage of `authpool caller`.
const callerUsage = `usage:
  authpool caller add <id> [-cap USD] [-window 5h] [-rate PER_SECOND -burst N] [-sessionless sticky|spread] -server URL [-admin-token-file FILE]
  authpool caller list -server URL [-admin-token-file FILE]
  authpool caller remove <id> -server URL [-admin-token-file FILE]
  authpool caller usage <id> [-json] -server URL [-admin-token-file FILE]`

// caller runs `authpool caller add|list|remove|usage`: the callers a
// running server keeps in its store, through its admin API.
func caller(ctx context.Context, args []string, env environment) error {
	if len(args) == 0 {
		return usagef("caller: say add, list, remove or usage\n%s", callerUsage)
	}
	do, ok := map[string]func(context.Context, callerCommand) error{
		"add": addCaller, "list": listCallers, "remove": removeCaller, "usage": callerUsageReport,
	}[args[0]]
	if !ok {
		return usagef("caller: unknown command %q: add, list, remove or usage", args[0])
	}
	c := callerCommand{name: args[0], env: env, fs: newFlags("caller "+args[0], env)}
	return c.run(ctx, args[1:], do)
}

// callerCommand is one `authpool caller` command: its flags, its
// arguments and its client of the server.
type callerCommand struct {
	name   string
	env    environment
	fs     *flag.FlagSet
	id     string // the caller's, for all but list
	client serverClient
	set    map[string]bool // the flags given
	// add's flags, and usage's -json
	cap, rate           *float64
	window, sessionless *string
	burst               *int
	asJSON              *bool
}

// run parses the command's flags and runs do with the server's client.
func (c callerCommand) run(ctx context.Context, args []string, do func(context.Context, callerCommand) error) error {
	base := c.fs.String("server", "", "the server's URL (required)")
	tokenFile := c.fs.String("admin-token-file", "", "the file holding the admin token (default: $AUTHPOOL_ADMIN_TOKEN)")
	switch c.name {
	case "add":
		c.cap = c.fs.Float64("cap", 0, "the caller's cap in US dollars over its window (default: none)")
		c.window = c.fs.String("window", "", "the cap's rolling window, whole hours up to a week (default: 5h)")
		c.rate = c.fs.Float64("rate", 0, "the caller's own rate limit, in requests a second (with -burst)")
		c.burst = c.fs.Int("burst", 0, "how many requests the caller may send at once (with -rate)")
		c.sessionless = c.fs.String("sessionless", "", "how requests without a session are placed: sticky (default) or spread")
	case "usage":
		c.asJSON = c.fs.Bool("json", false, "print the report as JSON, as the admin API answers it")
	}
	rest, err := parseFlags(c.fs, args)
	if err != nil {
		return err
	}
	switch {
	case c.name == "list" && len(rest) > 0:
		return usagef("caller list: unexpected argument %q", rest[0])
	case c.name != "list" && len(rest) == 0:
		return usagef("caller %s: the caller's id is required", c.name)
	case c.name != "list" && len(rest) > 1:
		return usagef("caller %s: one caller at a time: unexpected argument %q", c.name, rest[1])
	case *base == "":
		return usagef("caller %s: -server is required", c.name)
	}
	if len(rest) == 1 {
		c.id = rest[0]
	}
	c.set = setFlags(c.fs)
	tok, err := tokenFrom(*tokenFile, "AUTHPOOL_ADMIN_TOKEN", c.env, "")
	switch {
	case err != nil:
		return fmt.Errorf("caller %s: -admin-token-file: %w", c.name, err)
	case tok == "":
		return usagef("caller %s: the server's admin token: -admin-token-file FILE, or AUTHPOOL_ADMIN_TOKEN", c.name)
	}
	if c.client, err = newServerClient(*base, tok); err != nil {
		return err
	}
	if err := do(ctx, c); err != nil {
		return fmt.Errorf("caller %s: %w", c.name, err)
	}
	return nil
}

// path is the admin API's path of the command's caller, with more after.
func (c callerCommand) path(more string) string {
	return "/admin/v1/callers/" + url.PathEscape(c.id) + more
}

// callerJSON is a caller as the admin API shows it.
type callerJSON struct {
	ID        string  `json:"id"`
	CapUSD    float64 `json:"capUSD"`
	CapWindow string  `json:"capWindow"`
	Rate      *struct {
		PerSecond float64 `json:"perSecond"`
		Burst     int     `json:"burst"`
	} `json:"rate"`
	Sessionless string    `json:"sessionless"`
	Created     time.Time `json:"created"`
}

// addCaller adds the caller with the settings given, and prints its key,
// alone on standard output, once; what it is goes to standard error.
func addCaller(ctx context.Context, c callerCommand) error {
	body := map[string]any{"id": c.id}
	if c.set["cap"] {
		body["capUSD"] = *c.cap
	}
	if c.set["window"] {
		body["capWindow"] = *c.window
	}
	if c.set["rate"] || c.set["burst"] {
		body["rate"] = map[string]any{"perSecond": *c.rate, "burst": *c.burst}
	}
	if c.set["sessionless"] {
		body["sessionless"] = *c.sessionless
	}
	var added struct {
		Caller callerJSON `json:"caller"`
		Key    string     `json:"key"`
	}
	if err := c.client.do(ctx, http.MethodPost, "/admin/v1/callers", body, &added); err != nil {
		return err
	}
	fmt.Fprintf(c.env.stderr, "caller %s added (%s). Its key, below, is shown this once: the server keeps only its hash.\n"+
		"Give it to the caller: ANTHROPIC_BASE_URL=%s CLAUDE_CODE_OAUTH_TOKEN=<key> claude\n",
		added.Caller.ID, capOf(added.Caller), c.client.base)
	_, err := fmt.Fprintln(c.env.stdout, added.Key)
	return err
}

// capOf describes a caller's cap.
func capOf(c callerJSON) string {
	if c.CapUSD <= 0 {
		return "no cap"
	}
	return fmt.Sprintf("cap $%s over %s", money(c.CapUSD), shortDuration(c.CapWindow))
}

func listCallers(ctx context.Context, c callerCommand) error {
	var list struct {
		Callers []callerJSON `json:"callers"`
	}
	if err := c.client.do(ctx, http.MethodGet, "/admin/v1/callers", nil, &list); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CALLER\tCAP\tRATE\tSESSIONLESS\tCREATED")
	for _, k := range list.Callers {
		capText, rate := "-", "-"
		if k.CapUSD > 0 {
			capText = "$" + money(k.CapUSD) + "/" + shortDuration(k.CapWindow)
		}
		if k.Rate != nil {
			rate = fmt.Sprintf("%s/s, burst %d", strconv.FormatFloat(k.Rate.PerSecond, 'f', -1, 64), k.Rate.Burst)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, capText, rate, k.Sessionless, k.Created.UTC().Format(time.RFC3339))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(c.env.stdout, "%d callers in the store (the config file's are not listed)\n", len(list.Callers))
	return err
}

func removeCaller(ctx context.Context, c callerCommand) error {
	if err := c.client.do(ctx, http.MethodDelete, c.path(""), nil, nil); err != nil {
		return err
	}
	_, err := fmt.Fprintf(c.env.stdout, "caller %s removed, with its spending: its key opens nothing (on every server within 5 s)\n", c.id)
	return err
}

func callerUsageReport(ctx context.Context, c callerCommand) error {
	var r callerreport.Report
	if err := c.client.do(ctx, http.MethodGet, c.path("/usage"), nil, &r); err != nil {
		return err
	}
	if *c.asJSON {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.env.stdout, "%s\n", b)
		return err
	}
	return printReport(c.env.stdout, r)
}

// printReport writes a caller's usage report: its cap, its windows and
// its sessions as tables, and its refusals.
func printReport(w io.Writer, r callerreport.Report) error {
	head := fmt.Sprintf("caller %s at %s: no cap", r.ID, r.At.UTC().Format(time.RFC3339))
	if c := r.Cap; c != nil {
		head = fmt.Sprintf("caller %s at %s: $%s of its $%s cap over %dh used (%.0f%%)", r.ID, r.At.UTC().Format(time.RFC3339),
			money(c.UsedUSD), money(c.USD), c.WindowHours, 100*c.Share)
		if !c.Resets.IsZero() {
			head += ", falls from " + c.Resets.UTC().Format(time.RFC3339)
		}
	}
	fmt.Fprintln(w, head)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WINDOW\tSTART\tREQUESTS\tINPUT\tOUTPUT\tCACHE WRITE\tCACHE READ\tCOST")
	for _, win := range r.Windows {
		t := win.Tokens
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t$%s\n", win.Name, win.Start.UTC().Format(time.RFC3339), win.Requests,
			t.Input, t.Output, t.CacheWrite, t.CacheRead, money(win.CostUSD))
	}
	if len(r.Sessions) > 0 {
		fmt.Fprintln(tw, "\nSESSION\tFIRST\tLAST\tREQUESTS\tCOST")
		for _, s := range r.Sessions {
			name := s.Session
			if name == "" {
				name = "(none)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t$%s\n", name, s.First.UTC().Format(time.RFC3339), s.Last.UTC().Format(time.RFC3339),
				s.Requests, money(s.CostUSD))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Refusals) > 0 {
		var parts []string
		for _, reason := range slices.Sorted(maps.Keys(r.Refusals)) {
			parts = append(parts, fmt.Sprintf("%s %d", reason, r.Refusals[reason]))
		}
		fmt.Fprintf(w, "refused by this server since it started: %s\n", strings.Join(parts, ", "))
	}
	_, err := fmt.Fprintf(w, "%d sessions this week\n", r.SessionCount)
	return err
}

// money shows dollars with two decimals, or more for a small amount.
func money(usd float64) string {
	if usd != 0 && usd < 0.01 {
		return strconv.FormatFloat(usd, 'g', 3, 64)
	}
	return strconv.FormatFloat(usd, 'f', 2, 64)
}

// shortDuration shows "5h0m0s" as "5h".
func shortDuration(d string) string {
	d = strings.TrimSuffix(d, "0s")
	return strings.TrimSuffix(d, "0m")
}
