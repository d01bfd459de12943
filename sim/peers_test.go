package sim

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/authpool/authpool"
)

// step is one call to a peer allocator at a time after start: place a
// client's request (want: the account, and whether it is a failover),
// serve it there (a place that succeeded is served unless noServe),
// limit an account until a time, or release a client.
type step struct {
	at       time.Duration
	op       string // "place", "limit", "release"
	client   string
	account  string        // limit: the account
	until    time.Duration // limit: until start + until
	want     string
	failover bool
	noServe  bool
}

func place(at time.Duration, client, want string) step {
	return step{at: at, op: "place", client: client, want: want}
}

func limit(at time.Duration, account string, until time.Duration) step {
	return step{at: at, op: "limit", account: account, until: until}
}

// TestPeerRules plays each peer's rules step by step over three accounts.
func TestPeerRules(t *testing.T) {
	t.Parallel()
	const fb = authpool.FallbackID
	h := time.Hour
	tests := []struct {
		name     string
		peer     Peer
		fallback bool
		steps    []step
	}{{
		name: "round-robin takes turns, skipping accounts cooling down", peer: PeerRoundRobin, fallback: true,
		steps: []step{
			place(0, "a", "max-01"), place(1, "a", "max-02"), place(2, "b", "max-03"), place(3, "a", "max-01"),
			limit(4, "max-02", h),
			// Ready: max-01, max-03; the next turn, the second, is max-03's.
			place(5, "b", "max-03"), place(6, "b", "max-01"), place(7, "c", "max-03"),
			// max-02 is back after its reset; the next turn is the third.
			place(h, "a", "max-03"), place(h+1, "a", "max-01"), place(h+2, "a", "max-02"),
		},
	}, {
		name: "round-robin sends to the fallback when every account cools down", peer: PeerRoundRobin, fallback: true,
		steps: []step{
			limit(0, "max-01", h), limit(0, "max-02", 2*h), limit(0, "max-03", h),
			place(1, "a", fb), place(h, "a", "max-01"), place(h+1, "a", "max-03"),
		},
	}, {
		name: "without a fallback, a request with every account cooling down is refused", peer: PeerRoundRobin,
		steps: []step{
			limit(0, "max-01", h), limit(0, "max-02", h), limit(0, "max-03", h), place(1, "a", ""),
		},
	}, {
		name: "fill-first fills the first account until it is limited", peer: PeerFillFirst, fallback: true,
		steps: []step{
			place(0, "a", "max-01"), place(1, "b", "max-01"), place(2, "a", "max-01"),
			limit(3, "max-01", h), place(4, "a", "max-02"), place(5, "c", "max-02"),
			limit(6, "max-02", 2*h), place(7, "a", "max-03"),
			limit(8, "max-03", h), place(9, "a", fb),
			place(h, "b", "max-01"), // max-01's reset
		},
	}, {
		name: "lru-sticky binds a new session to the least recently used account", peer: PeerLRUSticky, fallback: true,
		steps: []step{
			// Never used accounts first, in order; then the one served longest ago.
			place(0, "a", "max-01"), place(1, "b", "max-02"), place(2, "c", "max-03"),
			place(3, "a", "max-01"), place(4, "d", "max-02"), place(5, "e", "max-03"),
			// Sessions stay bound whatever the other accounts' use.
			place(6, "a", "max-01"), place(7, "b", "max-02"), place(8, "b", "max-02"), place(9, "f", "max-03"),
		},
	}, {
		name: "lru-sticky rebinds a session whose account cools down: a failover", peer: PeerLRUSticky, fallback: true,
		steps: []step{
			place(0, "a", "max-01"), place(1, "b", "max-02"), place(2, "c", "max-03"),
			limit(3, "max-01", h),
			{at: 4, op: "place", client: "a", want: "max-02", failover: true},
			place(5, "a", "max-02"), // bound anew
			limit(6, "max-02", h), limit(6, "max-03", h),
			{at: 7, op: "place", client: "a", want: fb, failover: true},
			place(h, "a", "max-01"), // every account back: max-01 served longest ago
		},
	}, {
		name: "lru-sticky's binding expires an hour after it was made, used or not", peer: PeerLRUSticky, fallback: true,
		steps: []step{
			place(0, "a", "max-01"), place(1, "b", "max-02"), place(30*time.Minute, "a", "max-01"),
			place(h-1, "a", "max-01"),
			// Bound an hour ago: bound anew, to the least recently used (max-03, never).
			place(h, "a", "max-03"), place(h+1, "a", "max-03"),
		},
	}, {
		name: "lru-sticky forgets a released session", peer: PeerLRUSticky, fallback: true,
		steps: []step{
			place(0, "a", "max-01"), place(1, "b", "max-02"), place(2, "c", "max-03"),
			{at: 3, op: "release", client: "a"}, place(4, "b", "max-02"),
			// a is new again: the least recently used is max-01 (served at 0).
			place(5, "a", "max-01"),
		},
	}, {
		name: "lru-sticky does not serve a failed request", peer: PeerLRUSticky, fallback: true,
		steps: []step{
			{at: 0, op: "place", client: "a", want: "max-01", noServe: true},
			// max-01 never served: still the least recently used for b.
			place(1, "b", "max-01"), place(2, "c", "max-02"),
		},
	}}
	ids := []string{"max-01", "max-02", "max-03"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := t0
			a := newPeer(tt.peer, ids, tt.fallback, func() time.Time { return now }, rand.New(rand.NewPCG(1, 2)))
			for i, s := range tt.steps {
				now = t0.Add(s.at)
				var err error
				switch s.op {
				case "limit":
					err = a.Limited(t.Context(), s.account, t0.Add(s.until), "test")
				case "release":
					err = a.Release(t.Context(), s.client)
				default:
					var p Placement
					if p, err = a.Place(t.Context(), s.client); err == nil && (p.Account != s.want || p.Failover != s.failover) {
						t.Fatalf("step %d: %s placed on %q (failover %v), want %q (%v)", i, s.client, p.Account, p.Failover, s.want, s.failover)
					}
					if err == nil && p.Account != "" && !s.noServe {
						err = a.Served(t.Context(), s.client, p.Account, 1)
					}
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
		})
	}
}

// t0 is the start of the peer tests.
var t0 = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// TestWeightedRandom checks that weighted-random draws each account in
// proportion to its weight, never one cooling down, and the same accounts
// for the same seed.
func TestWeightedRandom(t *testing.T) {
	t.Parallel()
	ids := []string{"max-01", "max-02", "max-03"}
	draw := func(seed uint64, weights []float64, cooling string, n int) (map[string]int, []string) {
		a := newPeer(PeerWeightedRandom, ids, true, func() time.Time { return t0 }, rand.New(rand.NewPCG(seed, 0x9ee7)))
		copy(a.weights, weights)
		if cooling != "" {
			if err := a.Limited(t.Context(), cooling, t0.Add(time.Hour), "test"); err != nil {
				t.Fatal(err)
			}
		}
		counts := make(map[string]int)
		var seq []string
		for range n {
			p, err := a.Place(t.Context(), "c")
			if err != nil {
				t.Fatal(err)
			}
			counts[p.Account]++
			seq = append(seq, p.Account)
		}
		return counts, seq
	}
	const n = 30000
	tests := []struct {
		name    string
		weights []float64
		cooling string
		want    map[string]float64 // shares
	}{
		{"equal weights", []float64{1, 1, 1}, "", map[string]float64{"max-01": 1.0 / 3, "max-02": 1.0 / 3, "max-03": 1.0 / 3}},
		{"weights 3:1:0", []float64{3, 1, 0}, "", map[string]float64{"max-01": 0.75, "max-02": 0.25}},
		{"one cooling down", []float64{1, 1, 1}, "max-02", map[string]float64{"max-01": 0.5, "max-03": 0.5}},
	}
	for _, tt := range tests {
		counts, _ := draw(1, tt.weights, tt.cooling, n)
		for acc, c := range counts {
			if share := float64(c) / n; math.Abs(share-tt.want[acc]) > 0.02 {
				t.Errorf("%s: %s drawn %.3f of the time, want %.3f", tt.name, acc, share, tt.want[acc])
			}
		}
	}
	_, a := draw(7, []float64{1, 1, 1}, "", 50)
	_, b := draw(7, []float64{1, 1, 1}, "", 50)
	_, c := draw(8, []float64{1, 1, 1}, "", 50)
	if !equal(a, b) || equal(a, c) {
		t.Errorf("seed 7 twice: %v and %v (want equal); seed 8: %v (want different)", a, b, c)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
