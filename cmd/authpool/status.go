package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/callerreport"
)

// status runs `authpool status`: a running server's pool as a table.
func status(ctx context.Context, args []string, env environment) error {
	fs := newFlags("status", env)
	base := fs.String("server", "", "the server's URL (required)")
	tokenFile := fs.String("token-file", "", "the file holding the status (or admin) token (default: $AUTHPOOL_STATUS_TOKEN; none for a public status)")
	rest, err := parseFlags(fs, args)
	switch {
	case err != nil:
		return err
	case len(rest) > 0:
		return usagef("status: unexpected argument %q", rest[0])
	case *base == "":
		return usagef("status: -server is required")
	}
	tok, err := tokenFrom(*tokenFile, "AUTHPOOL_STATUS_TOKEN", env, "")
	if err != nil {
		return fmt.Errorf("status: -token-file: %w", err)
	}
	c, err := newServerClient(*base, tok)
	if err != nil {
		return err
	}
	var page statusJSON
	if err := c.do(ctx, http.MethodGet, "/status?format=json", nil, &page); err != nil {
		return fmt.Errorf("status: %w", err)
	}
	if err := printSnapshot(env.stdout, page.Snapshot); err != nil {
		return err
	}
	return printCallers(env.stdout, page)
}

// statusJSON is the status page's JSON: the pool's snapshot and, from a
// server whose store keeps callers, their reports.
type statusJSON struct {
	authpool.Snapshot
	Callers      []callerreport.Report `json:"callers"`
	CallersError string                `json:"callersError"`
}

// printCallers writes the store's callers as a table, when the status has
// any: a row per caller with its cap's use and its spending by window.
func printCallers(w io.Writer, page statusJSON) error {
	if page.CallersError != "" {
		_, err := fmt.Fprintf(w, "\ncallers: %s\n", page.CallersError)
		return err
	}
	if len(page.Callers) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CALLER\tCAP\tUSED\t5H\tDAY\tWEEK\tSESSIONS\tLAST ACTIVE\tREFUSED")
	for _, r := range page.Callers {
		capText, used := "-", "-"
		if c := r.Cap; c != nil {
			capText, used = fmt.Sprintf("$%s/%dh", money(c.USD), c.WindowHours), fmt.Sprintf("%.0f%%", 100*c.Share)
		}
		var refused int64
		for _, n := range r.Refusals {
			refused += n
		}
		spent := func(name string) string {
			win, ok := r.Window(name)
			if !ok {
				return "-"
			}
			return fmt.Sprintf("$%s (%d)", money(win.CostUSD), win.Requests)
		}
		last := "-"
		if !r.LastActive.IsZero() {
			last = r.At.Sub(r.LastActive).Round(time.Minute).String() + " ago"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%d\n", r.ID, capText, used, spent(callerreport.Window5h),
			spent(callerreport.WindowDay), spent(callerreport.WindowWeek), r.SessionCount, last, refused)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d callers in the store: cost (requests) by window\n", len(page.Callers))
	return err
}

// printSnapshot writes the pool as a table: a row per subscription, the
// fallback last, and a line of totals.
func printSnapshot(w io.Writer, snap authpool.Snapshot) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SUBSCRIPTION\tKIND\tSTATE\tHEALTH\tCLIENTS\tBLOCK\tWEEK\tBURN/H\tTOKEN EXPIRES")
	rows := snap.Subscriptions
	if snap.Fallback != nil {
		rows = append(rows, *snap.Fallback)
	}
	for _, s := range rows {
		week := percent(s.Week)
		if s.Day != nil {
			week = percent(*s.Day) + " (day)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%d/%d\t%s\t%s\t$%.2f\t%s\n", s.ID, s.Kind, state(s.Status, snap.Time),
			s.Health, s.ActiveClients, s.MaxClients, percent(s.Block), week, s.BurnRateUSDPerHour, until(s.CredentialExpiresAt, snap.Time))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d subscriptions, %d sessions, at %s\n", len(snap.Subscriptions), len(snap.Sessions),
		snap.Time.UTC().Format(time.RFC3339))
	return err
}

// percent shows a window's use: its share of the budget, or its cost
// without one.
func percent(u authpool.UsageWindow) string {
	if u.BudgetUSD > 0 || u.ReportedPercent > 0 {
		return strconv.FormatFloat(u.Percent, 'f', 0, 64) + "%"
	}
	return fmt.Sprintf("$%.2f", u.CostUSD)
}

// state shows a status, with how long a limit lasts.
func state(st authpool.Status, now time.Time) string {
	if st.State == authpool.Limited && st.Until.After(now) {
		return "limited " + st.Until.Sub(now).Round(time.Minute).String()
	}
	return st.State.String()
}

// until shows when a token expires, from now; "-" for never.
func until(t, now time.Time) string {
	switch {
	case t.IsZero():
		return "-"
	case !t.After(now):
		return "expired"
	}
	return "in " + t.Sub(now).Round(time.Minute).String()
}
