package storetest

import (
	"cmp"
	"errors"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/authpool/authpool/store"
)

// t0 is the suite's "now"; every time in a case is t0 or a fixed offset from
// it, so no case depends on the clock.
var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// at returns t0 + d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// holdFor is how long the suite's clients hold a slot after an Assign or a
// Touch: the pool's default Sessions.IdleAfter.
const holdFor = 5 * time.Minute

// hourOf is the bucket hour of t0 + d.
func hourOf(d time.Duration) int64 { return store.HourOf(at(d)) }

// newSub returns the configuration of an active subscription named id that
// holds at most maxClients clients (0 means no cap).
func newSub(id string, maxClients int) store.Subscription {
	return store.Subscription{ID: id, Name: "Subscription " + id, Kind: "max5x", Credential: store.Secret("sk-" + id), MaxClients: maxClients}
}

// create creates the subscriptions or fails the test.
func create(t *testing.T, s store.Store, subs ...store.Subscription) {
	t.Helper()
	for _, sub := range subs {
		if err := s.CreateSubscription(t.Context(), sub); err != nil {
			t.Fatalf("CreateSubscription(%q): %v", sub.ID, err)
		}
	}
}

// get returns the subscription or fails the test.
func get(t *testing.T, s store.Store, id string) store.Subscription {
	t.Helper()
	sub, err := s.Subscription(t.Context(), id)
	if err != nil {
		t.Fatalf("Subscription(%q): %v", id, err)
	}
	return sub
}

// clients returns how many clients the subscription holds.
func clients(t *testing.T, s store.Store, id string) int {
	t.Helper()
	return get(t, s, id).Clients
}

// join assigns a client without a session to subID at now, holding a slot
// for holdFor, or fails the test.
func join(t *testing.T, s store.Store, clientID, subID string, now time.Time) store.Session {
	t.Helper()
	return assign(t, s, store.Assignment{ClientID: clientID, SubscriptionID: subID, Now: now, HoldUntil: now.Add(holdFor)})
}

// assign calls Assign or fails the test.
func assign(t *testing.T, s store.Store, a store.Assignment) store.Session {
	t.Helper()
	sess, err := s.Assign(t.Context(), a)
	if err != nil {
		t.Fatalf("Assign(%+v): %v", a, err)
	}
	return sess
}

// touch calls Touch, extending the client's hold to now+holdFor, or fails
// the test.
func touch(t *testing.T, s store.Store, clientID string, now time.Time) store.Touched {
	t.Helper()
	got, err := s.Touch(t.Context(), clientID, now, now.Add(holdFor))
	if err != nil {
		t.Fatalf("Touch(%q, %v): %v", clientID, now, err)
	}
	return got
}

// release calls Release or fails the test.
func release(t *testing.T, s store.Store, clientID string, idleSince time.Time) store.Session {
	t.Helper()
	sess, err := s.Release(t.Context(), clientID, idleSince)
	if err != nil {
		t.Fatalf("Release(%q, %v): %v", clientID, idleSince, err)
	}
	return sess
}

// usage returns a usage without an ID that happened and is recorded at t.
func usage(t time.Time, cost store.Nanodollars) store.UsageRecord {
	return store.UsageRecord{Time: t, Now: t, Cost: cost, Tokens: tokensOf(1), Model: "claude-test"}
}

// tokensOf returns the tokens of n of the usages that usage returns.
func tokensOf(n int64) store.Tokens {
	return store.Tokens{Input: n, Output: 2 * n, CacheWrite: 3 * n, CacheRead: 4 * n}
}

// withID returns u with an ID remembered for remember after its time, in a
// budget (rememberBytes) no case fills.
func withID(u store.UsageRecord, id string, remember time.Duration) store.UsageRecord {
	u.ID, u.Remember, u.RememberBytes = id, remember, rememberBytes
	return u
}

// rememberBytes is the suite's budget for usage IDs: room for thousands.
const rememberBytes = 1 << 20

// addUsage calls AddUsage or fails the test, and returns the subscription
// billed.
func addUsage(t *testing.T, s store.Store, clientID string, u store.UsageRecord) string {
	t.Helper()
	added, err := s.AddUsage(t.Context(), clientID, u)
	if err != nil {
		t.Fatalf("AddUsage(%q, %+v): %v", clientID, u, err)
	}
	return added.Billed
}

// holdsAfter returns the holds of a subscription that end after now: the
// clients holding a slot at now, whatever ended holds the store still
// lists.
func holdsAfter(t *testing.T, s store.Store, id string, now time.Time) []time.Time {
	t.Helper()
	var out []time.Time
	for _, h := range get(t, s, id).Holds {
		if h.After(now) {
			out = append(out, h)
		}
	}
	return out
}

// holding returns how many clients of a subscription hold a slot at now.
func holding(t *testing.T, s store.Store, id string, now time.Time) int {
	t.Helper()
	return len(holdsAfter(t, s, id, now))
}

// sessions calls Sessions or fails the test.
func sessions(t *testing.T, s store.Store, q store.SessionQuery) []store.Session {
	t.Helper()
	got, err := s.Sessions(t.Context(), q)
	if err != nil {
		t.Fatalf("Sessions(%+v): %v", q, err)
	}
	return got
}

// byClient sorts sessions by client ID, for comparing unordered results.
func byClient(ss []store.Session) []store.Session {
	ss = slices.Clone(ss)
	slices.SortFunc(ss, func(a, b store.Session) int { return cmp.Compare(a.ClientID, b.ClientID) })
	return ss
}

// clientIDs returns the client IDs of sessions, in their order.
func clientIDs(ss []store.Session) []string {
	ids := make([]string, len(ss))
	for i, s := range ss {
		ids[i] = s.ClientID
	}
	return ids
}

// session returns the client's session, found through Sessions, or fails the
// test.
func session(t *testing.T, s store.Store, clientID string) store.Session {
	t.Helper()
	for _, sess := range sessions(t, s, store.SessionQuery{}) {
		if sess.ClientID == clientID {
			return sess
		}
	}
	t.Fatalf("client %q has no session", clientID)
	return store.Session{}
}

// state is everything a store holds, as its read methods show it.
type state struct {
	Subscriptions []store.Subscription
	Sessions      []store.Session // by client ID
}

// snapshot reads the store's state.
func snapshot(t *testing.T, s store.Store) state {
	t.Helper()
	subs, err := s.Subscriptions(t.Context())
	if err != nil {
		t.Fatalf("Subscriptions: %v", err)
	}
	return state{Subscriptions: subs, Sessions: byClient(sessions(t, s, store.SessionQuery{}))}
}

// unchanged fails the test if the store's state differs from before.
func unchanged(t *testing.T, s store.Store, before state, after string) {
	t.Helper()
	if d := gocmp.Diff(before, snapshot(t, s), equateEmpty); d != "" {
		t.Errorf("%s changed the store (-before +after):\n%s", after, d)
	}
}

// equateEmpty makes a nil slice equal an empty one: the contract does not
// tell them apart.
var equateEmpty = cmpopts.EquateEmpty()

// diff fails the test if got differs from want. Times compare with Equal.
func diff(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := gocmp.Diff(want, got, equateEmpty); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, err, target error, call string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", call, err, target)
	}
}
