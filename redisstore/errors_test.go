package redisstore

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

// timerNotRunYet is a context whose deadline has passed but whose timer has
// not run yet: Err is still nil, as it is for a moment after the deadline.
type timerNotRunYet struct {
	context.Context
	deadline time.Time
}

func (c timerNotRunYet) Deadline() (time.Time, bool) { return c.deadline, true }

// TestFailJudgesTheDeadlineByTheClock checks that a call whose deadline has
// passed fails with DeadlineExceeded and ErrUnavailable even when the
// connection's deadline timer (a plain "i/o timeout") fired before the
// context's: a client with ContextTimeoutEnabled sets both to the same
// instant, and either may fire first.
func TestFailJudgesTheDeadlineByTheClock(t *testing.T) {
	ctx := timerNotRunYet{context.Background(), time.Now().Add(-time.Millisecond)}
	if ctx.Err() != nil {
		t.Fatal("the test's context has ended")
	}
	err := fail(ctx, "add usage", os.ErrDeadlineExceeded) // what net.Conn returns at its deadline
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("fail after the deadline = %v, want DeadlineExceeded and ErrUnavailable", err)
	}

	// Before the deadline, an i/o timeout (the client's ReadTimeout) is
	// ErrUnavailable only.
	ctx.deadline = time.Now().Add(time.Hour)
	err = fail(ctx, "add usage", os.ErrDeadlineExceeded)
	if errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("fail before the deadline = %v, want ErrUnavailable only", err)
	}
}
