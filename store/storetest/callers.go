package storetest

import (
	"crypto/sha256"
	"math"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool/store"
)

// This file is the contract of store.CallerStore, which Run checks on a
// store that implements it, and the helpers of its cases.

// callerCases are the clauses of store.CallerStore.
var callerCases = []testCase{
	{"CreateCaller", "CreateCaller keeps every field but LargestCharge; Caller, Callers (by ID) and CallerByKey return it.", callerCase(testCreateCaller)},
	{"CreateCallerTaken", "CreateCaller with a taken ID or key hash returns ErrExists and changes nothing.", callerCase(testCreateCallerTaken)},
	{"CreateCallerInvalid", "CreateCaller refuses a bad record with ErrInvalid naming the field, and changes nothing.", callerCase(testCreateCallerInvalid)},
	{"UpdateCaller", "UpdateCaller changes the settings it is given and nothing else, keeping the key hash, Created, LargestCharge and spending; an unknown ID is ErrNotFound, bad settings or none ErrInvalid naming the field, and neither changes anything.", callerCase(testUpdateCaller)},
	{"ConcurrentUpdateCaller", "Two goroutines updating different settings of one caller at once: every update lands and neither undoes the other's.", callerCase(testConcurrentUpdateCaller)},
	{"DeleteCaller", "DeleteCaller removes the caller, its key and its spending (a caller made again under its ID starts afresh); a second is ErrNotFound.", callerCase(testDeleteCaller)},
	{"ChargeCallerHours", "ChargeCaller counts requests, tokens and cost in the hour of At, across hour boundaries; CallerUsage returns the non-empty hours in its range, oldest first; LargestCharge is the largest cost.", callerCase(testChargeCallerHours)},
	{"ChargeCallerOnce", "A charge whose usage ID is remembered is not counted again (false, nothing changed); one without an ID always counts; the callers' IDs are apart from AddUsage's.", callerCase(testChargeCallerOnce)},
	{"ChargeCallerForgotten", "A charge whose unknown ID is at or before the horizon is a *ForgottenError and changes nothing.", callerCase(testChargeCallerForgotten)},
	{"ChargeCallerRefused", "A charge of an unknown caller is ErrNotFound and a bad charge ErrInvalid; neither changes anything nor remembers its ID.", callerCase(testChargeCallerRefused)},
	{"ChargeCallerWeek", "An hour a week or more before the newest is not kept in the hourly totals; the newest week is.", callerCase(testChargeCallerWeek)},
	{"CallerSessions", "CallerSessions returns the sessions charged in its range with their totals, first and last times, most recent first.", callerCase(testCallerSessions)},
	{"CallerSessionAfterWeek", "A session last charged before the week of the caller's newest hour is forgotten: a charge of it after that starts it anew, counting none of the forgotten charges.", callerCase(testCallerSessionAfterWeek)},
	{"CallerSessionsBounded", "A caller keeps at most MaxCallerSessions sessions: a new one makes the least recently charged go.", callerCase(testCallerSessionsBounded)},
	{"AdmitCaller", "AdmitCaller admits while used < budget and used + inFlight × LargestCharge < budget (one at a time before any charge), says what was used and when it falls, and a released lease no longer counts.", callerCase(testAdmitCaller)},
	{"AdmitCallerWindow", "AdmitCaller counts only the spending of the window's hours, and its Reset is when enough of it leaves the window.", callerCase(testAdmitCallerWindow)},
	{"AdmitCallerLeaseEnds", "A lease that was never released stops counting once its length has passed.", callerCase(testAdmitCallerLeaseEnds)},
	{"AdmitCallerRefused", "AdmitCaller and ReleaseCaller refuse bad arguments with ErrInvalid and unknown callers with ErrNotFound, taking no lease; releasing an unknown lease is no error.", callerCase(testAdmitCallerRefused)},
	{"ConcurrentAdmitCaller", "8 goroutines admitting, charging and releasing against one cap spend at least the cap and less than the cap plus one request's cost.", callerCase(testConcurrentAdmitCaller)},
	{"CallerCanceledContext", "Every CallerStore method called with a context that has ended returns the context's error and changes nothing.", callerCase(testCallerCanceledContext)},
}

// callerCase runs check on a store that implements store.CallerStore, and
// skips a store that does not.
func callerCase(check func(t *testing.T, s store.CallerStore)) func(t *testing.T, s store.Store) {
	return func(t *testing.T, s store.Store) {
		cs, ok := s.(store.CallerStore)
		if !ok {
			t.Skipf("%T is not a store.CallerStore", s)
		}
		check(t, cs)
	}
}

// keyHash is the key hash of the suite's caller id.
func keyHash(id string) [32]byte { return sha256.Sum256([]byte("apk-key-of-" + id)) }

// newCaller returns a caller named id with a $1 cap over 5 hours.
func newCaller(id string) store.Caller {
	return store.Caller{ID: id, KeyHash: keyHash(id), Cap: 1e9, CapWindowHours: 5, Created: t0}
}

// createCallers creates the callers or fails the test.
func createCallers(t *testing.T, s store.CallerStore, cs ...store.Caller) {
	t.Helper()
	for _, c := range cs {
		if err := s.CreateCaller(t.Context(), c); err != nil {
			t.Fatalf("CreateCaller(%q): %v", c.ID, err)
		}
	}
}

// getCaller returns the caller or fails the test.
func getCaller(t *testing.T, s store.CallerStore, id string) store.Caller {
	t.Helper()
	c, err := s.Caller(t.Context(), id)
	if err != nil {
		t.Fatalf("Caller(%q): %v", id, err)
	}
	return c
}

// charge returns a charge of cost at t in session, with usage ID id ("" for
// none) remembered for a week.
func charge(id string, t time.Time, cost store.Nanodollars, session string) store.Charge {
	c := store.Charge{At: t, Cost: cost, Tokens: tokensOf(1), Session: session}
	if id != "" {
		c.UsageID, c.Now, c.Remember, c.RememberBytes = id, t, week, rememberBytes
	}
	return c
}

// chargeCaller charges a caller or fails the test, and returns whether the
// charge was counted.
func chargeCaller(t *testing.T, s store.CallerStore, id string, c store.Charge) bool {
	t.Helper()
	added, err := s.ChargeCaller(t.Context(), id, c)
	if err != nil {
		t.Fatalf("ChargeCaller(%q, %+v): %v", id, c, err)
	}
	return added
}

// allHours is the widest hour range.
const allHours = math.MaxInt64

// callerUsage returns a caller's hourly totals in [from, to] or fails the
// test.
func callerUsage(t *testing.T, s store.CallerStore, id string, from, to int64) []store.Bucket {
	t.Helper()
	got, err := s.CallerUsage(t.Context(), id, from, to)
	if err != nil {
		t.Fatalf("CallerUsage(%q, %d, %d): %v", id, from, to, err)
	}
	return got
}

// callerSessions returns a caller's sessions in [from, to] or fails the
// test.
func callerSessions(t *testing.T, s store.CallerStore, id string, from, to int64) []store.CallerSession {
	t.Helper()
	got, err := s.CallerSessions(t.Context(), id, from, to)
	if err != nil {
		t.Fatalf("CallerSessions(%q, %d, %d): %v", id, from, to, err)
	}
	return got
}

// admit calls AdmitCaller with a one-minute lease or fails the test.
func admit(t *testing.T, s store.CallerStore, id string, now time.Time, budget store.Nanodollars, hours int) store.Admission {
	t.Helper()
	a, err := s.AdmitCaller(t.Context(), id, now, budget, hours, time.Minute)
	if err != nil {
		t.Fatalf("AdmitCaller(%q, %v, %d, %d): %v", id, now, budget, hours, err)
	}
	if a.Admitted == (a.LeaseID == "") {
		t.Fatalf("AdmitCaller(%q): Admitted %v with lease %q", id, a.Admitted, a.LeaseID)
	}
	return a
}

// callerState is everything a CallerStore holds, as its read methods show
// it.
type callerState struct {
	Callers  []store.Caller
	Usage    map[string][]store.Bucket
	Sessions map[string][]store.CallerSession
}

// callerSnapshot reads the store's callers and their spending.
func callerSnapshot(t *testing.T, s store.CallerStore) callerState {
	t.Helper()
	cs, err := s.Callers(t.Context())
	if err != nil {
		t.Fatalf("Callers: %v", err)
	}
	st := callerState{Callers: cs, Usage: map[string][]store.Bucket{}, Sessions: map[string][]store.CallerSession{}}
	for _, c := range cs {
		st.Usage[c.ID] = callerUsage(t, s, c.ID, math.MinInt64, allHours)
		st.Sessions[c.ID] = callerSessions(t, s, c.ID, math.MinInt64, allHours)
	}
	return st
}

// callersUnchanged fails the test if the callers differ from before.
func callersUnchanged(t *testing.T, s store.CallerStore, before callerState, after string) {
	t.Helper()
	if d := gocmp.Diff(before, callerSnapshot(t, s), equateEmpty); d != "" {
		t.Errorf("%s changed the callers (-before +after):\n%s", after, d)
	}
}
