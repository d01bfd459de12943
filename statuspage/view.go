package statuspage

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/authpool/authpool"
)

// maxSessions caps the sessions the page lists; the JSON has them all.
const maxSessions = 100

// page is what the HTML template shows: the snapshot, formatted.
type page struct {
	Refresh      int // seconds; 0: no reload
	Time         moment
	Summary      string
	Cards        []card
	Fallback     *card
	Sessions     []sessionRow
	MoreSessions int
	Callers      *callerTable // nil without WithCallers
	Duplicates   int64
	Notes        authpool.NotificationStats
}

// moment is a time as the page shows it: absolute in UTC, relative to the
// snapshot, and machine-readable for the time element.
type moment struct {
	ISO, Abs, Rel string
}

// card is one subscription (or the fallback).
type card struct {
	ID, Name, Kind string
	Fallback       bool
	// Class is active, ineligible, limited or disabled; Badge says it in
	// words, Detail adds when or why.
	Class, Badge, Detail, Reason string
	Health, HealthClass          string
	HealthTerms                  string // "week −2 · block −12 · burn −10 · idle +10": the terms that are not zero
	Clients, Burn                string // Clients: those holding a slot, of the maximum, and the sessions
	// Exhausts is when the first budget runs out; Spent says one has.
	Exhausts, LastActive *moment
	Spent                bool
	Windows              []window
}

// window is one budget period of a card: a bar when it has a budget or an
// upstream report, a line of cost otherwise.
type window struct {
	Key, Label string
	Bar        bool
	// Width is the bar's filled share, 0 to 100; Level colours it.
	Width, Level string
	Used         string // "$40.00 of $100.00", or "$3.20" without a budget
	Requests     string // "3 requests · 45.2k tokens"; "" for none
	Percent      string // "40%"
	Reported     string // "55% reported by Anthropic", when there is a report
	Span         string
	Reset        *moment
	Exhausts     *moment
	Spent        bool
	// NotAtThisRate says that the budget does not run out at the burn rate.
	NotAtThisRate bool
}

type sessionRow struct {
	Client, Subscription, State, Model string
	Requests                           int64
	Cost                               string
	LastActive                         moment
}

// newPage formats a snapshot and the pool's counters for the template.
func newPage(s authpool.Snapshot, st authpool.Stats, refresh time.Duration) page {
	now := s.Time
	p := page{Time: moment{ISO: now.UTC().Format(time.RFC3339), Abs: now.UTC().Format("2006-01-02 15:04:05 UTC")},
		Duplicates: st.DuplicateRecords, Notes: st.Notifications}
	if refresh > 0 {
		p.Refresh = int((refresh + time.Second - 1) / time.Second)
	}
	counts := map[string]int{}
	for _, st := range s.Subscriptions {
		c := newCard(st, now, false)
		counts[c.Class]++
		p.Cards = append(p.Cards, c)
	}
	if s.Fallback != nil {
		c := newCard(*s.Fallback, now, true)
		p.Fallback = &c
	}
	p.Summary = summary(len(s.Subscriptions), counts, s.Fallback != nil, len(s.Sessions))
	for i, se := range s.Sessions {
		if i == maxSessions {
			p.MoreSessions = len(s.Sessions) - maxSessions
			break
		}
		p.Sessions = append(p.Sessions, sessionRow{Client: se.ClientID, Subscription: se.SubscriptionID,
			State: sessionState(se), Model: se.Model, Requests: se.Requests, Cost: dollars(se.CostUSD),
			LastActive: at(se.LastActive, now)})
	}
	return p
}

// summary is the header's line: how many subscriptions are in which state.
func summary(n int, counts map[string]int, fallback bool, sessions int) string {
	parts := []string{plural(n, "subscription") + ":"}
	var states []string
	for _, c := range []struct{ class, words string }{{"active", "taking clients"}, {"ineligible", "not taking clients"},
		{"limited", "limited"}, {"disabled", "disabled"}} {
		if counts[c.class] > 0 {
			states = append(states, fmt.Sprintf("%d %s", counts[c.class], c.words))
		}
	}
	if len(states) == 0 {
		states = []string{"none"}
	}
	parts = append(parts, strings.Join(states, ", "))
	line := strings.Join(parts, " ")
	if fallback {
		line += " · a fallback"
	}
	return line + " · " + plural(sessions, "session")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// newCard formats a subscription's status; the fallback's card leaves out
// the windows it has no budget for.
func newCard(st authpool.SubscriptionStatus, now time.Time, fallback bool) card {
	c := card{ID: st.ID, Name: st.Name, Kind: string(st.Kind), Fallback: fallback, Health: strconv.Itoa(int(math.Round(st.Health))),
		Burn: dollars(st.BurnRateUSDPerHour) + "/h", LastActive: atPtr(st.LastActive, now), HealthTerms: healthTerms(st.HealthTerms)}
	c.Exhausts, c.Spent = exhaustion(st.ExhaustsAt, now)
	switch {
	case st.Health >= 60:
		c.HealthClass = "good"
	case st.Health >= 30:
		c.HealthClass = "fair"
	default:
		c.HealthClass = "poor"
	}
	// The clients holding a slot, which the maximum caps, then the sessions
	// when some of them hold none (idle, or one-shot runs gone).
	c.Clients = strconv.Itoa(st.ActiveClients)
	if st.MaxClients > 0 {
		c.Clients += " of " + strconv.Itoa(st.MaxClients)
	}
	c.Clients += " active"
	if st.Clients != st.ActiveClients {
		c.Clients += " · " + plural(st.Clients, "session")
	}
	switch st.Status.State {
	case authpool.Limited:
		c.Class, c.Badge, c.Reason = "limited", "limited", st.Status.Reason
		if !st.Status.Until.IsZero() {
			m := at(st.Status.Until, now)
			c.Detail = "back " + m.Abs + " (" + m.Rel + ")"
		}
	case authpool.Disabled:
		c.Class, c.Badge, c.Detail, c.Reason = "disabled", "disabled", "until enabled", st.Status.Reason
	default:
		if st.Eligible {
			c.Class, c.Badge = "active", "taking clients"
		} else {
			c.Class, c.Badge, c.Detail = "ineligible", "not taking clients", string(st.Ineligible)
		}
	}
	ws := []struct {
		key, label string
		u          authpool.UsageWindow
	}{{"block", "5-hour block", st.Block}, {"week", "Week", st.Week}}
	if st.Day != nil {
		ws = append(ws, struct {
			key, label string
			u          authpool.UsageWindow
		}{"day", "Day (UTC)", *st.Day})
	}
	for _, w := range ws {
		win := newWindow(w.key, w.label, w.u, now)
		if fallback && !win.Bar {
			continue
		}
		c.Windows = append(c.Windows, win)
	}
	return c
}

// newWindow formats one budget period.
func newWindow(key, label string, u authpool.UsageWindow, now time.Time) window {
	w := window{Key: key, Label: label, Bar: u.BudgetUSD > 0 || u.ReportedPercent > 0,
		Used: dollars(u.CostUSD), Percent: percent(u.Percent) + "%"}
	if u.BudgetUSD > 0 {
		w.Used += " of " + dollars(u.BudgetUSD)
	} else {
		w.Used += ", no budget"
	}
	if u.ReportedPercent > 0 {
		w.Reported = percent(u.ReportedPercent) + "% reported by Anthropic"
	}
	w.Width = strconv.FormatFloat(math.Round(100*min(max(u.Percent, 0), 100))/100, 'f', -1, 64)
	w.Level = level(u.Percent)
	switch {
	case key == "week":
		w.Span = "rolling 7 days"
	case key == "day":
		w.Span = u.Start.UTC().Format("Jan 2")
		w.Reset = atPtr(u.End, now)
	case !u.Active:
		w.Span = "none running: the next request starts one"
	default:
		w.Span = u.Start.UTC().Format("15:04") + "–" + u.End.UTC().Format("15:04") + " UTC"
		w.Reset = atPtr(u.End, now)
	}
	w.Exhausts, w.Spent = exhaustion(u.ExhaustsAt, now)
	w.NotAtThisRate = u.Active && u.BudgetUSD > 0 && u.ExhaustsAt.IsZero()
	if u.Requests > 0 {
		w.Requests = plural(int(u.Requests), "request")
		if n := u.Tokens.Total(); n > 0 {
			w.Requests += " · " + count(n) + " tokens"
		}
	}
	return w
}

// healthTerms says the terms of a health score that are not zero, in
// points: "week −2 · block −12 · burn −10 · idle +10".
func healthTerms(t authpool.HealthTerms) string {
	var parts []string
	for _, term := range []struct {
		name   string
		points float64
	}{{"week", t.Weekly}, {"block", t.Block}, {"clients", t.Clients}, {"burn", t.Burn}, {"idle", t.Idle}} {
		p := math.Round(term.points*10) / 10
		switch {
		case p > 0:
			parts = append(parts, term.name+" +"+strconv.FormatFloat(p, 'f', -1, 64))
		case p < 0:
			parts = append(parts, term.name+" −"+strconv.FormatFloat(-p, 'f', -1, 64))
		}
	}
	return strings.Join(parts, " · ")
}

// count formats a count briefly: 950, 45.2k, 3.1M.
func count(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10)
	case n < 1_000_000:
		return strconv.FormatFloat(math.Round(float64(n)/100)/10, 'f', -1, 64) + "k"
	case n < 1_000_000_000:
		return strconv.FormatFloat(math.Round(float64(n)/100_000)/10, 'f', -1, 64) + "M"
	}
	return strconv.FormatFloat(math.Round(float64(n)/100_000_000)/10, 'f', -1, 64) + "B"
}

// exhaustion formats when a budget runs out: nil when it does not (t is
// zero), spent when it has (t is not after now; the snapshot then says now).
func exhaustion(t, now time.Time) (m *moment, spent bool) {
	if t.IsZero() {
		return nil, false
	}
	if !t.After(now) {
		return nil, true
	}
	return atPtr(t, now), false
}

// at formats t for the page, relative to now.
func at(t, now time.Time) moment {
	t, now = t.UTC(), now.UTC()
	layout := "15:04 UTC"
	switch {
	case t.Year() != now.Year():
		layout = "2006-01-02 15:04 UTC"
	case t.YearDay() != now.YearDay():
		layout = "Jan 2 15:04 UTC"
	}
	return moment{ISO: t.Format(time.RFC3339), Abs: t.Format(layout), Rel: relative(t.Sub(now))}
}

// atPtr is at, nil for the zero time.
func atPtr(t, now time.Time) *moment {
	if t.IsZero() {
		return nil
	}
	m := at(t, now)
	return &m
}

// relative says a duration from now in words: "in 2h 13m", "5m ago",
// "now". It shows the two largest units and drops the rest.
func relative(d time.Duration) string {
	if d > -time.Second && d < time.Second {
		return "now"
	}
	past := d < 0
	if past {
		d = -d
	}
	d = d.Truncate(time.Second)
	days, hours := int(d/(24*time.Hour)), int(d/time.Hour)%24
	mins, secs := int(d/time.Minute)%60, int(d/time.Second)%60
	var s string
	switch {
	case days > 0:
		s = fmt.Sprintf("%dd %dh", days, hours)
	case hours > 0:
		s = fmt.Sprintf("%dh %dm", hours, mins)
	case mins > 0:
		s = fmt.Sprintf("%dm", mins)
	default:
		s = fmt.Sprintf("%ds", secs)
	}
	if past {
		return s + " ago"
	}
	return "in " + s
}

// dollars formats US dollars with cents and thousands separated: $40.00,
// $0.04, $1,000.00, -$3.50.
func dollars(usd float64) string {
	s := strconv.FormatFloat(math.Abs(usd), 'f', 2, 64)
	whole, cents := s[:len(s)-3], s[len(s)-3:]
	var b strings.Builder
	if usd < 0 && s != "0.00" {
		b.WriteByte('-')
	}
	b.WriteByte('$')
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String() + cents
}

// percent formats a percentage with at most one decimal: 40, 12.5.
func percent(p float64) string { return strconv.FormatFloat(math.Round(p*10)/10, 'f', -1, 64) }

// sessionState names a session's activity as the page shows it.
func sessionState(s authpool.SessionStatus) string {
	switch {
	case s.Stale:
		return "stale"
	case s.Idle:
		return "idle"
	}
	return "active"
}
