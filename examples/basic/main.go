// Command basic runs a simulated working day of a dozen clients through an
// authpool.Pool of three Claude subscriptions (a Max 20x, a Max 5x and a Pro)
// and a fallback API key, and prints what happened: who went where and why,
// each subscription's health hour by hour, and the day's totals.
//
// It drives the whole cycle a host drives: Allocate before a client's
// requests (the client stays where its prompt cache is warm), Record each
// response's cost, Release when the client leaves, Rebalance every five
// minutes, and MarkLimited when the upstream answers with a quota 429. Costs
// come from token counts and the models' prices; the pool runs into its
// 5-hour block budgets, so some clients spend a while on the fallback and a
// few must wait when that is spent too.
//
// The pool comes from the example config file (configfile/testdata/pool.json,
// credentials read from the files it names). Its webhook is pointed at a
// receiver the program runs on this machine, which checks each event's
// signature; everything else runs in memory on the default store, on a clock
// that the program advances a minute at a time, with seeded randomness: the
// output is the same on every run, and a day takes well under a second.
//
//	go run ./examples/basic                      # from the repository's root
//	go run ./examples/basic -config my-pool.json
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/webhook"
)

func main() {
	config := flag.String("config", "configfile/testdata/pool.json", "the pool's config file")
	flag.Parse()
	if err := run(os.Stdout, *config); err != nil {
		fmt.Fprintln(os.Stderr, "basic:", err)
		os.Exit(1)
	}
}

// The simulated day, and the quota 429 that takes the Max 20x out of service.
var (
	start      = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	end        = start.Add(12 * time.Hour)
	limitAt    = start.Add(3*time.Hour + 10*time.Minute)
	limitUntil = start.Add(4*time.Hour + 40*time.Minute)
)

const rebalanceEvery = 5 * time.Minute

// loadPool reads the pool's config file, and points its webhook at a
// receiver of the example's own on this machine, so that the example runs
// offline: the receiver checks each event's signature and counts it. It
// returns the config, and the options that add the file's webhooks.
func loadPool(path string) (authpool.Config, []authpool.Option, *receiver, error) {
	f, err := configfile.Load(path)
	if err != nil {
		return authpool.Config{}, nil, nil, err
	}
	var r *receiver
	if len(f.Webhooks) > 0 {
		hook := &f.Webhooks[0]
		r = newReceiver([]byte(hook.Secret.Reveal()))
		hook.URL = r.server.URL + "/authpool" // http to a loopback host is allowed
	}
	opts, err := f.Options(nil)
	return f.Config, opts, r, err
}

// receiver is a webhook receiver: it checks each POST's signature and counts
// the events by type.
type receiver struct {
	server *httptest.Server
	mu     sync.Mutex
	events map[authpool.EventType]int
	forged int
}

func newReceiver(secret []byte) *receiver {
	r := &receiver{events: map[authpool.EventType]int{}}
	r.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		var p webhook.Payload
		if err == nil {
			err = json.Unmarshal(body, &p)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		switch {
		case !webhook.Verify(secret, body, req.Header.Get("X-Authpool-Signature")):
			r.forged++
			w.WriteHeader(http.StatusUnauthorized)
		case err != nil:
			w.WriteHeader(http.StatusBadRequest)
		default:
			r.events[p.Event.Type]++
		}
	}))
	return r
}

// summary says what the receiver got.
func (r *receiver) summary() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var parts []string
	total := 0
	for _, t := range authpool.EventTypes {
		if n := r.events[t]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, t))
			total += n
		}
	}
	return fmt.Sprintf("The webhook received %d events (%s); %d with a bad signature.", total, strings.Join(parts, ", "), r.forged)
}

// price is a model's price in USD per million tokens. No request here goes
// past 200k tokens of context, so the long-context rates never apply.
type price struct{ input, output, cacheWrite, cacheRead float64 }

var prices = map[string]price{
	"claude-opus-4-5":   {5, 25, 6.25, 0.50},
	"claude-sonnet-4-5": {3, 15, 3.75, 0.30},
	"claude-haiku-4-5":  {1, 5, 1.25, 0.10},
}

func costUSD(model string, t authpool.Tokens) float64 {
	p := prices[model]
	return (float64(t.Input)*p.input + float64(t.Output)*p.output +
		float64(t.CacheWrite)*p.cacheWrite + float64(t.CacheRead)*p.cacheRead) / 1e6
}

// profile is a client's day: its main model, when it is at work, and at
// most how many requests it makes in a busy minute.
type profile struct {
	id     string
	model  string
	shifts string // "08:00-12:00 13:00-18:30"
	pace   int
}

var profiles = []profile{
	{"ada", "claude-opus-4-5", "08:00-12:00 13:00-18:30", 3},
	{"ben", "claude-sonnet-4-5", "08:05-17:30", 2},
	{"cleo", "claude-opus-4-5", "08:20-11:50 14:00-19:30", 2},
	{"dev", "claude-sonnet-4-5", "08:30-12:30 13:15-18:00", 3},
	{"eli", "claude-haiku-4-5", "09:00-17:00", 3},
	{"fay", "claude-sonnet-4-5", "09:10-13:00 14:00-19:00", 2},
	{"gus", "claude-opus-4-5", "09:30-12:15 13:00-16:45", 2},
	{"hana", "claude-sonnet-4-5", "10:00-18:00", 2},
	{"ivo", "claude-opus-4-5", "10:30-19:45", 1},
	{"jun", "claude-sonnet-4-5", "11:00-15:00 16:00-20:00", 2},
	{"kai", "claude-haiku-4-5", "12:00-19:00", 3},
	{"lea", "claude-opus-4-5", "13:00-20:00", 3},
}

// client is a profile at work: where the pool has it, and what it did.
type client struct {
	profile
	sub        string    // its subscription, "" without a session
	busy       bool      // working in a burst, or pausing
	next       time.Time // when the burst or pause ends
	requests   int
	cost       float64
	moves      int // on Allocate
	rebalanced int // by Rebalance
	fallbacks  int
	exhausted  int
	onShiftNow bool
}

// onShift reports whether t falls in one of the client's shifts.
func (c *client) onShift(t time.Time) bool {
	for _, s := range strings.Fields(c.shifts) {
		var h1, m1, h2, m2 int
		if _, err := fmt.Sscanf(s, "%d:%d-%d:%d", &h1, &m1, &h2, &m2); err != nil {
			panic(fmt.Sprintf("client %s: shift %q: %v", c.id, s, err))
		}
		day := t.Truncate(24 * time.Hour)
		from := day.Add(time.Duration(h1)*time.Hour + time.Duration(m1)*time.Minute)
		to := day.Add(time.Duration(h2)*time.Hour + time.Duration(m2)*time.Minute)
		if !t.Before(from) && t.Before(to) {
			return true
		}
	}
	return false
}

// sim is the day in progress.
type sim struct {
	ctx      context.Context
	pool     *authpool.Pool
	fallback *authpool.Fallback
	now      time.Time
	rng      *rand.Rand
	clients  []*client
	byID     map[string]*client
	closed   map[string]authpool.Reason // why each subscription takes no new clients; "" if it does
	served   map[string]int             // requests per subscription
	events   [][]string
	hourly   [][]string
	retried  int // responses recorded twice, as a retrying proxy might
}

func run(w io.Writer, configPath string) error {
	s := &sim{ctx: context.Background(), now: start, rng: rand.New(rand.NewPCG(2026, 1126)),
		byID: map[string]*client{}, closed: map[string]authpool.Reason{}, served: map[string]int{}}
	cfg, opts, hook, err := loadPool(configPath)
	if hook != nil {
		defer hook.server.Close()
	}
	if err != nil {
		return err
	}
	opts = append(opts, authpool.WithClock(func() time.Time { return s.now }))
	pool, err := authpool.New(s.ctx, cfg, opts...)
	if err != nil {
		return err
	}
	defer pool.Close(s.ctx)
	s.pool, s.fallback = pool, cfg.Fallback
	for _, p := range profiles {
		c := &client{profile: p}
		s.clients = append(s.clients, c)
		s.byID[c.id] = c
	}
	if err := s.printPool(w); err != nil {
		return err
	}
	for ; !s.now.After(end); s.now = s.now.Add(time.Minute) {
		if err := s.minute(); err != nil {
			return fmt.Errorf("at %s: %w", hhmm(s.now), err)
		}
	}
	s.now = end
	snap, err := pool.Snapshot(s.ctx)
	if err != nil {
		return err
	}
	if err := s.printDay(w, snap); err != nil {
		return err
	}
	if hook != nil {
		if err := pool.Close(s.ctx); err != nil { // delivers the events still queued
			return err
		}
		fmt.Fprintln(w, hook.summary())
	}
	return nil
}

// minute runs one simulated minute: the upstream's 429, every client's
// work, Rebalance, and a look at the pool.
func (s *sim) minute() error {
	if s.now.Equal(limitAt) {
		if err := s.pool.MarkLimited(s.ctx, "max-20x", limitUntil, "upstream 429: usage limit reached"); err != nil {
			return err
		}
	}
	if _, err := s.observe(); err != nil { // a limit just set; a limit or block just over
		return err
	}
	for _, c := range s.clients {
		if err := s.step(c); err != nil {
			return fmt.Errorf("client %s: %w", c.id, err)
		}
	}
	if s.now.Sub(start)%rebalanceEvery == 0 {
		if err := s.rebalance(); err != nil {
			return err
		}
	}
	snap, err := s.observe() // budgets spent
	if err == nil && s.now.Minute() == 0 {
		s.hourly = append(s.hourly, hourRow(snap))
	}
	return err
}

// step is one minute of a client: arrive or leave, pause, or work.
func (s *sim) step(c *client) error {
	on := c.onShift(s.now)
	if on != c.onShiftNow {
		c.onShiftNow, c.busy, c.next = on, false, s.now
		if !on && c.sub != "" {
			if err := s.pool.Release(s.ctx, c.id); err != nil {
				return err
			}
			s.event(c.id, "left", c.sub, "", "end of shift (Release)")
			c.sub = ""
		}
	}
	if !on {
		return nil
	}
	if !s.now.Before(c.next) { // a burst or a pause is over
		c.busy = !c.busy
		if c.busy {
			c.next = s.now.Add(time.Duration(10+s.rng.IntN(30)) * time.Minute)
		} else {
			c.next = s.now.Add(time.Duration(3+s.rng.IntN(30)) * time.Minute)
		}
	}
	if !c.busy {
		return nil
	}
	a, err := s.pool.Allocate(s.ctx, c.id)
	var ex *authpool.ExhaustedError
	if errors.As(err, &ex) {
		c.exhausted++
		c.busy, c.next = false, ex.RetryAt
		if ex.RetryAt.IsZero() {
			c.next = s.now.Add(15 * time.Minute)
		}
		s.event(c.id, "exhausted", c.sub, "", fmt.Sprintf("waits until %s (%s)", hhmm(c.next), reasons(ex.Reasons)))
		return nil
	} else if err != nil {
		return err
	}
	s.placed(c, a)
	for range 1 + s.rng.IntN(c.pace) {
		if err := s.request(c, a.SubscriptionID); err != nil {
			return err
		}
	}
	return nil
}

// placed logs where Allocate put a client when that is news.
func (s *sim) placed(c *client, a authpool.Allocation) {
	switch a.Outcome {
	case authpool.OutcomeNew:
		s.event(c.id, "new", "", a.SubscriptionID, string(a.Reason))
	case authpool.OutcomeMoved:
		c.moves++
		s.event(c.id, "moved", a.From, a.SubscriptionID, string(a.Reason))
	case authpool.OutcomeFallback:
		if c.sub != authpool.FallbackID {
			c.fallbacks++
			s.event(c.id, "fallback", a.From, a.SubscriptionID, string(a.Reason))
		}
	}
	c.sub = a.SubscriptionID
}

// request makes one simulated request on sub and records its cost.
func (s *sim) request(c *client, sub string) error {
	model := c.model
	if s.rng.IntN(5) == 0 {
		model = "claude-haiku-4-5" // a sub-agent's small task
	}
	t := authpool.Tokens{
		Input:      50 + s.rng.Int64N(2_000),
		Output:     100 + s.rng.Int64N(3_000),
		CacheWrite: s.rng.Int64N(8_000),
		CacheRead:  20_000 + s.rng.Int64N(120_000),
	}
	u := authpool.Usage{ID: s.messageID(), SubscriptionID: sub, Time: s.now, CostUSD: costUSD(model, t), Tokens: t, Model: model}
	if err := s.pool.Record(s.ctx, c.id, u); err != nil {
		return err
	}
	c.requests++
	c.cost += u.CostUSD
	s.served[sub]++
	if s.rng.IntN(100) == 0 { // the response arrives twice: the pool counts it once
		s.retried++
		return s.pool.Record(s.ctx, c.id, u)
	}
	return nil
}

// messageID returns an ID shaped like the Messages API's.
func (s *sim) messageID() string {
	return fmt.Sprintf("msg_01%016x%06x", s.rng.Uint64(), s.rng.IntN(1<<24))
}

// rebalance runs Rebalance and logs its moves and releases.
func (s *sim) rebalance() error {
	r, err := s.pool.Rebalance(s.ctx)
	if err != nil {
		return err
	}
	for _, rel := range r.Released {
		s.event(rel.ClientID, "stale", rel.SubscriptionID, "", "idle since "+hhmm(rel.LastActive)+": Rebalance released it")
		s.byID[rel.ClientID].sub = ""
	}
	for _, m := range r.Moves {
		c := s.byID[m.ClientID]
		c.sub = m.To
		c.rebalanced++
		s.event(m.ClientID, "rebalanced", m.From, m.To, fmt.Sprintf("idle; %s: $%.2f of $%.2f vs $%.2f of $%.2f",
			m.Reason, m.FromBlockUSD, m.FromBudgetUSD, m.ToBlockUSD, m.ToBudgetUSD))
	}
	return nil
}

// observe takes a snapshot and logs every subscription that stopped or
// started taking new clients.
func (s *sim) observe() (authpool.Snapshot, error) {
	snap, err := s.pool.Snapshot(s.ctx)
	if err != nil {
		return snap, err
	}
	for _, st := range all(snap) {
		was := s.closed[st.ID]
		if st.Ineligible == was {
			continue
		}
		s.closed[st.ID] = st.Ineligible
		switch st.Ineligible {
		case "":
			s.event("", "open", st.ID, "", "takes clients again (was "+string(was)+")")
		case authpool.ReasonLimited:
			s.event("", "limited", st.ID, "", fmt.Sprintf("until %s: %s", hhmm(st.Status.Until), st.Status.Reason))
		case authpool.ReasonDaySpent:
			s.event("", "closed", st.ID, "", fmt.Sprintf("%s: %s", st.Ineligible, use(*st.Day)))
		case authpool.ReasonBlockSpent:
			s.event("", "closed", st.ID, "", fmt.Sprintf("%s: %s; block ends %s", st.Ineligible, use(st.Block), hhmm(st.Block.End)))
		default:
			s.event("", "closed", st.ID, "", string(st.Ineligible))
		}
	}
	return snap, nil
}

// all returns the snapshot's subscriptions followed by the fallback.
func all(snap authpool.Snapshot) []authpool.SubscriptionStatus {
	subs := snap.Subscriptions
	if snap.Fallback != nil {
		subs = append(subs[:len(subs):len(subs)], *snap.Fallback)
	}
	return subs
}

func (s *sim) event(clientID, what, from, to, why string) {
	s.events = append(s.events, []string{hhmm(s.now), what, clientID, from, to, why})
}

// hourRow is one line of the hourly table: each subscription's health (or
// why it takes no one), block use and clients; the fallback's day.
func hourRow(snap authpool.Snapshot) []string {
	row := []string{hhmm(snap.Time)}
	for _, st := range snap.Subscriptions {
		health := fmt.Sprintf("%3.0f", st.Health)
		switch st.Ineligible {
		case authpool.ReasonLimited:
			health = "limited"
		case authpool.ReasonBlockSpent:
			health = "spent"
		}
		row = append(row, health, fmt.Sprintf("%4.0f%%", st.Block.Percent), fmt.Sprint(st.Clients))
	}
	if fb := snap.Fallback; fb != nil {
		row = append(row, fmt.Sprintf("$%5.2f", fb.Day.CostUSD), fmt.Sprint(fb.Clients))
	}
	return row
}

// printPool prints the pool as configured: the credentials show redacted.
func (s *sim) printPool(w io.Writer) error {
	subs, err := s.pool.Subscriptions(s.ctx)
	if err != nil {
		return err
	}
	rows := [][]string{{"SUBSCRIPTION", "KIND", "CREDENTIAL", "BLOCK BUDGET", "WEEKLY BUDGET", "MAX CLIENTS"}}
	for _, sub := range subs {
		rows = append(rows, []string{sub.ID, string(sub.Kind), fmt.Sprint(sub.Credential),
			money(sub.BlockBudgetUSD), money(sub.WeeklyBudgetUSD), fmt.Sprint(sub.MaxClients)})
	}
	if fb := s.fallback; fb != nil {
		rows = append(rows, []string{authpool.FallbackID, string(authpool.KindAPI), fmt.Sprint(fb.Credential),
			money(fb.DailyBudgetUSD) + " a day", "", ""})
	}
	fmt.Fprintf(w, "A simulated day, %s to %s UTC: %d clients, Rebalance every %v, max-20x limited %s-%s.\n",
		start.Format("2006-01-02 15:04"), hhmm(end), len(s.clients), rebalanceEvery, hhmm(limitAt), hhmm(limitUntil))
	return table(w, "Pool", rows)
}

// printDay prints the event log, the hourly health and the day's summary.
func (s *sim) printDay(w io.Writer, snap authpool.Snapshot) error {
	head, sub := []string{"HOUR"}, []string{""}
	for _, st := range snap.Subscriptions {
		head = append(head, st.ID, "", "")
		sub = append(sub, "health", "block", "clients")
	}
	head, sub = append(head, authpool.FallbackID, ""), append(sub, "today", "clients")
	for _, t := range []struct {
		title string
		rows  [][]string
	}{
		{"Events", append([][]string{{"TIME", "EVENT", "CLIENT", "FROM", "TO", "WHY"}}, s.events...)},
		{"Health every hour (block: share of the 5-hour block budget spent)", append([][]string{head, sub}, s.hourly...)},
		{"End of day: subscriptions", s.subscriptionRows(snap)},
		{"End of day: clients", s.clientRows()},
	} {
		if err := table(w, t.title, t.rows); err != nil {
			return err
		}
	}
	var moves, rebalanced, fallbacks, exhausted int
	for _, c := range s.clients {
		moves, rebalanced = moves+c.moves, rebalanced+c.rebalanced
		fallbacks, exhausted = fallbacks+c.fallbacks, exhausted+c.exhausted
	}
	_, err := fmt.Fprintf(w, "\nFallback spend %s. Moves: %d on Allocate, %d by Rebalance. Fallbacks: %d. "+
		"Waits on ErrExhausted: %d.\nResponses recorded twice: %d; the pool counted each once (DuplicateRecords = %d).\n",
		money(snap.Fallback.Day.CostUSD), moves, rebalanced, fallbacks, exhausted, s.retried, snap.DuplicateRecords)
	return err
}

// subscriptionRows sums up each subscription and the fallback.
func (s *sim) subscriptionRows(snap authpool.Snapshot) [][]string {
	rows := [][]string{{"SUBSCRIPTION", "REQUESTS", "COST", "BLOCK NOW", "WEEK", "HEALTH", "STATUS"}}
	for _, st := range all(snap) {
		block, week, health, status := use(st.Block), use(st.Week), fmt.Sprintf("%3.0f", st.Health), "active"
		if !st.Block.Start.IsZero() {
			block += " since " + hhmm(st.Block.Start)
		}
		if st.Day != nil { // the fallback: a daily cap, no block, week or health
			block, week, health = "today "+use(*st.Day), "", "  -"
		}
		if st.Ineligible != "" {
			status = string(st.Ineligible)
		}
		rows = append(rows, []string{st.ID, fmt.Sprintf("%5d", s.served[st.ID]), money(st.Week.CostUSD),
			block, week, health, status})
	}
	return rows
}

// clientRows sums up each client.
func (s *sim) clientRows() [][]string {
	rows := [][]string{{"CLIENT", "MODEL", "SHIFTS", "REQUESTS", "COST", "MOVED", "REBALANCED", "FALLBACKS", "EXHAUSTED"}}
	var total float64
	for _, c := range s.clients {
		total += c.cost
		rows = append(rows, []string{c.id, c.model, c.shifts, fmt.Sprintf("%5d", c.requests), money(c.cost),
			fmt.Sprint(c.moves), fmt.Sprint(c.rebalanced), fmt.Sprint(c.fallbacks), fmt.Sprint(c.exhausted)})
	}
	return append(rows, []string{"all", "", "", "", money(total)})
}

// reasons lists an ExhaustedError's reasons, e.g. "2 block budget spent, 1 limited".
func reasons(m map[authpool.Reason]int) string {
	var parts []string
	for r, n := range m {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func use(u authpool.UsageWindow) string {
	return fmt.Sprintf("%s of %s (%3.0f%%)", money(u.CostUSD), money(u.BudgetUSD), u.Percent)
}

func money(usd float64) string { return fmt.Sprintf("$%.2f", usd) }

func hhmm(t time.Time) string { return t.UTC().Format("15:04") }

func table(w io.Writer, title string, rows [][]string) error {
	fmt.Fprintf(w, "\n%s\n\n", title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		for len(r) > 0 && r[len(r)-1] == "" { // no padding at the end of a line
			r = r[:len(r)-1]
		}
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}
