package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/redistest"
)

// TestRun runs the story against the test Redis and checks its facts from
// the JSON: alice on the same subscription through both pools, their usage
// summed exactly and a resent usage counted once, A's Rebalance seen by B,
// nobody left at the end and the run's keys deleted.
func TestRun(t *testing.T) {
	t.Parallel()
	admin := redistest.Client(t) // skips (or fails) without a Redis
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-redis", redistest.URL(), "-json"}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, &out)
	}
	var res Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("the output is not JSON: %v\n%s", err, &out)
	}
	if a, b := res.Alice[0], res.Alice[1]; a.Outcome != authpool.OutcomeNew || b.Outcome != authpool.OutcomeSticky || a.SubscriptionID != b.SubscriptionID {
		t.Errorf("alice: A %+v, B %+v; want new, then sticky on the same subscription", a, b)
	}
	if res.AliceUSD != [2]float64{2, 2} || res.Duplicates != 1 {
		t.Errorf("alice's cost as A and B see it %v, B's duplicates %d; want $2.00 each and 1", res.AliceUSD, res.Duplicates)
	}
	if len(res.Moves) != 1 || res.Moves[0].ClientID != "bob" {
		t.Fatalf("A's Rebalance moved %+v; want bob alone", res.Moves)
	}
	if res.BobOnB.SubscriptionID != res.Moves[0].To || res.BobOnB.Outcome != authpool.OutcomeSticky {
		t.Errorf("B placed bob %+v after A moved him to %s; want sticky there", res.BobOnB, res.Moves[0].To)
	}
	if res.Sessions != [2]int{0, 0} || res.KeysDeleted == 0 {
		t.Errorf("at the end A and B see %v sessions, %d keys deleted; want none and some", res.Sessions, res.KeysDeleted)
	}
	if left := admin.Keys(t.Context(), "{"+res.Prefix+"}:*").Val(); len(left) > 0 {
		t.Errorf("keys left behind: %q", left)
	}
	if strings.Contains(out.String(), "sk-ant") {
		t.Error("the output shows a credential")
	}
}

// TestBadArguments checks that the program says what was wrong: a Redis that
// does not answer (and how to start one), a bad URL, an extra argument.
func TestBadArguments(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-redis", "redis://127.0.0.1:1/0"}, "no Redis answers at redis://127.0.0.1:1/0"},
		{[]string{"-redis", "http://127.0.0.1:6379"}, `-redis "http://127.0.0.1:6379"`},
		{[]string{"extra"}, `unexpected arguments ["extra"]`},
	} {
		var out bytes.Buffer
		err := run(t.Context(), tc.args, &out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run %q = %v; want an error saying %q", tc.args, err, tc.want)
		}
	}
}
