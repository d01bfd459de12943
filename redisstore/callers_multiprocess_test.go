package redisstore_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/store"
)

// The caller-cap test's shape: processes × goroutines sending requests of
// one cost against a cap of capRequests of them.
const (
	ccProcesses   = 2
	ccGoroutines  = 6
	ccCost        = store.Nanodollars(1_234_567)
	ccCapRequests = 150
	ccBudget      = ccCapRequests * ccCost
	// envCallerWorker names the variable that makes TestMultiProcessCallerCap
	// a worker: its value is the worker's ccSpec in JSON.
	envCallerWorker = "AUTHPOOL_CALLERCAP_WORKER"
	ccMarker        = "authpool-callercap-result "
)

// ccSpec is what a worker is told: the prefix, its index, and when to start
// (the same instant for every worker, so that they race).
type ccSpec struct {
	Prefix string    `json:"prefix"`
	Index  int       `json:"index"`
	Start  time.Time `json:"start"`
}

// ccResult is what a worker reports.
type ccResult struct {
	Charged     int `json:"charged"`     // requests admitted and charged
	Waits       int `json:"waits"`       // admissions refused below the cap, for requests in flight
	MaxInFlight int `json:"maxInFlight"` // the most leases in flight an admission saw, of every process
}

// TestMultiProcessCallerCap runs 2 OS processes (this test binary again, as
// workers), each with a Redis client of its own and 6 goroutines, that
// admit, charge and release requests of one caller against one cap on one
// prefix until the cap is spent: together they spend at least the cap and
// less than the cap plus one request's cost, and the store counts exactly
// what they charged.
func TestMultiProcessCallerCap(t *testing.T) {
	if spec := os.Getenv(envCallerWorker); spec != "" {
		ccWorker(t, spec)
		return
	}
	t.Parallel()
	ctx := t.Context()
	admin := redistest.Client(t)
	prefix := redistest.Prefix(t, admin)
	st := redisstore.New(admin, redisstore.WithPrefix(prefix))
	must(t, st.CreateCaller(ctx, store.Caller{ID: "ci", KeyHash: sha256.Sum256([]byte("ci")), Cap: ccBudget, CapWindowHours: 5}), "CreateCaller")

	type worker struct {
		cmd      *exec.Cmd
		out, err bytes.Buffer
	}
	start := time.Now().Add(500 * time.Millisecond) // time for both to start
	workers := make([]*worker, ccProcesses)
	for i := range workers {
		spec, _ := json.Marshal(ccSpec{Prefix: prefix, Index: i, Start: start})
		w := &worker{cmd: exec.CommandContext(ctx, os.Args[0], "-test.run=^TestMultiProcessCallerCap$", "-test.count=1", "-test.timeout=2m")}
		w.cmd.Env = append(os.Environ(), envCallerWorker+"="+string(spec))
		w.cmd.Stdout, w.cmd.Stderr = &w.out, &w.err
		if err := w.cmd.Start(); err != nil {
			t.Fatalf("starting worker %d: %v", i, err)
		}
		workers[i] = w
	}
	var total ccResult
	for i, w := range workers {
		err := w.cmd.Wait()
		r, perr := ccParse(w.out.String())
		if err != nil || perr != nil {
			t.Fatalf("worker %d: %v %v\nstdout:\n%s\nstderr:\n%s", i, err, perr, w.out.String(), w.err.String())
		}
		t.Logf("worker %d: %+v", i, r)
		total.Charged += r.Charged
		total.Waits += r.Waits
		total.MaxInFlight = max(total.MaxInFlight, r.MaxInFlight)
	}
	hours, err := st.CallerUsage(ctx, "ci", store.HourOf(start)-1, store.HourOf(time.Now()))
	must(t, err, "CallerUsage")
	var spent store.Nanodollars
	var requests int64
	for _, h := range hours {
		spent += h.Cost
		requests += h.Requests
	}
	t.Logf("%d processes × %d goroutines spent %d nanodollars in %d requests against a cap of %d (%d requests)",
		ccProcesses, ccGoroutines, spent, requests, ccBudget, ccCapRequests)
	if requests != int64(total.Charged) || spent != ccCost*store.Nanodollars(total.Charged) {
		t.Errorf("the store counts %d requests costing %d; the workers charged %d", requests, spent, total.Charged)
	}
	if spent < ccBudget || spent >= ccBudget+ccCost {
		t.Errorf("spent %d against a cap of %d at %d a request: want at least the cap and less than cap + one request", spent, ccBudget, ccCost)
	}
	if total.MaxInFlight < 2 {
		t.Errorf("no admission saw more than %d requests in flight: the processes did not race", total.MaxInFlight)
	}
}

// ccWorker is one worker process: ccGoroutines goroutines admitting,
// charging and releasing until the cap is spent. It writes its ccResult on
// stdout.
func ccWorker(t *testing.T, specJSON string) {
	var spec ccSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		t.Fatalf("%s: %v", envCallerWorker, err)
	}
	ctx := context.Background()
	c := redis.NewClient(redistest.Options(t))
	defer c.Close()
	st := redisstore.New(c, redisstore.WithPrefix(spec.Prefix))
	time.Sleep(time.Until(spec.Start))

	var mu sync.Mutex
	var res ccResult
	var wg sync.WaitGroup
	for g := range ccGoroutines {
		wg.Go(func() {
			for i := 0; ; i++ {
				now := time.Now()
				a, err := st.AdmitCaller(ctx, "ci", now, ccBudget, 5, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				res.MaxInFlight = max(res.MaxInFlight, a.InFlight)
				if !a.Admitted && a.Used < ccBudget {
					res.Waits++
				}
				mu.Unlock()
				switch {
				case !a.Admitted && a.Used >= ccBudget:
					return
				case !a.Admitted:
					time.Sleep(100 * time.Microsecond)
					continue
				}
				time.Sleep(time.Millisecond) // the request, in flight
				ch := store.Charge{UsageID: fmt.Sprintf("w%d-g%d-%d", spec.Index, g, i), At: now, Cost: ccCost, Session: fmt.Sprint("g", g),
					Now: time.Now(), Remember: time.Hour, RememberBytes: 1 << 20}
				if ok, err := st.ChargeCaller(ctx, "ci", ch); err != nil || !ok {
					t.Errorf("ChargeCaller = %v, %v", ok, err)
					return
				}
				mu.Lock()
				res.Charged++
				mu.Unlock()
				if err := st.ReleaseCaller(ctx, "ci", a.LeaseID); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b, _ := json.Marshal(res)
	fmt.Printf("%s%s\n", ccMarker, b)
}

// ccParse finds a worker's result in its output.
func ccParse(out string) (ccResult, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), ccMarker); ok {
			var r ccResult
			err := json.Unmarshal([]byte(rest), &r)
			return r, err
		}
	}
	return ccResult{}, errors.New("no result line")
}
