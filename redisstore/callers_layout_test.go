package redisstore_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/store"
)

// TestCallerKeys checks the callers' key layout: every key under the
// prefix's hash tag, the key hash kept in hex and never the key, the
// spending's keys expiring a day after the week of the newest hour, the
// leases' after twice their length (at least ten minutes), the charges'
// usage IDs after twice their remembrance; and nothing of a caller left
// but the usage IDs once it is deleted.
func TestCallerKeys(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	s := redisstore.New(c, redisstore.WithPrefix(prefix))
	tag := "{" + prefix + "}:"

	const key = "apk-the-callers-own-key-never-stored"
	hash := sha256.Sum256([]byte(key))
	must(t, s.CreateCaller(ctx, store.Caller{ID: "alice", KeyHash: hash, Cap: 1e9, Created: t0}), "CreateCaller")
	must(t, s.CreateCaller(ctx, store.Caller{ID: "bob", KeyHash: sha256.Sum256([]byte("bob"))}), "CreateCaller")
	now := t0.Add(3 * time.Hour)
	ch := store.Charge{UsageID: "msg-1", At: t0.Add(90 * time.Minute), Cost: 7, Session: "s1", Now: now,
		Remember: 6 * time.Hour, RememberBytes: 1 << 20}
	if _, err := s.ChargeCaller(ctx, "alice", ch); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdmitCaller(ctx, "alice", now, 1e9, 5, time.Hour); err != nil {
		t.Fatal(err)
	}

	want := []string{tag + "caller:alice", tag + "caller:bob", tag + "callers", tag + "cb:alice", tag + "cids", tag + "cidh",
		tag + "ckeys", tag + "cl:alice", tag + "cs:alice", tag + "csd:alice"}
	slices.Sort(want)
	diffStrings(t, "keys", keysUnder(t, c, prefix), want)
	if got, err := c.HGet(ctx, tag+"ckeys", hex.EncodeToString(hash[:])).Result(); err != nil || got != "alice" {
		t.Errorf("the key index maps alice's key hash to %q, %v", got, err)
	}
	dump := fmt.Sprint(c.HGetAll(ctx, tag+"caller:alice").Val(), c.HGetAll(ctx, tag+"ckeys").Val())
	if strings.Contains(dump, key) {
		t.Errorf("the caller's records hold its key: %s", dump)
	}

	// The spending expires a day after the week its newest hour (t0+1h)
	// serves, counted from the charge's Now.
	spending := t0.Add(2*time.Hour + store.WeekHours*time.Hour + 24*time.Hour).Sub(now)
	for _, k := range []string{"cb:alice", "cs:alice", "csd:alice"} {
		near(t, k, pttl(t, c, tag+k), spending)
	}
	near(t, "the leases", pttl(t, c, tag+"cl:alice"), 2*time.Hour)
	near(t, "the charges' usage IDs", pttl(t, c, tag+"cids"), 2*ch.Remember)
	near(t, "their horizon", pttl(t, c, tag+"cidh"), 2*ch.Remember)
	for _, k := range []string{"caller:alice", "caller:bob", "callers", "ckeys"} {
		if d := pttl(t, c, tag+k); d != -1 {
			t.Errorf("%s expires in %v, want it kept", k, d)
		}
	}

	must(t, s.DeleteCaller(ctx, "alice"), "DeleteCaller")
	diffStrings(t, "keys after DeleteCaller", keysUnder(t, c, prefix),
		[]string{tag + "caller:bob", tag + "callers", tag + "cidh", tag + "cids", tag + "ckeys"})
}

// TestCallerLeasesKeepLongest checks that a short lease does not shorten the
// leases' key below a longer lease's time.
func TestCallerLeasesKeepLongest(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	s := redisstore.New(c, redisstore.WithPrefix(prefix))
	must(t, s.CreateCaller(ctx, store.Caller{ID: "a", KeyHash: sha256.Sum256([]byte("a"))}), "CreateCaller")
	for _, lease := range []time.Duration{time.Hour, time.Second} {
		if _, err := s.AdmitCaller(ctx, "a", t0, 1e9, 5, lease); err != nil {
			t.Fatal(err)
		}
	}
	near(t, "the leases", pttl(t, c, "{"+prefix+"}:cl:a"), 2*time.Hour)
}

// TestCallerSpendingStaysSmall checks that a caller's spending takes a
// bounded room: 60 days of hourly charges, each of a new session, leave
// one ring of at most WeekHours slots and the sessions of the last week
// (those older go a few at each charge), not every session.
func TestCallerSpendingStaysSmall(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	s := redisstore.New(c, redisstore.WithPrefix(prefix))
	must(t, s.CreateCaller(ctx, store.Caller{ID: "a", KeyHash: sha256.Sum256([]byte("a"))}), "CreateCaller")
	const hours = 60 * 24
	for h := range hours {
		when := t0.Add(time.Duration(h) * time.Hour)
		if _, err := s.ChargeCaller(ctx, "a", store.Charge{At: when, Cost: 1, Session: fmt.Sprint("s", h)}); err != nil {
			t.Fatal(err)
		}
	}
	tag := "{" + prefix + "}:"
	if n := c.HLen(ctx, tag+"cb:a").Val(); n > 7*store.WeekHours+1 {
		t.Errorf("the ring holds %d fields after 60 days, want at most %d", n, 7*store.WeekHours+1)
	}
	if n := c.ZCard(ctx, tag+"cs:a").Val(); n != store.WeekHours {
		t.Errorf("%d sessions are kept after 60 days of a session an hour, want the week's %d", n, store.WeekHours)
	}
	if n := c.HLen(ctx, tag+"csd:a").Val(); n != 8*store.WeekHours {
		t.Errorf("the sessions' totals hold %d fields, want %d", n, 8*store.WeekHours)
	}
}
