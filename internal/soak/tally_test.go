package soak

import (
	"context"
	"errors"
	"fmt"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/store"
)

// opKind names an operation of the load.
type opKind int

// The operations of the load: the workers' (per client), the hosts'
// (per pool) and the operator's (per subscription).
const (
	opAllocate opKind = iota
	opAllocateModel
	opRecordID
	opRecordNoID
	opRecordResent
	opCharge
	opRelease
	opRebalance
	opSnapshot
	opMarkLimited
	opEnable
	opDisable
	opModelLimit
	opThrottled
	opObserve
	numOps
)

var opNames = [numOps]string{"Allocate", "Allocate(ForModel)", "Record(id)", "Record(no id)", "Record(resent id)",
	"Charge(id)", "Release", "Rebalance", "Snapshot", "MarkLimited", "Enable", "Disable", "MarkModelLimited",
	"Throttled", "Observe"}

// errClass sorts the errors of the load.
type errClass int

// The classes of errors. A call that ran out of time without an answer
// from Redis fails with store.ErrUnavailable (and
// context.DeadlineExceeded); one whose deadline had already passed when it
// made its next call to the store (Allocate, Rebalance make several) fails
// with context.DeadlineExceeded alone, as package redisstore documents.
// Other errors are failures of the test; those of Redis being up but slow
// are failures past a small share of the calls; the rest are answers the
// load expects.
const (
	errOutage         errClass = iota // store.ErrUnavailable while Redis was down (or just back)
	errOutageDeadline                 // context.DeadlineExceeded alone while Redis was down
	errUnavailable                    // store.ErrUnavailable while Redis was up
	errDeadline                       // context.DeadlineExceeded alone while Redis was up
	errExhausted                      // authpool.ErrExhausted
	errUnknownClient                  // authpool.ErrUnknownClient: released meanwhile (Rebalance, stale)
	errOther                          // anything else
	numErrs
)

var errNames = [numErrs]string{"unavailable (outage)", "deadline (outage)", "unavailable (Redis up)",
	"deadline (Redis up)", "exhausted", "unknown client", "other"}

// classify sorts err; during says whether Redis was down when the call
// started or ended.
func classify(err error, during bool) errClass {
	switch {
	case errors.Is(err, store.ErrUnavailable) && during:
		return errOutage
	case errors.Is(err, store.ErrUnavailable):
		return errUnavailable
	case errors.Is(err, context.DeadlineExceeded) && during:
		return errOutageDeadline
	case errors.Is(err, context.DeadlineExceeded):
		return errDeadline
	case errors.Is(err, authpool.ErrExhausted):
		return errExhausted
	case errors.Is(err, authpool.ErrUnknownClient):
		return errUnknownClient
	}
	return errOther
}

// maxNoted is how many unexpected errors a tally keeps to report.
const maxNoted = 10

// tally is what one goroutine of the load did: its operations and their
// errors, and the money it knows the store holds. A tally belongs to one
// goroutine; they are added up when the load has stopped.
type tally struct {
	ops  [numOps]int64
	errs [numOps][numErrs]int64

	// acked is the cost of the usages the pool acknowledged (each ID once);
	// uncertain the cost of those whose call failed without saying whether
	// the store counted them (no ID, and Redis went away mid-call, or an
	// ID that could not be resent in time). The store must hold at least
	// acked and at most acked + uncertain; likewise the requests.
	acked, uncertain         store.Nanodollars
	ackedReqs, uncertainReqs int64
	// resendsAcked counts deliberate resends of an acknowledged ID that
	// Record accepted (and must not have counted); retries the usages sent
	// again after a failure.
	resendsAcked, retries int64

	overCapacity int64    // subscriptions seen holding more clients than their maximum
	noted        []string // the first unexpected errors and violations
}

// note keeps a description of something unexpected.
func (t *tally) note(format string, args ...any) {
	if len(t.noted) < maxNoted {
		t.noted = append(t.noted, fmt.Sprintf(format, args...))
	}
}

// add adds o to t.
func (t *tally) add(o *tally) {
	for k := range numOps {
		t.ops[k] += o.ops[k]
		for c := range numErrs {
			t.errs[k][c] += o.errs[k][c]
		}
	}
	t.acked += o.acked
	t.uncertain += o.uncertain
	t.ackedReqs += o.ackedReqs
	t.uncertainReqs += o.uncertainReqs
	t.resendsAcked += o.resendsAcked
	t.retries += o.retries
	t.overCapacity += o.overCapacity
	for _, n := range o.noted {
		if len(t.noted) < 4*maxNoted {
			t.noted = append(t.noted, n)
		}
	}
}

// calls returns how many calls were made.
func (t *tally) calls() int64 {
	var n int64
	for k := range numOps {
		n += t.ops[k]
	}
	return n
}

// errors returns how many calls of any kind failed with class c.
func (t *tally) errors(c errClass) int64 {
	var n int64
	for k := range numOps {
		n += t.errs[k][c]
	}
	return n
}
