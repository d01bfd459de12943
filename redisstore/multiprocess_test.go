package redisstore_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/store"
)

// The multi-process test's shape: processes × clients each = 1,000 clients
// on subscriptions with room for far fewer.
const (
	mpProcesses = 4
	mpClients   = 250 // per process
	mpRun       = 3 * time.Second
	// mpWatchEvery is how often the parent checks the store's capacity.
	mpWatchEvery = 20 * time.Millisecond
	// mpCacheTTL is the prompt cache's time to live half the usages say
	// they wrote: their client holds its slot that long — the whole run, so
	// that the 1,000 clients fill the 84 slots and some are refused however
	// slowly a loaded machine runs them.
	mpCacheTTL = mpRun
	// envWorker names the variable that makes TestMultiProcess a worker:
	// its value is the worker's mpSpec in JSON.
	envWorker = "AUTHPOOL_MULTIPROCESS_WORKER"
	// resultMarker starts the line on which a worker reports its mpResult.
	resultMarker = "authpool-multiprocess-result "
)

// mpConfig is the pool every process runs: room for 84 clients holding a
// slot in all, no budgets (so only capacity turns clients away), and
// clients idle after 20 ms with a gap of 5 cents enough for Rebalance to
// move them: moves compete with allocations for the same places. Half the
// usages keep their client's slot for mpCacheTTL (see mpClient), so that
// clients working on fill the slots.
func mpConfig() authpool.Config {
	cfg := authpool.Config{
		Sessions:  authpool.SessionPolicy{IdleAfter: authpool.Duration(20 * time.Millisecond)},
		Rebalance: authpool.RebalancePolicy{MinGapUSD: 0.05, MaxMoves: 5},
	}
	for i, max := range []int{3, 6, 9, 12, 15, 18, 21} {
		cfg.Subscriptions = append(cfg.Subscriptions, authpool.Subscription{
			ID: fmt.Sprintf("sub-%d", i), Kind: authpool.KindMax5x, Credential: authpool.Credential(fmt.Sprintf("sk-mp-%d", i)),
			MaxClients: max,
		})
	}
	return cfg
}

// mpSpec is what a worker is told.
type mpSpec struct {
	Prefix   string        `json:"prefix"`
	Index    int           `json:"index"`
	Clients  int           `json:"clients"`
	Duration time.Duration `json:"duration"`
}

// mpResult is what a worker reports: what it sent, and what left the store
// with the sessions it released.
type mpResult struct {
	Sent         store.Nanodollars `json:"sent"`         // cost of the usages counted (an ID once)
	Usages       int64             `json:"usages"`       // usages counted
	Resent       int64             `json:"resent"`       // usages sent again with an ID already recorded
	Released     store.Nanodollars `json:"released"`     // cost in the sessions it released
	ReleasedReqs int64             `json:"releasedReqs"` // requests in the sessions it released
	Allocations  int64             `json:"allocations"`  // successful Allocates
	Exhausted    int64             `json:"exhausted"`    // Allocates refused with ErrExhausted
	Rebalanced   int64             `json:"rebalanced"`   // clients its Rebalance moved
}

// TestMultiProcess runs one pool in 4 OS processes (this test binary again,
// as workers) on one Redis prefix: 1,000 clients allocate, record (with and
// without usage IDs, some IDs twice) and release at once for a few seconds,
// while each process rebalances. Meanwhile the test reads the store every
// 20 ms: no subscription ever has more clients holding a slot than its
// MaxClients, by its holds (and, once the workers stopped, by its sessions'
// holds: a read of 1,000 sessions takes several steps, so while they run it
// is no snapshot). At the end the store
// holds, to the nanodollar, what the workers sent: in the subscriptions'
// hourly buckets, and in the sessions plus the sessions released.
func TestMultiProcess(t *testing.T) {
	if spec := os.Getenv(envWorker); spec != "" {
		mpWorker(t, spec)
		return
	}
	t.Parallel()
	admin := redistest.Client(t)
	prefix := redistest.Prefix(t, admin)
	st := redisstore.New(admin, redisstore.WithPrefix(prefix))
	ctx := t.Context()

	// Make the subscriptions first, so the watcher knows them from the start.
	p, err := authpool.New(ctx, mpConfig(), authpool.WithStore(st))
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Close(ctx)

	// The watcher.
	stop := make(chan struct{})
	var watches atomic.Int64
	var watchErr atomic.Pointer[string]
	var watcher sync.WaitGroup
	watcher.Go(func() {
		tick := time.NewTicker(mpWatchEvery)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if msg := checkCapacity(ctx, st, false); msg != "" {
				watchErr.CompareAndSwap(nil, &msg)
			}
			watches.Add(1)
		}
	})

	// The workers.
	type worker struct {
		cmd      *exec.Cmd
		out, err bytes.Buffer
	}
	workers := make([]*worker, mpProcesses)
	start := time.Now()
	for i := range workers {
		spec, _ := json.Marshal(mpSpec{Prefix: prefix, Index: i, Clients: mpClients, Duration: mpRun})
		w := &worker{cmd: exec.CommandContext(ctx, os.Args[0], "-test.run=^TestMultiProcess$", "-test.count=1", "-test.timeout=2m")}
		w.cmd.Env = append(os.Environ(), envWorker+"="+string(spec))
		w.cmd.Stdout, w.cmd.Stderr = &w.out, &w.err
		if err := w.cmd.Start(); err != nil {
			t.Fatalf("starting worker %d: %v", i, err)
		}
		workers[i] = w
	}
	var total mpResult
	for i, w := range workers {
		err := w.cmd.Wait()
		r, perr := parseResult(w.out.String())
		if err != nil || perr != nil {
			t.Errorf("worker %d: %v %v\nstdout:\n%s\nstderr:\n%s", i, err, perr, w.out.String(), w.err.String())
			continue
		}
		t.Logf("worker %d: %+v", i, r)
		total.Sent += r.Sent
		total.Usages += r.Usages
		total.Resent += r.Resent
		total.Released += r.Released
		total.ReleasedReqs += r.ReleasedReqs
		total.Allocations += r.Allocations
		total.Exhausted += r.Exhausted
		total.Rebalanced += r.Rebalanced
	}
	close(stop)
	watcher.Wait()
	t.Logf("%d processes ran %v; the store was checked %d times; in all %+v",
		mpProcesses, time.Since(start).Round(time.Millisecond), watches.Load(), total)
	if t.Failed() {
		return
	}
	if msg := watchErr.Load(); msg != nil {
		t.Errorf("while the workers ran: %s", *msg)
	}
	if msg := checkCapacity(ctx, st, true); msg != "" {
		t.Errorf("at the end: %s", msg)
	}
	if n := watches.Load(); n < int64(mpRun/mpWatchEvery/4) {
		t.Errorf("the store was checked only %d times while the workers ran", n)
	}
	if total.Exhausted == 0 || total.Allocations == 0 || total.Usages == 0 || total.Resent == 0 {
		t.Errorf("the run did not exercise what it should: %+v", total)
	}

	subs, err := st.Subscriptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var buckets store.Nanodollars
	var bucketReqs int64
	for _, s := range subs {
		for _, b := range s.Usage {
			buckets += b.Cost
			bucketReqs += b.Requests
		}
	}
	sessions, err := st.Sessions(ctx, store.SessionQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var inSessions store.Nanodollars
	var sessionReqs int64
	for _, s := range sessions {
		inSessions += s.Cost
		sessionReqs += s.Requests
	}
	if buckets != total.Sent || bucketReqs != total.Usages {
		t.Errorf("the hourly buckets hold %d nanodollars in %d requests; the workers sent %d in %d",
			buckets, bucketReqs, total.Sent, total.Usages)
	}
	if inSessions+total.Released != total.Sent || sessionReqs+total.ReleasedReqs != total.Usages {
		t.Errorf("the sessions hold %d nanodollars in %d requests and the released ones held %d in %d; the workers sent %d in %d",
			inSessions, sessionReqs, total.Released, total.ReleasedReqs, total.Sent, total.Usages)
	}
}

// checkCapacity reads the store and describes a subscription with more
// clients holding a slot than its MaxClients, by its holds or by the holds
// of the sessions on it (when quiet: nothing writes, so that the sessions,
// read in several steps, are a snapshot), or a failed read; it returns "" if
// all is well. The workers' clock is this process's: a hold after now, read
// after the store was, held a slot at every write before.
func checkCapacity(ctx context.Context, st store.Store, quiet bool) string {
	subs, err := st.Subscriptions(ctx)
	if err != nil {
		return fmt.Sprintf("Subscriptions: %v", err)
	}
	var sessions []store.Session
	if quiet {
		if sessions, err = st.Sessions(ctx, store.SessionQuery{}); err != nil {
			return fmt.Sprintf("Sessions: %v", err)
		}
	}
	now := time.Now()
	holding := map[string]int{}
	for _, s := range sessions {
		if s.HoldUntil.After(now) {
			holding[s.SubscriptionID]++
		}
	}
	for _, s := range subs {
		n := 0
		for _, h := range s.Holds {
			if h.After(now) {
				n++
			}
		}
		if n > s.MaxClients || holding[s.ID] > s.MaxClients {
			return fmt.Sprintf("%s lists %d holds and has %d sessions holding a slot, more than its %d", s.ID, n, holding[s.ID], s.MaxClients)
		}
	}
	return ""
}

// parseResult finds a worker's result in its output.
func parseResult(out string) (mpResult, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), resultMarker); ok {
			var r mpResult
			err := json.Unmarshal([]byte(rest), &r)
			return r, err
		}
	}
	return mpResult{}, errors.New("no result line")
}

// mpWorker is one worker process: a pool of its own on the shared prefix,
// spec.Clients clients, each in a goroutine, and a Rebalance every 25 ms.
// It writes its mpResult on stdout.
func mpWorker(t *testing.T, specJSON string) {
	var spec mpSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		t.Fatalf("%s: %v", envWorker, err)
	}
	ctx := context.Background()
	o := redistest.Options(t)
	o.PoolSize = 32
	c := redis.NewClient(o)
	defer c.Close()
	p, err := authpool.New(ctx, mpConfig(), authpool.WithStore(redisstore.New(c, redisstore.WithPrefix(spec.Prefix))))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)

	end := time.Now().Add(spec.Duration)
	var mu sync.Mutex
	var res mpResult
	var wg sync.WaitGroup
	wg.Go(func() {
		for time.Now().Before(end) {
			r, err := p.Rebalance(ctx)
			if err != nil {
				t.Errorf("Rebalance: %v", err)
				return
			}
			if len(r.Released) > 0 {
				t.Errorf("Rebalance released %d sessions; none is stale", len(r.Released))
			}
			mu.Lock()
			res.Rebalanced += int64(len(r.Moves))
			mu.Unlock()
			time.Sleep(25 * time.Millisecond)
		}
	})
	for i := range spec.Clients {
		wg.Go(func() {
			r := mpClient(t, p, spec, i, end)
			mu.Lock()
			defer mu.Unlock()
			res.Sent += r.Sent
			res.Usages += r.Usages
			res.Resent += r.Resent
			res.Released += r.Released
			res.ReleasedReqs += r.ReleasedReqs
			res.Allocations += r.Allocations
			res.Exhausted += r.Exhausted
		})
	}
	wg.Wait()
	b, _ := json.Marshal(res)
	fmt.Printf("\n%s%s\n", resultMarker, b)
}

// mpClient is one client of a worker, until end: it allocates (waiting a
// little when the pool is full), records one to four usages, and leaves
// one time in three, keeping count of what it sent and what it took away
// with the sessions it released.
func mpClient(t *testing.T, p *authpool.Pool, spec mpSpec, i int, end time.Time) mpResult {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(uint64(spec.Index), uint64(i)))
	id := fmt.Sprintf("p%d-c%03d", spec.Index, i)
	var r mpResult
	var sessCost store.Nanodollars // in the client's current session
	var sessReqs int64
	for n := 0; time.Now().Before(end); {
		a, err := p.Allocate(ctx, id)
		if errors.Is(err, authpool.ErrExhausted) {
			r.Exhausted++
			time.Sleep(time.Duration(20+rng.IntN(40)) * time.Millisecond)
			continue
		}
		if err != nil {
			t.Errorf("Allocate(%s): %v", id, err)
			return r
		}
		r.Allocations++
		for range 1 + rng.IntN(4) {
			n++
			u := authpool.Usage{Time: time.Now()}
			if rng.IntN(2) == 0 {
				u.CostUSD = float64(1+rng.IntN(500)) / 100 // whole cents
			} else {
				u.CostUSD = float64(1+rng.IntN(1_000_000)) / 1e9 // nanodollars
			}
			if rng.IntN(2) == 0 {
				u.SubscriptionID = a.SubscriptionID
			}
			if rng.IntN(2) == 0 {
				u.CacheTTL = mpCacheTTL
			}
			kind := rng.IntN(3) // 0: no ID, 1: an ID, 2: an ID sent twice
			if kind > 0 {
				u.ID = fmt.Sprintf("%s-u%d", id, n)
			}
			if err := p.Record(ctx, id, u); err != nil {
				t.Errorf("Record(%s, %+v): %v", id, u, err)
				return r
			}
			cost, err := store.FromUSD(u.CostUSD)
			if err != nil {
				t.Errorf("FromUSD(%v): %v", u.CostUSD, err)
				return r
			}
			r.Sent += cost
			r.Usages++
			sessCost += cost
			sessReqs++
			if kind == 2 {
				u.CostUSD *= 2 // a retry's cost must not count either
				if err := p.Record(ctx, id, u); err != nil {
					t.Errorf("Record(%s, %+v) again: %v", id, u, err)
					return r
				}
				r.Resent++
			}
		}
		if rng.IntN(3) == 0 {
			if err := p.Release(ctx, id); err != nil {
				t.Errorf("Release(%s): %v", id, err)
				return r
			}
			r.Released += sessCost
			r.ReleasedReqs += sessReqs
			sessCost, sessReqs = 0, 0
		}
		time.Sleep(time.Duration(5+rng.IntN(60)) * time.Millisecond)
	}
	return r
}
