package authpool_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/bounds"
	"github.com/authpool/authpool/store"
	"github.com/google/go-cmp/cmp"
)

// allocModel is a pool under test and what the API says it must hold.
type allocModel struct {
	t        *testing.T
	ctx      context.Context
	clk      *clock
	p        *authpool.Pool
	max      map[string]int                         // subscription -> MaxClients (0 for the fallback: no maximum)
	creds    map[string]authpool.Credential         // subscription -> credential
	sessions map[string]string                      // client -> subscription, as of the last check
	costs    map[string]store.Nanodollars           // client -> its session's cost
	billed   map[string]map[int64]store.Nanodollars // subscription -> hour -> cost counted
	newest   map[string]int64                       // subscription -> newest hour billed
	counted  map[string]time.Time                   // usage ID -> the time of the usage last counted with it
	status   map[string]authpool.Status             // subscription -> the status last set
}

// allocRemember is how long after its usage's time the pool of
// FuzzAllocateRecord remembers a usage ID.
const allocRemember = 2 * time.Hour

func newAllocModel(t *testing.T) *allocModel {
	clk := newClock(t0)
	cfg := authpool.Config{
		Subscriptions: []authpool.Subscription{
			sub("s-a", budgets(100, 10), maxClients(1)),
			sub("s-b", maxClients(2)),
			sub("s-c", budgets(5, 0), maxClients(1)),
		},
		Fallback:         &authpool.Fallback{Credential: authpool.Credential(secret + "-fallback"), DailyBudgetUSD: 20},
		RememberUsageIDs: authpool.Duration(allocRemember),
		Rebalance:        authpool.RebalancePolicy{MinGapUSD: 0.5},
	}
	m := &allocModel{
		t: t, ctx: context.Background(), clk: clk, p: newPool(t, cfg, clk),
		max:      map[string]int{authpool.FallbackID: 0},
		creds:    map[string]authpool.Credential{authpool.FallbackID: cfg.Fallback.Credential},
		sessions: map[string]string{},
		costs:    map[string]store.Nanodollars{},
		billed:   map[string]map[int64]store.Nanodollars{},
		newest:   map[string]int64{},
		counted:  map[string]time.Time{},
		status:   map[string]authpool.Status{},
	}
	for _, s := range cfg.Subscriptions {
		m.max[s.ID], m.creds[s.ID] = s.MaxClients, s.Credential
	}
	m.check(change{})
	return m
}

// allocClients are the client IDs the fuzzer picks from: five valid, then
// three that Allocate, Record and Release refuse.
var allocClients = []string{"c0", "c1", "c2", "c3", "c4", "", "tab\tid", strings.Repeat("x", bounds.MaxIDLength+1)}

func validClient(id string) bool {
	return id != "" && len(id) <= bounds.MaxIDLength && !strings.ContainsAny(id, "\t")
}

// validText reports whether an optional ID-like field is text Record
// takes: valid UTF-8 without control characters, at most MaxIDLength bytes.
func validText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl) && len(s) <= bounds.MaxIDLength
}

// change is what one step may do to the sessions: which client may gain,
// lose or move its session, and what a Rebalance reported.
type change struct {
	client    string // the client of an Allocate or Release
	allocated *authpool.Allocation
	released  bool
	rebalance *authpool.RebalanceReport
}

func (m *allocModel) step(in *fuzzInput) {
	t := m.t
	switch op := in.byte() % 8; op {
	case 0, 5: // Allocate
		client := allocClients[int(in.byte())%len(allocClients)]
		a, err := m.p.Allocate(m.ctx, client)
		switch {
		case !validClient(client):
			if !errors.Is(err, authpool.ErrInvalidArgument) {
				t.Fatalf("Allocate(%q) = %+v, %v; want ErrInvalidArgument", client, a, err)
			}
			m.check(change{})
			return
		case err != nil:
			var e *authpool.ExhaustedError
			if !errors.Is(err, authpool.ErrExhausted) || !errors.As(err, &e) || e.ClientID != client {
				t.Fatalf("Allocate(%q) = %v; want success or an *ExhaustedError for it", client, err)
			}
			m.check(change{client: client})
			return
		}
		if cred, ok := m.creds[a.SubscriptionID]; !ok || a.Credential != cred || a.ClientID != client {
			t.Fatalf("Allocate(%q) = %+v: not the client, or not a subscription of the pool with its credential", client, a)
		}
		if st := m.status[a.SubscriptionID]; !st.InService(m.clk.Now()) {
			t.Fatalf("Allocate(%q) at %v = %+v, a subscription out of service (%+v)", client, m.clk.Now(), a, st)
		}
		m.check(change{client: client, allocated: &a})
	case 1: // Record
		m.record(in, false)
	case 7: // Charge
		m.record(in, true)
	case 6: // Disable, Enable, MarkLimited
		m.setStatus(in)
	case 2: // Release
		client := allocClients[int(in.byte())%len(allocClients)]
		err := m.p.Release(m.ctx, client)
		if validClient(client) != (err == nil) || (err != nil && !errors.Is(err, authpool.ErrInvalidArgument)) {
			t.Fatalf("Release(%q) = %v; want nil for a valid ID, else ErrInvalidArgument", client, err)
		}
		m.check(change{client: client, released: err == nil})
	case 3: // Rebalance
		r, err := m.p.Rebalance(m.ctx)
		if err != nil {
			t.Fatalf("Rebalance: %v", err)
		}
		m.check(change{rebalance: &r})
	case 4: // the clock moves
		now := m.clk.Now()
		switch in.byte() % 8 {
		case 0:
			m.clk.Advance(time.Duration(in.byte()) * time.Minute)
		case 1:
			m.clk.Advance(-time.Duration(in.byte()) * time.Minute)
		case 2:
			m.clk.Advance(time.Duration(in.int32()) * time.Second)
		case 3:
			m.clk.Advance(8 * 24 * time.Hour)
		case 4:
			m.clk.Advance(-8 * 24 * time.Hour)
		case 5:
			m.clk.Set(now.AddDate(100, 0, 0))
		case 6:
			m.clk.Set(now.AddDate(-100, 0, 0))
		case 7:
			m.clk.Set(t0)
		}
		m.check(change{})
	}
}

// allocSubs are the subscription IDs the fuzzer picks from for Charge,
// Disable, Enable and MarkLimited: the pool's, then one it does not have.
var allocSubs = []string{"s-a", "s-b", "s-c", authpool.FallbackID, "nope"}

// setStatus disables, enables or marks limited a subscription decoded from
// in (until at times after now, or not) and checks the answer.
func (m *allocModel) setStatus(in *fuzzInput) {
	t := m.t
	now := m.clk.Now()
	id := allocSubs[int(in.byte())%len(allocSubs)]
	var err error
	st := authpool.Status{State: authpool.Active}
	switch in.byte() % 3 {
	case 0:
		err = m.p.Disable(m.ctx, id, "fuzz")
		st = authpool.Status{State: authpool.Disabled, Reason: "fuzz"}
	case 1:
		err = m.p.Enable(m.ctx, id)
	case 2:
		until := []time.Time{now.Add(time.Nanosecond), now.Add(30 * time.Minute), now.Add(6 * time.Hour),
			now.AddDate(100, 0, 0), now, now.Add(-time.Hour)}[in.byte()%6]
		err = m.p.MarkLimited(m.ctx, id, until, "fuzz")
		st = authpool.Status{State: authpool.Limited, Until: until.UTC(), Reason: "fuzz"}
		if !until.After(now) {
			if !errors.Is(err, authpool.ErrInvalidArgument) {
				t.Fatalf("MarkLimited(%s, %v) at %v = %v; want ErrInvalidArgument", id, until, now, err)
			}
			m.check(change{})
			return
		}
	}
	switch {
	case id == "nope":
		if !errors.Is(err, authpool.ErrNotFound) {
			t.Fatalf("setting %s to %+v = %v; want ErrNotFound", id, st, err)
		}
	case err != nil:
		t.Fatalf("setting %s to %+v: %v", id, st, err)
	default:
		m.status[id] = st
	}
	m.check(change{})
}

// record records a usage decoded from in, for a client or, with charge,
// for a subscription with Charge, and checks the answer.
func (m *allocModel) record(in *fuzzInput, charge bool) {
	t := m.t
	now := m.clk.Now()
	weekStart := store.HourStart(store.HourOf(now) - store.WeekHours + 1)
	var client string // or, with charge, the subscription
	if charge {
		client = allocSubs[int(in.byte())%len(allocSubs)]
	} else {
		client = allocClients[int(in.byte())%len(allocClients)]
	}
	u := authpool.Usage{Model: "claude-sonnet-4-5"}
	u.ID = []string{"", "msg_1", "msg_2", "msg_3", "msg\x7f", strings.Repeat("m", bounds.MaxIDLength+1)}[in.byte()%6]
	switch in.byte() % 13 {
	case 0:
		u.CostUSD = 0
	case 1:
		u.CostUSD = 1e-9
	case 2:
		u.CostUSD = 4e-10 // rounds to nothing
	case 3:
		u.CostUSD = 0.25
	case 4:
		u.CostUSD = 12.5
	case 5:
		u.CostUSD = store.MaxUSD
	case 6:
		u.CostUSD = math.Nextafter(store.MaxUSD, math.Inf(1))
	case 7:
		u.CostUSD = math.NaN()
	case 8:
		u.CostUSD = math.Inf(1)
	case 9:
		u.CostUSD = math.Inf(-1)
	case 10:
		u.CostUSD = -0.01
	case 11:
		u.CostUSD = math.Float64frombits(in.uint64())
	case 12:
		u.CostUSD = math.Copysign(0, -1)
	}
	switch in.byte() % 11 {
	case 0: // the zero time
	case 1:
		u.Time = now
	case 2:
		u.Time = now.Add(bounds.MaxClockSkew)
	case 3:
		u.Time = now.Add(bounds.MaxClockSkew + time.Nanosecond)
	case 4:
		u.Time = weekStart
	case 5:
		u.Time = weekStart.Add(-time.Nanosecond)
	case 6:
		u.Time = time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)
	case 7:
		u.Time = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	case 8:
		u.Time = now.Add(time.Duration(in.int32()) * time.Second)
	case 9:
		u.Time = now.Add(-time.Duration(in.byte()) * time.Hour)
	case 10:
		u.Time = now.Add(-time.Duration(in.byte()) * time.Minute).In(time.FixedZone("X", -7*3600))
	}
	tokens := []int64{0, 1200, bounds.MaxTokens, bounds.MaxTokens + 1, -1}
	u.Tokens = authpool.Tokens{Input: tokens[in.byte()%5], Output: 640, CacheRead: tokens[in.byte()%5]}
	if in.byte()%5 == 4 {
		u.Model = "m\xff"
	}
	u.SubscriptionID = []string{"", "", "", "s-b", "nope", authpool.FallbackID}[in.byte()%6]
	u.CacheTTL = []time.Duration{0, 0, 5 * time.Minute, time.Hour, bounds.MaxCacheTTL + 1, -1}[in.byte()%6]

	// What the Usage and Record docs refuse.
	cost, costErr := store.FromUSD(u.CostUSD)
	tokensOK := true
	for _, n := range []int64{u.Tokens.Input, u.Tokens.Output, u.Tokens.CacheWrite, u.Tokens.CacheRead} {
		tokensOK = tokensOK && n >= 0 && n <= bounds.MaxTokens
	}
	invalid := costErr != nil || !tokensOK || u.Time.IsZero() || u.Time.Sub(now) > bounds.MaxClockSkew ||
		u.Time.Before(weekStart) || !validText(u.ID) || !validText(u.Model) || u.CacheTTL < 0 || u.CacheTTL > bounds.MaxCacheTTL
	// A usage ID is remembered while its usage's time is after now -
	// allocRemember, and may be after (the store forgets lazily); the few
	// IDs of a run never fill the store's memory.
	cut := now.Add(-allocRemember)
	ut := u.Time
	if ut.After(now) {
		ut = now // a usage from a clock ahead counts now
	}
	prior, counted := m.counted[u.ID]
	counted = counted && u.ID != ""

	before, dupsBefore := snapshot(t, m.p), m.p.Stats().DuplicateRecords
	var err error
	if charge {
		err = m.p.Charge(m.ctx, client, u)
		u.SubscriptionID = client // Charge ignores the usage's
	} else {
		err = m.p.Record(m.ctx, client, u)
	}
	after := snapshot(t, m.p)
	dup := m.p.Stats().DuplicateRecords != dupsBefore
	where := func() string {
		return "Record(" + client + ", " + describeUsage(u) + ") at " + now.Format(time.RFC3339Nano)
	}
	switch {
	case !validClient(client):
		if !errors.Is(err, authpool.ErrInvalidArgument) {
			t.Fatalf("%s = %v; want ErrInvalidArgument", where(), err)
		}
	case invalid:
		if !errors.Is(err, authpool.ErrInvalidArgument) {
			t.Fatalf("%s = %v; want ErrInvalidArgument", where(), err)
		}
	case u.SubscriptionID == "nope":
		if !errors.Is(err, authpool.ErrNotFound) {
			t.Fatalf("%s = %v; want ErrNotFound", where(), err)
		}
	case err == nil:
	case errors.Is(err, authpool.ErrUsageTooOld):
		if u.ID == "" || ut.After(cut) {
			t.Fatalf("%s = %v, but its time is after now - %v", where(), err, allocRemember)
		}
	case errors.Is(err, authpool.ErrUnknownClient) && !charge:
		if _, ok := m.sessions[client]; ok {
			t.Fatalf("%s = %v, but the client has a session on %s", where(), err, m.sessions[client])
		}
	case errors.Is(err, authpool.ErrNotFound) && u.SubscriptionID == authpool.FallbackID:
	default:
		t.Fatalf("%s = %v; want a documented error", where(), err)
	}
	if err != nil || dup {
		if err == nil && !counted {
			t.Fatalf("%s was refused as a duplicate, but its ID was never counted", where())
		}
		if err != nil && dup {
			t.Fatalf("%s = %v and counted a duplicate", where(), err)
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Fatalf("%s = %v changed the pool (-before +after):\n%s", where(), err, diff)
		}
		m.check(change{})
		return
	}
	if invalid || (!charge && !validClient(client)) {
		t.Fatalf("%s counted a usage it should refuse", where())
	}
	if counted && prior.After(cut) {
		t.Fatalf("%s counted ID %q again, though its usage at %v is within %v", where(), u.ID, prior.Format(time.RFC3339Nano), allocRemember)
	}
	if u.ID != "" && !ut.After(cut) {
		t.Fatalf("%s counted a usage with an ID at or before now - %v", where(), allocRemember)
	}
	if u.ID != "" {
		m.counted[u.ID] = ut
	}
	subID := u.SubscriptionID
	if subID == "" {
		var ok bool
		if subID, ok = m.sessions[client]; !ok {
			t.Fatalf("%s counted a usage for a client without a session", where())
		}
	}
	if !charge {
		m.costs[client] += cost
	}
	hour := store.HourOf(u.Time)
	if u.Time.After(now) {
		hour = store.HourOf(now) // within the skew: counted now
	}
	if m.billed[subID] == nil {
		m.billed[subID] = map[int64]store.Nanodollars{}
	}
	m.billed[subID][hour] += cost
	if n, ok := m.newest[subID]; !ok || hour > n {
		m.newest[subID] = hour
	}
	m.check(change{})
}

// describeUsage prints a usage for a failure message.
func describeUsage(u authpool.Usage) string { return fmt.Sprintf("%+v", u) }

// check compares the pool's snapshot with the model after a step that made
// the change c.
func (m *allocModel) check(c change) {
	t := m.t
	s := snapshot(t, m.p)
	now := m.clk.Now()
	moved := map[string]string{}
	released := map[string]bool{}
	if r := c.rebalance; r != nil {
		for _, mv := range r.Moves {
			if m.sessions[mv.ClientID] != mv.From {
				t.Fatalf("Rebalance moved %s from %s, but it was on %q", mv.ClientID, mv.From, m.sessions[mv.ClientID])
			}
			moved[mv.ClientID] = mv.To
		}
		for _, rl := range r.Released {
			if m.sessions[rl.ClientID] != rl.SubscriptionID {
				t.Fatalf("Rebalance released %s from %s, but it was on %q", rl.ClientID, rl.SubscriptionID, m.sessions[rl.ClientID])
			}
			released[rl.ClientID] = true
		}
	}
	clients, holding := map[string]int{}, map[string]int{}
	now2 := map[string]string{}
	for _, ss := range s.Sessions {
		if _, ok := now2[ss.ClientID]; ok {
			t.Fatalf("client %s has two sessions: %+v", ss.ClientID, s.Sessions)
		}
		now2[ss.ClientID] = ss.SubscriptionID
		clients[ss.SubscriptionID]++
		if ss.HoldUntil.After(now) {
			holding[ss.SubscriptionID]++
		}
		if _, ok := m.creds[ss.SubscriptionID]; !ok {
			t.Fatalf("session %+v on a subscription the pool does not have", ss)
		}
		was, had := m.sessions[ss.ClientID]
		switch {
		case !had && (c.allocated == nil || c.client != ss.ClientID):
			t.Fatalf("client %s got a session on %s without an Allocate", ss.ClientID, ss.SubscriptionID)
		case !had:
			m.costs[ss.ClientID] = 0
		case was != ss.SubscriptionID && c.client != ss.ClientID && moved[ss.ClientID] != ss.SubscriptionID:
			t.Fatalf("client %s moved from %s to %s by itself", ss.ClientID, was, ss.SubscriptionID)
		}
		if c.allocated != nil && c.client == ss.ClientID && c.allocated.SubscriptionID != ss.SubscriptionID {
			t.Fatalf("Allocate(%s) returned %s, but the session is on %s", ss.ClientID, c.allocated.SubscriptionID, ss.SubscriptionID)
		}
		if got, want := ss.CostUSD, m.costs[ss.ClientID].USD(); got != want {
			t.Fatalf("session of %s holds $%v, want the $%v recorded for it", ss.ClientID, got, want)
		}
	}
	for client, sub := range m.sessions {
		if _, ok := now2[client]; !ok && !released[client] && !(c.client == client && (c.released || c.allocated == nil)) {
			t.Fatalf("client %s lost its session on %s without a Release", client, sub)
		}
		if _, ok := now2[client]; !ok {
			delete(m.costs, client)
		}
	}
	if c.allocated != nil {
		if _, ok := now2[c.client]; !ok {
			t.Fatalf("Allocate(%s) succeeded, but the client has no session", c.client)
		}
	}
	if c.released {
		if _, ok := now2[c.client]; ok {
			t.Fatalf("Release(%s) left its session", c.client)
		}
	}
	m.sessions = now2

	statuses := s.Subscriptions
	if s.Fallback != nil {
		statuses = append(statuses[:len(statuses):len(statuses)], *s.Fallback)
	}
	h := store.HourOf(now)
	for _, st := range statuses {
		if st.Clients != clients[st.ID] {
			t.Fatalf("%s counts %d clients, but %d sessions are on it", st.ID, st.Clients, clients[st.ID])
		}
		// The clock moves back and forth: a hold the store dropped at a
		// later now is over, though its session's HoldUntil may be after
		// an earlier one.
		if max := m.max[st.ID]; max > 0 && st.ActiveClients > max || st.ActiveClients > holding[st.ID] {
			t.Fatalf("at %v %d clients of %s hold a slot (%d sessions say they do), more than its maximum %d",
				now, st.ActiveClients, st.ID, holding[st.ID], m.max[st.ID])
		}
		if want := m.status[st.ID]; want.InService(now) != st.Status.InService(now) ||
			(!want.InService(now) && (st.Status.State != want.State || !st.Status.Until.Equal(want.Until))) {
			t.Fatalf("at %v %s has status %+v, want %+v", now, st.ID, st.Status, want)
		}
		var want store.Nanodollars
		for hour, cost := range m.billed[st.ID] {
			if hour > h-store.WeekHours && hour <= h && hour > m.newest[st.ID]-store.WeekHours {
				want += cost
			}
		}
		if st.Week.CostUSD != want.USD() {
			t.Fatalf("at %v %s's week holds $%v, want $%v (billed by hour: %v)", now, st.ID, st.Week.CostUSD, want.USD(), m.billed[st.ID])
		}
	}
}
