package authpool_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/bounds"
	"github.com/authpool/authpool/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRecordCountsInTheSessionAndTheSubscription(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a", budgets(1000, 100))), clk)
	allocate(t, p, "alice")
	usages := []authpool.Usage{
		{ID: "msg_1", Time: t0, CostUSD: 0.5, Tokens: authpool.Tokens{Input: 100, Output: 50, CacheWrite: 10, CacheRead: 1000}, Model: "claude-opus-4-1"},
		{ID: "msg_2", Time: t0.Add(-2 * time.Hour), CostUSD: 1.25, Tokens: authpool.Tokens{Input: 1, Output: 2}, Model: "claude-sonnet-4-5"},
		{Time: t0, CostUSD: 0.000000001},
	}
	for _, u := range usages {
		if err := p.Record(ctx, "alice", u); err != nil {
			t.Fatalf("Record(%+v): %v", u, err)
		}
	}
	s := snapshot(t, p)
	got, _ := session(s, "alice")
	want := authpool.SessionStatus{ClientID: "alice", SubscriptionID: "s-a",
		Created: t0, Assigned: t0, LastActive: t0, Requests: 3, CostUSD: 1.750000001,
		Tokens:    authpool.Tokens{Input: 101, Output: 52, CacheWrite: 10, CacheRead: 1000},
		Model:     "", // the latest usage's model
		HoldUntil: t0.Add(defaultIdleAfter),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("session (-want +got):\n%s", diff)
	}
	if week := status(t, s, "s-a").Week.CostUSD; week != 1.750000001 {
		t.Errorf("week cost = %v, want 1.750000001 to the nanodollar", week)
	}
}

func TestRecordRefusesBadInputAndChangesNothing(t *testing.T) {
	ctx := context.Background()
	ok := func(edit func(u *authpool.Usage)) authpool.Usage {
		u := authpool.Usage{ID: "msg_x", Time: t0, CostUSD: 1, Tokens: authpool.Tokens{Input: 1}, Model: "claude-sonnet-4-5"}
		edit(&u)
		return u
	}
	tests := []struct {
		name   string
		client string
		u      authpool.Usage
		is     error
		says   []string // the field and the value
	}{
		{"a negative cost", "alice", ok(func(u *authpool.Usage) { u.CostUSD = -1 }), authpool.ErrInvalidArgument, []string{"costUSD", "-1"}},
		{"a NaN cost", "alice", ok(func(u *authpool.Usage) { u.CostUSD = math.NaN() }), authpool.ErrInvalidArgument, []string{"costUSD", "NaN"}},
		{"an infinite cost", "alice", ok(func(u *authpool.Usage) { u.CostUSD = math.Inf(1) }), authpool.ErrInvalidArgument, []string{"costUSD", "+Inf"}},
		{"a cost above MaxUSD", "alice", ok(func(u *authpool.Usage) { u.CostUSD = store.MaxUSD + 1 }), authpool.ErrInvalidArgument,
			[]string{"costUSD", "1.000001e+06"}},
		{"negative tokens", "alice", ok(func(u *authpool.Usage) { u.Tokens.CacheRead = -3 }), authpool.ErrInvalidArgument,
			[]string{"tokens.cacheRead", "-3"}},
		{"tokens above MaxTokens", "alice", ok(func(u *authpool.Usage) { u.Tokens.Input = bounds.MaxTokens + 1 }), authpool.ErrInvalidArgument,
			[]string{"tokens.input", "1099511627777"}},
		{"a zero time", "alice", ok(func(u *authpool.Usage) { u.Time = time.Time{} }), authpool.ErrInvalidArgument, []string{"time", "zero"}},
		{"a time more than MaxClockSkew ahead", "alice", ok(func(u *authpool.Usage) { u.Time = t0.Add(time.Minute + bounds.MaxClockSkew + time.Second) }),
			authpool.ErrInvalidArgument, []string{"time", "2026-11-26 12:36:01"}},
		{"a time older than the week", "alice", ok(func(u *authpool.Usage) { u.Time = t0.Add(-168 * time.Hour) }),
			authpool.ErrInvalidArgument, []string{"time", "2026-11-19 12:30:00"}},
		{"a model with a control character", "alice", ok(func(u *authpool.Usage) { u.Model = "claude\x1b[31m" }),
			authpool.ErrInvalidArgument, []string{"model", `"claude\x1b[31m"`}},
		{"an unknown client", "nobody", ok(func(*authpool.Usage) {}), authpool.ErrUnknownClient, []string{`"nobody"`}},
		{"an empty client ID", "", ok(func(*authpool.Usage) {}), authpool.ErrInvalidArgument, []string{"client ID", "empty"}},
		{"a client ID longer than MaxIDLength", strings.Repeat("c", bounds.MaxIDLength+1), ok(func(*authpool.Usage) {}),
			authpool.ErrInvalidArgument, []string{"client ID", "257 bytes"}},
		{"a client ID with a control character", "ali\tce", ok(func(*authpool.Usage) {}), authpool.ErrInvalidArgument,
			[]string{"client ID", `"ali\tce"`}},
		{"a client ID that is not UTF-8", "ali\xc3ce", ok(func(*authpool.Usage) {}), authpool.ErrInvalidArgument,
			[]string{"client ID", `"ali\xc3ce"`}},
		{"an unknown subscription", "alice", ok(func(u *authpool.Usage) { u.SubscriptionID = "s-zzz" }), authpool.ErrNotFound,
			[]string{"usage.subscriptionId", `"s-zzz"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			p := newPool(t, subs(sub("s-a", budgets(100, 10))), clk)
			allocate(t, p, "alice")
			spend(t, p, clk, "alice", 2)
			clk.Advance(time.Minute)
			before := snapshot(t, p)

			err := p.Record(ctx, tt.client, tt.u)
			if !errors.Is(err, tt.is) {
				t.Fatalf("Record = %v, want %v", err, tt.is)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Record = %q, want it to say %q", err, s)
				}
			}
			if diff := cmp.Diff(before, snapshot(t, p)); diff != "" {
				t.Errorf("a refused Record changed the pool (-before +after):\n%s", diff)
			}
			// The refused usage's ID is not remembered: the same usage, made
			// valid, counts.
			if err := p.Record(ctx, "alice", ok(func(*authpool.Usage) {})); err != nil {
				t.Fatalf("Record of a valid usage after the refusal: %v", err)
			}
			if p.Stats().DuplicateRecords != 0 {
				t.Errorf("DuplicateRecords = %d, want 0", p.Stats().DuplicateRecords)
			}
		})
	}
}

func TestRecordingTheSameIDTwiceCountsOnce(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a")), clk)
	allocate(t, p, "alice")
	allocate(t, p, "bob")
	u := authpool.Usage{ID: "msg_01ABC", Time: t0, CostUSD: 3, Tokens: authpool.Tokens{Output: 7}}
	for _, c := range []string{"alice", "alice", "bob"} {
		if err := p.Record(ctx, c, u); err != nil {
			t.Fatalf("Record(%q) of a repeated ID = %v, want nil", c, err)
		}
	}
	if got := p.Stats().DuplicateRecords; got != 2 {
		t.Errorf("DuplicateRecords = %d, want 2", got)
	}
	s := snapshot(t, p)
	if got := status(t, s, "s-a").Week.CostUSD; got != 3 {
		t.Errorf("week cost = %v, want 3: billed once", got)
	}
	alice, _ := session(s, "alice")
	bob, _ := session(s, "bob")
	if alice.Requests != 1 || alice.CostUSD != 3 || bob.Requests != 0 {
		t.Errorf("alice has %d requests ($%v), bob %d; want 1 ($3) and 0", alice.Requests, alice.CostUSD, bob.Requests)
	}
	// Usages without an ID are never de-duplicated.
	for range 2 {
		spend(t, p, clk, "bob", 1)
	}
	if got := status(t, snapshot(t, p), "s-a").Week.CostUSD; got != 5 {
		t.Errorf("week cost = %v, want 5", got)
	}
}

func TestAnIDIsRememberedByItsUsagesTimeThenTooOld(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	cfg := subs(sub("s-a"))
	cfg.RememberUsageIDs = authpool.Duration(time.Hour)
	p := newPool(t, cfg, clk)
	allocate(t, p, "alice")
	record := func(id string, at time.Time) error {
		t.Helper()
		return p.Record(ctx, "alice", authpool.Usage{ID: id, Time: at, CostUSD: 1})
	}
	if err := record("req_1", t0); err != nil {
		t.Fatal(err)
	}
	// Remembered for the hour after the usage's time, however late the
	// retry comes within it.
	clk.Set(t0.Add(59 * time.Minute))
	if err := record("req_1", t0); err != nil || p.Stats().DuplicateRecords != 1 {
		t.Fatalf("Record within the hour = %v with %d duplicates, want nil and 1", err, p.Stats().DuplicateRecords)
	}
	// Hours later a new usage makes the store forget req_1: the same usage
	// again is too old to tell from the one counted, and is refused.
	clk.Set(t0.Add(3 * time.Hour))
	if err := record("req_2", clk.Now()); err != nil {
		t.Fatal(err)
	}
	err := record("req_1", t0)
	if !errors.Is(err, authpool.ErrUsageTooOld) || p.Stats().TooOldRecords != 1 {
		t.Fatalf("Record of req_1 again hours later = %v with %d too old, want ErrUsageTooOld and 1", err, p.Stats().TooOldRecords)
	}
	for _, s := range []string{`"req_1"`, "2026-", "raise Config.RememberUsageIDs (now 1h0m0s)"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("ErrUsageTooOld's message %q does not say %q", err, s)
		}
	}
	if got := status(t, snapshot(t, p), "s-a").Week.CostUSD; got != 2 {
		t.Errorf("week cost = %v, want 2", got)
	}
}

func TestTooSmallAUsageIDMemoryRefusesRatherThanCountsTwice(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	cfg := subs(sub("s-a"))
	cfg.UsageIDMemoryMiB = 1 // some thousands of IDs
	p := newPool(t, cfg, clk)
	const n = 20_000 // more than 1 MiB holds in either store
	for i := range n {
		if err := p.Charge(ctx, "s-a", authpool.Usage{ID: fmt.Sprintf("msg_%d", i), Time: t0.Add(time.Duration(i-n) * time.Millisecond), CostUSD: 1e-6}); err != nil {
			t.Fatalf("Charge of msg_%d: %v", i, err)
		}
	}
	before := status(t, snapshot(t, p), "s-a").Week
	tooOld := 0
	var last error
	for i := range n {
		err := p.Charge(ctx, "s-a", authpool.Usage{ID: fmt.Sprintf("msg_%d", i), Time: t0.Add(time.Duration(i-n) * time.Millisecond), CostUSD: 1e-6})
		switch {
		case errors.Is(err, authpool.ErrUsageTooOld):
			tooOld, last = tooOld+1, err
		case err != nil:
			t.Fatalf("Charge of msg_%d again: %v", i, err)
		}
	}
	st := p.Stats()
	if st.Records != n || st.TooOldRecords != int64(tooOld) || st.DuplicateRecords != int64(n-tooOld) || tooOld == 0 || tooOld == n {
		t.Errorf("charging %d usages twice in 1 MiB counted %d, %d duplicates, %d too old (%d refused so); want %d, the rest split",
			n, st.Records, st.DuplicateRecords, st.TooOldRecords, tooOld, n)
	}
	if last != nil && !strings.Contains(last.Error(), "raise Config.UsageIDMemoryMiB (now 1 MiB)") {
		t.Errorf("ErrUsageTooOld's message %q does not name the memory that ran out", last)
	}
	if diff := cmp.Diff(before, status(t, snapshot(t, p), "s-a").Week); diff != "" {
		t.Errorf("charging every usage again changed the week (-before +after):\n%s", diff)
	}
}

func TestRecordWithSubscriptionIDBillsThatSubscriptionAfterTheClientMoved(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a"), sub("s-b")), clk)
	a := allocate(t, p, "alice")
	if err := p.MarkLimited(ctx, a.SubscriptionID, t0.Add(time.Hour), "429"); err != nil {
		t.Fatal(err)
	}
	b := allocate(t, p, "alice")
	if b.Outcome != authpool.OutcomeMoved {
		t.Fatalf("Allocate = %+v, want moved", b)
	}
	// The request made before the move reports its usage now.
	if err := p.Record(ctx, "alice", authpool.Usage{SubscriptionID: a.SubscriptionID, Time: t0, CostUSD: 4}); err != nil {
		t.Fatal(err)
	}
	// A request without SubscriptionID bills the current one.
	if err := p.Record(ctx, "alice", authpool.Usage{Time: t0, CostUSD: 1}); err != nil {
		t.Fatal(err)
	}
	s := snapshot(t, p)
	if got := map[string]float64{a.SubscriptionID: status(t, s, a.SubscriptionID).Week.CostUSD, b.SubscriptionID: status(t, s, b.SubscriptionID).Week.CostUSD}; !cmp.Equal(got, map[string]float64{a.SubscriptionID: 4, b.SubscriptionID: 1}) {
		t.Errorf("week costs = %v, want $4 on %s and $1 on %s", got, a.SubscriptionID, b.SubscriptionID)
	}
	if sess, _ := session(s, "alice"); sess.CostUSD != 5 || sess.SubscriptionID != b.SubscriptionID {
		t.Errorf("session = %+v, want $5 on %s", sess, b.SubscriptionID)
	}
}

func TestRecordAcceptsAClockSkewedUsageInTheCurrentHour(t *testing.T) {
	ctx := context.Background()
	clk := newClock(day(0, 12, 58))
	p := newPool(t, authpool.Config{Subscriptions: []authpool.Subscription{sub("s-a", budgets(0, 100))},
		Block: authpool.BlockPolicy{Fixed: true, Hours: 1}}, clk)
	allocate(t, p, "alice")
	if err := p.Record(ctx, "alice", authpool.Usage{Time: day(0, 13, 3), CostUSD: 2}); err != nil {
		t.Fatalf("Record of a usage 5 minutes ahead: %v", err)
	}
	if got := status(t, snapshot(t, p), "s-a").Block; got.CostUSD != 2 || !got.Start.Equal(day(0, 12, 0)) {
		t.Errorf("block = %+v, want $2 in the 12:00 block", got)
	}
}

func TestRecordAtTheWeeksEdge(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a")), clk)
	allocate(t, p, "alice")
	if err := p.Record(ctx, "alice", authpool.Usage{Time: t0.Add(-167 * time.Hour), CostUSD: 1}); err != nil {
		t.Errorf("Record of a usage 167 hours old: %v", err)
	}
	if err := p.Record(ctx, "alice", authpool.Usage{Time: t0.Add(-168 * time.Hour), CostUSD: 1}); !errors.Is(err, authpool.ErrInvalidArgument) {
		t.Errorf("Record of a usage 168 hours old = %v, want ErrInvalidArgument", err)
	}
	if got := status(t, snapshot(t, p), "s-a").Week.CostUSD; got != 1 {
		t.Errorf("week cost = %v, want 1", got)
	}
}

func TestTheWeekTurns(t *testing.T) {
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a", budgets(100, 0))), clk)
	allocate(t, p, "alice")
	spend(t, p, clk, "alice", 10)
	tests := []struct {
		name string
		now  time.Time
		want float64
	}{
		{"the same hour", t0, 10},
		{"167 hours later it counts", t0.Add(167 * time.Hour), 10},
		{"at the last second of its hour a week later it counts", day(7, 11, 59).Add(59 * time.Second), 10},
		{"168 hours later it does not", t0.Add(168 * time.Hour), 0},
		{"a week on from its hour it does not", day(7, 12, 0), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Set(tt.now)
			w := status(t, snapshot(t, p), "s-a").Week
			if diff := cmp.Diff(tt.want, w.CostUSD, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
				t.Errorf("week cost at %v (-want +got):\n%s", tt.now, diff)
			}
		})
	}
}

func TestReleaseIsIdempotent(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a")), clk)
	allocate(t, p, "alice")
	for i := range 3 {
		if err := p.Release(ctx, "alice"); err != nil {
			t.Fatalf("Release #%d: %v", i+1, err)
		}
	}
	if err := p.Release(ctx, "never-seen"); err != nil {
		t.Errorf("Release of a client never allocated: %v", err)
	}
	s := snapshot(t, p)
	if len(s.Sessions) != 0 || status(t, s, "s-a").Clients != 0 {
		t.Errorf("after Release: sessions %+v, clients %d; want none", s.Sessions, status(t, s, "s-a").Clients)
	}
	if err := p.Record(ctx, "alice", authpool.Usage{Time: t0, CostUSD: 1}); !errors.Is(err, authpool.ErrUnknownClient) {
		t.Errorf("Record after Release = %v, want ErrUnknownClient", err)
	}
	if a := allocate(t, p, "alice"); a.Outcome != authpool.OutcomeNew {
		t.Errorf("Allocate after Release = %+v, want a new session", a)
	}
	if err := p.Release(ctx, ""); !errors.Is(err, authpool.ErrInvalidArgument) {
		t.Errorf("Release(\"\") = %v, want ErrInvalidArgument", err)
	}
}

func TestChargeCountsSpendingWithoutAClient(t *testing.T) {
	ctx := context.Background()
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a", budgets(100, 10)), sub("s-b", budgets(100, 10))), clk)
	clk.Advance(time.Hour) // s-a idle for an hour
	for _, c := range []authpool.Usage{
		{ID: "msg_before_1", Time: t0.Add(-6 * time.Hour), CostUSD: 3}, // an earlier block
		{ID: "msg_before_2", Time: t0.Add(50 * time.Minute), CostUSD: 6},
		{ID: "msg_before_2", Time: t0.Add(50 * time.Minute), CostUSD: 6}, // counted once
	} {
		if err := p.Charge(ctx, "s-a", c); err != nil {
			t.Fatalf("Charge(%+v): %v", c, err)
		}
	}
	st := status(t, snapshot(t, p), "s-a")
	if st.Week.CostUSD != 9 || st.Block.CostUSD != 6 || st.Clients != 0 || !st.LastActive.IsZero() {
		t.Errorf("after charges s-a shows week $%v, block $%v, %d clients, last active %v; want $9, $6, none, never",
			st.Week.CostUSD, st.Block.CostUSD, st.Clients, st.LastActive)
	}
	// What was charged steers new clients: s-b's block is untouched.
	if a := allocate(t, p, "alice"); a.SubscriptionID != "s-b" {
		t.Errorf("a new client went to %s, want the subscription without past spending", a.SubscriptionID)
	}
	for _, tc := range []struct {
		sub  string
		u    authpool.Usage
		want error
	}{
		{"s-zzz", authpool.Usage{Time: t0, CostUSD: 1}, authpool.ErrNotFound},
		{"s-a", authpool.Usage{Time: t0, CostUSD: -1}, authpool.ErrInvalidArgument},
		{"s-a", authpool.Usage{CostUSD: 1}, authpool.ErrInvalidArgument},
	} {
		if err := p.Charge(ctx, tc.sub, tc.u); !errors.Is(err, tc.want) {
			t.Errorf("Charge(%q, %+v) = %v, want %v", tc.sub, tc.u, err, tc.want)
		}
	}
}
