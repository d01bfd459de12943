package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
)

func TestWebhookRetriesThenDelivers(t *testing.T) {
	t.Parallel()
	for _, status := range []int{500, 502, 503, 504, 429, 408} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, failFirst(3, status))
			n, ws := newTestNotifier(t, rc.srv.URL, func(c *Config) {
				c.MaxAttempts = 4
				c.MinBackoff = authpool.Duration(time.Second)
				c.MaxBackoff = authpool.Duration(3 * time.Second)
			})
			e := testThresholdEvent()
			if err := n.Notify(t.Context(), e); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			reqs := rc.requests()
			if len(reqs) != 4 {
				t.Fatalf("got %d requests, want 4", len(reqs))
			}
			for i, r := range reqs {
				if got := r.header.Get("X-Authpool-Delivery"); got != e.ID {
					t.Errorf("attempt %d: delivery id %q, want %q", i+1, got, e.ID)
				}
				if !bytes.Equal(r.body, reqs[0].body) || r.header.Get("X-Authpool-Signature") != reqs[0].header.Get("X-Authpool-Signature") {
					t.Errorf("attempt %d: body or signature differ from the first attempt's", i+1)
				}
				if !Verify([]byte(testWebhookSecret), r.body, r.header.Get("X-Authpool-Signature")) {
					t.Errorf("attempt %d: signature does not verify", i+1)
				}
			}
			slept, bounds := ws.get()
			want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}
			if diff := cmp.Diff(want, bounds); diff != "" {
				t.Errorf("jitter bounds (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, slept); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWebhookRetriesConnectionRefused(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	n, ws := newTestNotifier(t, url, func(c *Config) { c.MaxAttempts = 3 })
	err := n.Notify(t.Context(), testThresholdEvent())
	if err == nil {
		t.Fatal("Notify to a closed server succeeded")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Errorf("error %q: want connection refused, after 3 attempts", err)
	}
	slept, _ := ws.get()
	if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second}, slept); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestWebhookBackoffGrowsAndIsCapped(t *testing.T) {
	t.Parallel()
	wantBounds := []time.Duration{1, 2, 4, 8, 10, 10, 10}
	for i := range wantBounds {
		wantBounds[i] *= time.Second
	}
	edit := func(c *Config) {
		c.MaxAttempts = len(wantBounds) + 1
		c.MinBackoff = authpool.Duration(time.Second)
		c.MaxBackoff = authpool.Duration(10 * time.Second)
	}
	t.Run("longest", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
		n, ws := newTestNotifier(t, rc.srv.URL, edit)
		if err := n.Notify(t.Context(), testThresholdEvent()); err == nil {
			t.Fatal("Notify succeeded against a failing receiver")
		}
		slept, bounds := ws.get()
		if diff := cmp.Diff(wantBounds, bounds); diff != "" {
			t.Errorf("jitter bounds (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantBounds, slept); diff != "" {
			t.Errorf("waits (-want +got):\n%s", diff)
		}
		if got := len(rc.requests()); got != len(wantBounds)+1 {
			t.Errorf("got %d requests, want %d", got, len(wantBounds)+1)
		}
	})
	t.Run("random", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(502) })
		n, ws := newTestNotifier(t, rc.srv.URL, edit)
		var mu sync.Mutex
		var chosen []time.Duration
		n.jitter = func(bound time.Duration) time.Duration {
			ws.maxJitter(bound)
			d := randomJitter(bound) // the production jitter
			mu.Lock()
			chosen = append(chosen, d)
			mu.Unlock()
			return d
		}
		if err := n.Notify(t.Context(), testThresholdEvent()); err == nil {
			t.Fatal("Notify succeeded against a failing receiver")
		}
		slept, bounds := ws.get()
		if diff := cmp.Diff(wantBounds, bounds); diff != "" {
			t.Errorf("jitter bounds (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(chosen, slept); diff != "" {
			t.Errorf("waits are not the jitter's choices (-chosen +slept):\n%s", diff)
		}
		for i, d := range slept {
			if d < 0 || d > wantBounds[i] {
				t.Errorf("wait %d: %v, want within [0, %v]", i+1, d, wantBounds[i])
			}
		}
	})
}

func TestWebhookBackoffBound(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		n          int
		minB, maxB time.Duration
		want       time.Duration
	}{
		{1, time.Second, time.Minute, time.Second},
		{2, time.Second, time.Minute, 2 * time.Second},
		{6, time.Second, time.Minute, 32 * time.Second},
		{7, time.Second, time.Minute, time.Minute},
		{100, time.Second, time.Minute, time.Minute},
		{100, time.Second, math.MaxInt64, math.MaxInt64},
		{3, 0, time.Minute, 0},
		{3, time.Minute, time.Minute, time.Minute},
	} {
		if got := backoffBound(c.n, c.minB, c.maxB); got != c.want {
			t.Errorf("backoffBound(%d, %v, %v) = %v, want %v", c.n, c.minB, c.maxB, got, c.want)
		}
	}
	for _, bound := range []time.Duration{0, 1, time.Second, math.MaxInt64} {
		for range 100 {
			if d := randomJitter(bound); d < 0 || d > bound {
				t.Fatalf("randomJitter(%v) = %v", bound, d)
			}
		}
	}
}

func TestWebhookRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 10, 14, 5, 0, 0, time.UTC)
	for _, c := range []struct {
		name       string
		status     int
		retryAfter string
		want       time.Duration
	}{
		{"429 seconds", 429, "3", 3 * time.Second},
		{"503 seconds", 503, "17", 17 * time.Second},
		{"503 date", 503, now.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second},
		{"429 date", 429, now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"429 zero", 429, "0", 0},
		{"429 past date", 429, now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"503 capped at MaxBackoff", 503, "86400", 2 * time.Minute},
		{"429 date capped at MaxBackoff", 429, now.Add(time.Hour).Format(http.TimeFormat), 2 * time.Minute},
		{"429 huge", 429, "99999999999999999999", 2 * time.Minute},
		{"429 unparsable: backoff", 429, "soon", time.Second},
		{"429 negative: backoff", 429, "-5", time.Second},
		{"500 ignores Retry-After", 500, "30", time.Second},
		{"502 ignores Retry-After", 502, "30", time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, failFirst(1, c.status, "Retry-After", c.retryAfter))
			n, ws := newTestNotifier(t, rc.srv.URL, func(cfg *Config) {
				cfg.MaxAttempts = 2
				cfg.MinBackoff = authpool.Duration(time.Second)
				cfg.MaxBackoff = authpool.Duration(2 * time.Minute)
			})
			n.now = func() time.Time { return now }
			if err := n.Notify(t.Context(), testThresholdEvent()); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			slept, _ := ws.get()
			if diff := cmp.Diff([]time.Duration{c.want}, slept); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if got := len(rc.requests()); got != 2 {
				t.Errorf("got %d requests, want 2", got)
			}
		})
	}
}

func TestWebhookNoRetryOnClientErrors(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 401, 403, 404, 410, 413, 422} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, failFirst(100, status, "Retry-After", "1"))
			n, ws := newTestNotifier(t, rc.srv.URL, nil)
			err := n.Notify(t.Context(), testThresholdEvent())
			wantStatus := fmt.Sprintf("status %d %s", status, http.StatusText(status))
			if err == nil || !strings.Contains(err.Error(), wantStatus) || strings.Contains(err.Error(), "gave up") {
				t.Errorf("error %v: want one naming %q at once", err, wantStatus)
			}
			if got := len(rc.requests()); got != 1 {
				t.Errorf("got %d requests, want 1", got)
			}
			if slept, _ := ws.get(); len(slept) != 0 {
				t.Errorf("waited %v before giving up on a %d", slept, status)
			}
		})
	}
}

func TestWebhookDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	elsewhere := newReceiver(t, nil)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.srv.URL, http.StatusTemporaryRedirect)
	})
	n, ws := newTestNotifier(t, rc.srv.URL, nil)
	err := n.Notify(t.Context(), testThresholdEvent())
	if err == nil || !strings.Contains(err.Error(), "status 307") {
		t.Errorf("error %v: want one naming status 307", err)
	}
	if got := len(elsewhere.requests()); got != 0 {
		t.Errorf("the redirect was followed: %d requests elsewhere", got)
	}
	if got := len(rc.requests()); got != 1 {
		t.Errorf("got %d requests, want 1", got)
	}
	if slept, _ := ws.get(); len(slept) != 0 {
		t.Errorf("waited %v", slept)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	t.Parallel()
	for _, attempts := range []int{1, 3} {
		t.Run(fmt.Sprint(attempts), func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, failFirst(100, 503))
			n, ws := newTestNotifier(t, rc.srv.URL, func(c *Config) { c.MaxAttempts = attempts })
			err := n.Notify(t.Context(), testThresholdEvent())
			if err == nil {
				t.Fatal("Notify succeeded against a failing receiver")
			}
			want := fmt.Sprintf("gave up after %s; last: status 503 Service Unavailable", countAttempts(attempts))
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			if got := len(rc.requests()); got != attempts {
				t.Errorf("got %d requests, want %d", got, attempts)
			}
			if slept, _ := ws.get(); len(slept) != attempts-1 {
				t.Errorf("waited %v, want %d waits", slept, attempts-1)
			}
		})
	}
}

func TestWebhookContextEndsDuringWait(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, failFirst(100, 500))
	n, _ := newTestNotifier(t, rc.srv.URL, func(c *Config) {
		c.MinBackoff = authpool.Duration(time.Hour)
		c.MaxBackoff = authpool.Duration(time.Hour)
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var asked []time.Duration
	n.sleep = func(ctx context.Context, d time.Duration) error {
		asked = append(asked, d)
		cancel()                    // the pool closes during the wait...
		return sleepContext(ctx, d) // ...and the production sleep notices
	}
	start := time.Now()
	err := n.Notify(ctx, testThresholdEvent())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v: want context.Canceled", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Notify took %v after its context ended", took)
	}
	if len(asked) != 1 || len(rc.requests()) != 1 {
		t.Errorf("%d waits, %d requests; want 1 and 1", len(asked), len(rc.requests()))
	}
}

func TestWebhookContextEndsDuringRequest(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select { // a receiver that never answers
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server closes
	n, ws := newTestNotifier(t, rc.srv.URL, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- n.Notify(ctx, testThresholdEvent()) }()
	<-arrived
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v: want context.Canceled", err)
		}
		if err != nil && !strings.Contains(err.Error(), "stopped during attempt 1") {
			t.Errorf("error %q does not say when it stopped", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Notify did not return after its context ended")
	}
	if slept, _ := ws.get(); len(slept) != 0 {
		t.Errorf("waited %v", slept)
	}
}

func TestWebhookAttemptTimeout(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(i int, w http.ResponseWriter, r *http.Request) {
		if i == 1 {
			<-r.Context().Done() // too slow: the attempt times out
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	n, ws := newTestNotifier(t, rc.srv.URL, func(c *Config) {
		c.Timeout = authpool.Duration(20 * time.Millisecond)
		c.MaxAttempts = 2
	})
	if err := n.Notify(t.Context(), testThresholdEvent()); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if got := len(rc.requests()); got != 2 {
		t.Errorf("got %d requests, want 2", got)
	}
	if slept, _ := ws.get(); len(slept) != 1 {
		t.Errorf("waited %v, want one wait", slept)
	}

	// Timing out every time, the error says so.
	rc2 := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	n2, _ := newTestNotifier(t, rc2.srv.URL, func(c *Config) {
		c.Timeout = authpool.Duration(time.Millisecond)
		c.MaxAttempts = 2
	})
	err := n2.Notify(t.Context(), testThresholdEvent())
	if err == nil || !strings.Contains(err.Error(), "gave up after 2 attempts; last: attempt timed out after 1ms") {
		t.Errorf("error %v: want a timeout after 2 attempts", err)
	}
}
