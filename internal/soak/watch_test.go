package soak

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/redistest"
)

// sample is the process and the Redis at one instant of the run.
type sample struct {
	At         time.Duration // since the load started
	Goroutines int
	Heap       uint64 // bytes of live heap: HeapAlloc right after runtime.GC
	Keys       int64  // DBSIZE of the test's own Redis
	// IDKeys is how many usage IDs Redis remembers (the members of
	// {soak}:ids: each is forgotten once its usage is RememberUsageIDs old,
	// a few at each new one). ClaimKeys and StateKeys are keys one SCAN
	// found: events' claims ({soak}:claim:*), which expire after twice their
	// length (a recovery's: 24 h); and the rest: subscriptions, their members
	// and buckets, sessions, indexes (the IDs' set and horizon are not
	// counted there). (DBSIZE, less what a SCAN finds, would not do: DBSIZE
	// counts expired keys Redis has not reclaimed yet.)
	IDKeys, ClaimKeys, StateKeys int64
	Ops                          int64 // operations so far
	IDCalls                      int64 // calls so far that may have written a usage ID's key
	LimitCalls                   int64 // MarkLimited and Throttled calls so far: each may make two claims (limited, recovered)
}

// take samples the process (after a full garbage collection) and the Redis.
func take(t *testing.T, admin *redis.Client, l *load, since time.Time) sample {
	t.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := sample{At: time.Since(since), Goroutines: runtime.NumGoroutine(), Heap: ms.HeapAlloc, Ops: l.ops.Load(),
		IDCalls: l.idCalls.Load(), LimitCalls: l.limitCalls.Load()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if s.Keys, err = admin.DBSize(ctx).Result(); err != nil {
		t.Errorf("DBSIZE: %v", err)
	}
	if s.IDKeys, err = admin.ZCard(ctx, "{soak}:ids").Result(); err != nil {
		t.Errorf("ZCARD: %v", err)
	}
	iter := admin.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		switch k := iter.Val(); {
		case k == "{soak}:ids" || k == "{soak}:idh":
		case strings.HasPrefix(k, "{soak}:claim:"):
			s.ClaimKeys++
		default:
			s.StateKeys++
		}
	}
	if err := iter.Err(); err != nil {
		t.Errorf("SCAN: %v", err)
	}
	return s
}

// outage is one time Redis went away.
type outage struct {
	Kind      string        // "kill" (SIGKILL, then started again on its AOF) or "pause" (SIGSTOP, then SIGCONT)
	At        time.Duration // since the load started
	Down      time.Duration // from the kill or pause until the server answers again
	Recovered time.Duration // from then until every pool's Snapshot works
}

// breakRedis takes Redis away for down, by killing and restarting it when
// kill is set, else by pausing and resuming it, and waits until every pool
// works again. The load's outage flag covers the outage and grace after it.
func breakRedis(t *testing.T, srv *redistest.Server, l *load, kill bool, down, grace time.Duration, since time.Time) outage {
	t.Helper()
	o := outage{Kind: "pause", At: time.Since(since)}
	l.outage.Store(true)
	start := time.Now()
	if kill {
		o.Kind = "kill"
		srv.Kill()
		time.Sleep(down)
		srv.Start() // waits until it answers, its AOF loaded
	} else {
		srv.Pause()
		time.Sleep(down)
		srv.Resume()
	}
	o.Down = time.Since(start)
	back := time.Now()
	for i, p := range l.pools {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := p.Snapshot(ctx)
			cancel()
			if err == nil {
				break
			}
			if time.Since(back) > 10*time.Second {
				t.Errorf("pool %d does not work 10 s after Redis came back (%s): %v", i, o.Kind, err)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	o.Recovered = time.Since(back)
	time.Sleep(grace)
	l.outageEnded.Store(time.Now().UnixNano())
	l.outage.Store(false)
	return o
}

// notifications adds up the pools' notification counts.
func notifications(stats []authpool.Stats) authpool.NotificationStats {
	var n authpool.NotificationStats
	for _, s := range stats {
		n.Emitted += s.Notifications.Emitted
		n.Waiting += s.Notifications.Waiting
		n.Delivered += s.Notifications.Delivered
		n.Failed += s.Notifications.Failed
		n.Dropped += s.Notifications.Dropped
		n.Deduplicated += s.Notifications.Deduplicated
	}
	return n
}
