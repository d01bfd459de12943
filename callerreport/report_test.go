package callerreport_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool/callerreport"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/store"
)

// update makes the golden test rewrite testdata: go test ./callerreport -update.
var update = flag.Bool("update", false, "rewrite testdata/report.golden.json")

// now is the reports' fixed clock: a Thursday, 12:30 UTC.
var now = time.Date(2026, 11, 26, 12, 30, 0, 0, time.UTC)

// at is a time on now's day, days days away.
func at(days, h, m int) time.Time { return time.Date(2026, 11, 26+days, h, m, 0, 0, time.UTC) }

// usd is an amount in nanodollars.
func usd(v float64) store.Nanodollars { return store.Nanodollars(v * 1e9) }

// charge is one request of a caller, as the test charges it.
type charge struct {
	caller, session string
	at              time.Time
	cost            float64
	tokens          store.Tokens
}

// fixture is a store at now with four callers:
//
//   - ci, capped at $20 over the default window (5 h): $4, $3 and $1.50 in
//     the last five hours (8:10, 11:05, 12:20), $2 late yesterday with no
//     session, $5 six days ago, and $100 eight days ago, past the week;
//   - dev, capped at $7 over 3 h, over it: $4 at each of 10:30, 11:30 and
//     12:05, so that two hours must leave the window before it is under;
//   - free, without a cap: 25 cents at noon;
//   - idle, capped at $5, which has spent nothing.
func fixture(t *testing.T) *memstore.Store {
	t.Helper()
	ctx := t.Context()
	st := memstore.New()
	for i, c := range []store.Caller{
		{ID: "ci", Cap: usd(20)},
		{ID: "dev", Cap: usd(7), CapWindowHours: 3},
		{ID: "free"},
		{ID: "idle", Cap: usd(5), CapWindowHours: 24},
	} {
		c.KeyHash[0], c.Created = byte(i+1), at(-30, 9, 0)
		if err := st.CreateCaller(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []charge{
		{"ci", "ancient", at(-8, 9, 0), 100, store.Tokens{}}, // first: a store keeps no hour a week before its newest
		{"ci", "s1", at(0, 8, 10), 4, store.Tokens{Input: 100, Output: 200}},
		{"ci", "s1", at(0, 11, 5), 3, store.Tokens{Input: 50, Output: 20}},
		{"ci", "s2", at(0, 12, 20), 1.5, store.Tokens{Input: 10, CacheRead: 1000}},
		{"ci", "", at(-1, 23, 30), 2, store.Tokens{Output: 7}},
		{"ci", "old", at(-6, 13, 0), 5, store.Tokens{CacheWrite: 300}},
		{"dev", "d", at(0, 10, 30), 4, store.Tokens{}},
		{"dev", "d", at(0, 11, 30), 4, store.Tokens{}},
		{"dev", "d", at(0, 12, 5), 4, store.Tokens{}},
		{"free", "a", at(0, 12, 0), 0.25, store.Tokens{Input: 3, Output: 4}},
	} {
		if _, err := st.ChargeCaller(ctx, c.caller, store.Charge{At: c.at, Cost: usd(c.cost), Tokens: c.tokens, Session: c.session}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// win is a report's window with the tokens left out.
func win(name string, start time.Time, hours int, requests int64, cost float64) callerreport.Window {
	return callerreport.Window{Name: name, Start: start, Hours: hours, Requests: requests, CostUSD: cost}
}

// TestOf reports each caller of the fixture, as the store counted it.
func TestOf(t *testing.T) {
	st := fixture(t)
	ci := callerreport.Report{ID: "ci", At: now,
		Cap: &callerreport.CapUse{USD: 20, WindowHours: 5, UsedUSD: 8.5, Share: 0.425, Resets: at(0, 13, 0)},
		Windows: []callerreport.Window{
			win("cap", at(0, 8, 0), 5, 3, 8.5), win("5h", at(0, 8, 0), 5, 3, 8.5),
			win("day", at(0, 0, 0), 13, 3, 8.5), win("week", at(-7, 13, 0), 168, 5, 15.5),
		},
		SessionCount: 4, LastActive: at(0, 12, 20),
		Sessions: []callerreport.Session{
			{Session: "s2", First: at(0, 12, 20), Last: at(0, 12, 20), Requests: 1, Tokens: store.Tokens{Input: 10, CacheRead: 1000}, CostUSD: 1.5},
			{Session: "s1", First: at(0, 8, 10), Last: at(0, 11, 5), Requests: 2, Tokens: store.Tokens{Input: 150, Output: 220}, CostUSD: 7},
			{Session: "", First: at(-1, 23, 30), Last: at(-1, 23, 30), Requests: 1, Tokens: store.Tokens{Output: 7}, CostUSD: 2},
			{Session: "old", First: at(-6, 13, 0), Last: at(-6, 13, 0), Requests: 1, Tokens: store.Tokens{CacheWrite: 300}, CostUSD: 5},
		}}
	ci.Windows[0].Tokens = store.Tokens{Input: 160, Output: 220, CacheRead: 1000}
	ci.Windows[1].Tokens, ci.Windows[2].Tokens = ci.Windows[0].Tokens, ci.Windows[0].Tokens
	ci.Windows[3].Tokens = store.Tokens{Input: 160, Output: 227, CacheWrite: 300, CacheRead: 1000}

	dev := callerreport.Report{ID: "dev", At: now,
		// $12 of $7: the hours of 10:00 and 11:00 must leave the window.
		Cap: &callerreport.CapUse{USD: 7, WindowHours: 3, UsedUSD: 12, Share: 12.0 / 7, Resets: at(0, 14, 0)},
		Windows: []callerreport.Window{
			win("cap", at(0, 10, 0), 3, 3, 12), win("5h", at(0, 8, 0), 5, 3, 12),
			win("day", at(0, 0, 0), 13, 3, 12), win("week", at(-7, 13, 0), 168, 3, 12),
		},
		SessionCount: 1, LastActive: at(0, 12, 5),
		Sessions: []callerreport.Session{{Session: "d", First: at(0, 10, 30), Last: at(0, 12, 5), Requests: 3, CostUSD: 12}}}

	free := callerreport.Report{ID: "free", At: now,
		Windows: []callerreport.Window{
			win("5h", at(0, 8, 0), 5, 1, 0.25), win("day", at(0, 0, 0), 13, 1, 0.25), win("week", at(-7, 13, 0), 168, 1, 0.25),
		},
		SessionCount: 1, LastActive: at(0, 12, 0),
		Sessions: []callerreport.Session{{Session: "a", First: at(0, 12, 0), Last: at(0, 12, 0), Requests: 1,
			Tokens: store.Tokens{Input: 3, Output: 4}, CostUSD: 0.25}}}
	for i := range free.Windows {
		free.Windows[i].Tokens = store.Tokens{Input: 3, Output: 4}
	}

	idle := callerreport.Report{ID: "idle", At: now,
		Cap: &callerreport.CapUse{USD: 5, WindowHours: 24},
		Windows: []callerreport.Window{
			win("cap", at(-1, 13, 0), 24, 0, 0), win("5h", at(0, 8, 0), 5, 0, 0),
			win("day", at(0, 0, 0), 13, 0, 0), win("week", at(-7, 13, 0), 168, 0, 0),
		}}

	for _, want := range []callerreport.Report{ci, dev, free, idle} {
		t.Run(want.ID, func(t *testing.T) {
			// The report is in UTC whatever the clock's zone.
			got, err := callerreport.Of(t.Context(), st, want.ID, now.In(time.FixedZone("UTC-8", -8*3600)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOfMatchesAdmission: a report's cap use is what the store admits the
// caller's next request by — the same spending, the same reset.
func TestOfMatchesAdmission(t *testing.T) {
	st := fixture(t)
	for _, c := range []struct {
		id    string
		cap   store.Nanodollars
		hours int
	}{{"ci", usd(20), 5}, {"dev", usd(7), 3}, {"idle", usd(5), 24}} {
		r, err := callerreport.Of(t.Context(), st, c.id, now)
		if err != nil {
			t.Fatal(err)
		}
		adm, err := st.AdmitCaller(t.Context(), c.id, now, c.cap, c.hours, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if r.Cap.UsedUSD != adm.Used.USD() || !r.Cap.Resets.Equal(adm.Reset) || (r.Cap.Share >= 1) == adm.Admitted {
			t.Errorf("%s: report used $%v, resets %v, share %v; admission used $%v, resets %v, admitted %v",
				c.id, r.Cap.UsedUSD, r.Cap.Resets, r.Cap.Share, adm.Used.USD(), adm.Reset, adm.Admitted)
		}
	}
}

// TestOfRefuses: bad input is refused with an error naming it, a caller
// the store lacks is not found.
func TestOfRefuses(t *testing.T) {
	st := fixture(t)
	for _, tc := range []struct {
		name string
		cs   store.CallerStore
		id   string
		now  time.Time
		want error
		msg  string
	}{
		{"unknown caller", st, "nobody", now, store.ErrNotFound, `callerreport: caller "nobody"`},
		{"bad id", st, "a b", now, store.ErrInvalid, `caller id "a b": byte 1 (' ')`},
		{"empty id", st, "", now, store.ErrInvalid, "caller id is empty"},
		{"no time", st, "ci", time.Time{}, store.ErrInvalid, "now is zero"},
		{"no store", nil, "ci", now, store.ErrInvalid, "no caller store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := callerreport.Of(t.Context(), tc.cs, tc.id, tc.now)
			if !errors.Is(err, tc.want) || !contains(err, tc.msg) {
				t.Errorf("Of: %v, want %v saying %q", err, tc.want, tc.msg)
			}
		})
	}
	b, err := os.ReadFile("../docs/bad-input.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{"caller report of an unknown caller", "caller report with a bad caller ID", "caller report at no time"} {
		if !strings.Contains(string(b), "\n| "+row+" | ") {
			t.Errorf("docs/bad-input.md has no row %q", row)
		}
	}
}

// contains reports whether err says s.
func contains(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }

// TestGoldenJSON writes ci's report as the admin API returns it:
// testdata/report.golden.json is the shape docs/callers.md shows.
func TestGoldenJSON(t *testing.T) {
	r, err := callerreport.Of(t.Context(), fixture(t), "ci", now)
	if err != nil {
		t.Fatal(err)
	}
	r.Refusals = map[string]int64{"capped": 2, "rate_limited": 1}
	got, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "report.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./callerreport -run TestGoldenJSON -update writes it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("JSON differs from %s (-want +got):\n%s", path, diff)
	}
	var back callerreport.Report
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, back); diff != "" {
		t.Errorf("the JSON read back (-want +got):\n%s", diff)
	}
}

// failing is a CallerStore whose reads of one caller's usage fail with err.
type failing struct {
	*memstore.Store
	id  string
	err error
}

func (f failing) CallerUsage(ctx context.Context, id string, from, to int64) ([]store.Bucket, error) {
	if id == f.id {
		return nil, f.err
	}
	return f.Store.CallerUsage(ctx, id, from, to)
}

// TestAll lists every caller by ID without their sessions' lists; a caller
// removed while the list is made is left out, and a store that fails
// fails the list.
func TestAll(t *testing.T) {
	st := fixture(t)
	rs, err := callerreport.All(t.Context(), st, now)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID         string
		Sessions   int
		Listed     int
		LastActive time.Time
		Week       float64
	}
	var got []row
	for _, r := range rs {
		w, _ := r.Window(callerreport.WindowWeek)
		got = append(got, row{r.ID, r.SessionCount, len(r.Sessions), r.LastActive, w.CostUSD})
	}
	want := []row{{"ci", 4, 0, at(0, 12, 20), 15.5}, {"dev", 1, 0, at(0, 12, 5), 12}, {"free", 1, 0, at(0, 12, 0), 0.25},
		{"idle", 0, 0, time.Time{}, 0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("All (-want +got):\n%s", diff)
	}
	one, err := callerreport.Of(t.Context(), st, "ci", now)
	if err != nil {
		t.Fatal(err)
	}
	one.Sessions = nil
	if diff := cmp.Diff(one, rs[0]); diff != "" {
		t.Errorf("All's ci differs from Of's but for the sessions (-Of +All):\n%s", diff)
	}

	gone := fmt.Errorf("memstore: caller %q: %w", "dev", store.ErrNotFound)
	rs, err = callerreport.All(t.Context(), failing{st, "dev", gone}, now)
	if err != nil || len(rs) != 3 || rs[1].ID != "free" {
		t.Errorf("All with dev removed: %d reports, %v; want ci, free and idle", len(rs), err)
	}
	down := fmt.Errorf("redis: %w", store.ErrUnavailable)
	if _, err := callerreport.All(t.Context(), failing{st, "dev", down}, now); !errors.Is(err, store.ErrUnavailable) || !contains(err, `caller "dev": usage`) {
		t.Errorf("All with the store down: %v, want ErrUnavailable naming dev", err)
	}
	if _, err := callerreport.All(t.Context(), st, time.Time{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("All at no time: %v, want ErrInvalid", err)
	}
}

// TestAllBounded: a store with more than MaxReports callers lists the
// first MaxReports by ID.
func TestAllBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("makes 1,001 callers")
	}
	st := memstore.New()
	for i := range callerreport.MaxReports + 1 {
		c := store.Caller{ID: fmt.Sprintf("c%04d", i), Created: now}
		c.KeyHash[0], c.KeyHash[1] = byte(i), byte(i>>8)
		c.KeyHash[2] = 1
		if err := st.CreateCaller(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := callerreport.All(t.Context(), st, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != callerreport.MaxReports || rs[len(rs)-1].ID != "c0999" {
		t.Errorf("%d reports, the last %q; want %d, the last c0999", len(rs), rs[len(rs)-1].ID, callerreport.MaxReports)
	}
}

// TestSource: a Source reports at its clock's time, with the refusals it
// is given counted under their callers (those of callers it does not
// report are left out).
func TestSource(t *testing.T) {
	src := &callerreport.Source{Store: fixture(t), Now: func() time.Time { return now },
		Refusals: func() []callerreport.Refusal {
			return []callerreport.Refusal{{Caller: "dev", Reason: "capped", Count: 3}, {Caller: "dev", Reason: "cap_busy", Count: 1}, {Caller: "ci", Reason: "rate_limited", Count: 2},
				{Caller: "gone", Reason: "capped", Count: 9}, {Caller: "", Reason: "unknown_key", Count: 40}, {Caller: "free", Reason: "exhausted", Count: 0}}
		}}
	rs, err := src.Reports(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]int64{}
	for _, r := range rs {
		if !r.At.Equal(now) {
			t.Errorf("%s: at %v, want %v", r.ID, r.At, now)
		}
		got[r.ID] = r.Refusals
	}
	want := map[string]map[string]int64{"ci": {"rate_limited": 2}, "dev": {"capped": 3, "cap_busy": 1}, "free": nil, "idle": nil}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("refusals (-want +got):\n%s", diff)
	}
	r, err := src.Report(t.Context(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int64{"capped": 3, "cap_busy": 1}, r.Refusals); diff != "" || len(r.Sessions) != 1 {
		t.Errorf("dev's report: %d sessions, refusals (-want +got):\n%s", len(r.Sessions), diff)
	}
	if _, err := src.Report(t.Context(), "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Report(nobody): %v, want ErrNotFound", err)
	}
}
