package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool/internal/redistest"
)

// TestMain lets the test binary play the instances: the coordinator runs
// os.Executable, which under go test is this binary.
func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	if len(os.Args) > 1 && os.Args[1] == instanceFlag {
		if err := serveInstance(context.Background(), os.Args[1:], os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "multiinstance:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// nanodollars converts dollars to the integer unit the pool counts in.
func nanodollars(usd float64) int64 { return int64(math.Round(usd * 1e9)) }

// TestRun runs the program against the test Redis and checks the story's
// facts from its JSON: alice on the same subscription through both
// instances, both instances' usage summed exactly, A's Rebalance seen by B,
// nobody left at the end, the run's keys deleted and its processes gone.
func TestRun(t *testing.T) {
	t.Parallel()
	admin := redistest.Client(t) // skips (or fails) without a Redis
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"-redis", redistest.URL(), "-prefix", "test/multiinstance", "-json"}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s\nstdout:\n%s", err, &stderr, &stdout)
	}
	var res Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("the output is not JSON: %v\n%s", err, &stdout)
	}
	t.Cleanup(func() { redistest.DeleteKeys(t, admin, keyPattern(res.Prefix)) }) // should be none

	// Two processes, neither this one.
	a, b := res.PIDs["A"], res.PIDs["B"]
	if a == 0 || b == 0 || a == b || a == os.Getpid() || b == os.Getpid() {
		t.Errorf("instances' PIDs %v (this process %d): want two other processes", res.PIDs, os.Getpid())
	}
	if !strings.HasPrefix(res.Prefix, "test/multiinstance/") || len(res.Prefix) <= len("test/multiinstance/") {
		t.Errorf("prefix %q: want test/multiinstance/ and a random suffix", res.Prefix)
	}

	// 1. The same subscription through both instances.
	home := res.Alice["A"].SubscriptionID
	if res.Alice["A"].Outcome.String() != "new" || res.Alice["B"].Outcome.String() != "sticky" ||
		home == "" || res.Alice["B"].SubscriptionID != home {
		t.Errorf("alice: A %+v, B %+v; want new, then sticky on the same subscription", res.Alice["A"], res.Alice["B"])
	}

	// 2. The sum, to the nanodollar, as both instances see it.
	want := nanodollars(res.RecordedUSD["A"]) + nanodollars(res.RecordedUSD["B"])
	if want != nanodollars(2.00) {
		t.Errorf("recorded %v, want $1.20 + $0.80", res.RecordedUSD)
	}
	for _, name := range []string{"A", "B"} {
		snap := res.Summed[name]
		sess, ok := session(snap, "alice")
		sub, _ := subscription(snap, home)
		if !ok || nanodollars(sess.CostUSD) != want || sess.Requests != 2 || sess.SubscriptionID != home {
			t.Errorf("%s sees alice's session %+v (found %t); want %d nanodollars over 2 requests on %s", name, sess, ok, want, home)
		}
		if nanodollars(sub.Block.CostUSD) != want || nanodollars(sub.Week.CostUSD) != want {
			t.Errorf("%s sees %s's block at %v and week at %v; want %d nanodollars", name, home, sub.Block.CostUSD, sub.Week.CostUSD, want)
		}
		if snap.DuplicateRecords != map[string]int64{"A": 0, "B": 1}[name] {
			t.Errorf("%s's DuplicateRecords = %d", name, snap.DuplicateRecords)
		}
	}

	// 3. A moved bob; B sees him moved, and keeps him there.
	if len(res.Rebalance.Moves) != 1 {
		t.Fatalf("A's Rebalance moved %+v; want one client", res.Rebalance.Moves)
	}
	m := res.Rebalance.Moves[0]
	if m.ClientID != "bob" || m.From == m.To || m.To == "" {
		t.Errorf("A's Rebalance moved %+v; want bob, from one subscription to another", m)
	}
	if seen, ok := session(res.Rebalanced, "bob"); !ok || seen.SubscriptionID != m.To {
		t.Errorf("B sees bob's session %+v (found %t) after A's Rebalance; want it on %s", seen, ok, m.To)
	}
	if from, _ := subscription(res.Rebalanced, m.From); from.Clients != 0 {
		t.Errorf("B sees %d clients on %s after A moved bob off it", from.Clients, m.From)
	}
	if res.BobAfter.SubscriptionID != m.To || res.BobAfter.Outcome.String() != "sticky" {
		t.Errorf("B placed bob %+v after A's Rebalance; want sticky on %s", res.BobAfter, m.To)
	}
	if alice, _ := session(res.Rebalanced, "alice"); alice.SubscriptionID != home {
		t.Errorf("alice, active, is on %q after the Rebalance; want %s", alice.SubscriptionID, home)
	}

	// 4. Everyone left; both instances agree on the week.
	fa, fb := res.Final["A"], res.Final["B"]
	if len(fa.Sessions) != 0 || len(fb.Sessions) != 0 || len(fa.Subscriptions) != 3 || len(fb.Subscriptions) != 3 {
		t.Errorf("at the end A sees %d sessions and %d subscriptions, B %d and %d; want 0 and 3",
			len(fa.Sessions), len(fa.Subscriptions), len(fb.Sessions), len(fb.Subscriptions))
	}
	for i := range min(len(fa.Subscriptions), len(fb.Subscriptions)) {
		sa, sb := fa.Subscriptions[i], fb.Subscriptions[i]
		if sa.ID != sb.ID || sa.Week.CostUSD != sb.Week.CostUSD || sa.Clients != 0 || sb.Clients != 0 {
			t.Errorf("at the end A sees %s %v (%d clients), B %s %v (%d clients)", sa.ID, sa.Week.CostUSD, sa.Clients, sb.ID, sb.Week.CostUSD, sb.Clients)
		}
	}

	// The story says so, and shows no credential.
	story := strings.Join(res.Story, "\n")
	for _, line := range []string{
		"A    alice → " + home + " (new: new client)",
		"B    alice → " + home + " (sticky: the session A made)",
		"A    sees alice's session at $2.00 over 2 requests",
		"B    sees alice's session at $2.00 over 2 requests",
		"A    Rebalance moved bob " + m.From + " → " + m.To,
		"B    sees bob on " + m.To,
		"B    bob → " + m.To + " (sticky: the session A's Rebalance moved)",
	} {
		if !strings.Contains(story, line) {
			t.Errorf("the story lacks %q:\n%s", line, story)
		}
	}
	if strings.Contains(stdout.String(), "sk-ant") {
		t.Error("the output shows a credential")
	}

	// Nothing is left behind: no key under the prefix, no process.
	iter := admin.Scan(t.Context(), 0, keyPattern(res.Prefix), 1000).Iterator()
	var left []string
	for iter.Next(t.Context()) {
		left = append(left, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if res.KeysDeleted == 0 || len(left) > 0 {
		t.Errorf("deleted %d keys; left %q", res.KeysDeleted, left)
	}
	if runtime.GOOS == "linux" {
		for name, pid := range res.PIDs {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); !os.IsNotExist(err) {
				t.Errorf("instance %s (process %d) outlived the run", name, pid)
			}
		}
	}
}

// TestNoRedis checks that the program says which Redis it could not reach
// and how to start one.
func TestNoRedis(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"-redis", "redis://127.0.0.1:1/0"}, &stdout, &stderr)
	if err == nil {
		t.Fatal("run succeeded with no Redis at 127.0.0.1:1")
	}
	for _, want := range []string{"no Redis answers at redis://127.0.0.1:1/0", "redis-server", "-redis"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if stdout.Len() > 0 {
		t.Errorf("printed %q before failing", &stdout)
	}
}

// TestFlags checks the refusals of bad arguments.
func TestFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-prefix", "a*b"},
		{"-prefix", "{x}"},
		{"-redis", "http://127.0.0.1:6379"},
		{"extra"},
	} {
		var stdout, stderr bytes.Buffer
		if err := run(t.Context(), args, &stdout, &stderr); err == nil {
			t.Errorf("run %q succeeded", args)
		}
	}
}
