package authpool_test

import (
	"encoding/binary"
	"testing"
)

// FuzzAllocateRecord drives a pool through a sequence of Allocate, Record,
// Charge, Release, Rebalance, Disable, Enable, MarkLimited and clock moves
// (forward, backward, days and decades away) decoded from the fuzz input,
// with client IDs, usage IDs, costs (NaN, infinite, negative, huge), token
// counts and times (zero, far past, far future, at the edges of the week and
// of the clock skew) chosen by it. After every step it checks the pool
// against a model of what the API documents:
//
//   - no call panics, and every error matches its documented sentinel:
//     ErrInvalidArgument exactly for an invalid client ID or a limit that
//     ends by now, ErrInvalidArgument exactly for a usage the Usage and Record
//     docs refuse, ErrExhausted (an *ExhaustedError) from Allocate,
//     ErrUnknownClient for a client without a session, ErrNotFound for an
//     unknown subscription;
//
//   - a refused Record or Charge changes nothing;
//
//   - Allocate places a client only on a subscription in service, and each
//     subscription shows the status last set (a limit that has passed as
//     active);
//
//   - no subscription holds more clients than its maximum, its Clients are
//     its sessions, a session appears only by Allocate and ends only by
//     Release or a Rebalance that reports it;
//
//   - each session's cost is the sum of the costs recorded for it, and each
//     subscription's week holds exactly the costs billed to it in the week
//     (less those more than a week older than its newest, which the store
//     documents it drops);
//
//   - a usage ID is counted once while it is remembered, and a usage is
//     refused as a duplicate only when its ID was counted before.
//
// Run it with
//
//	go test -run '^$' -fuzz '^FuzzAllocateRecord$' -parallel 1 .
func FuzzAllocateRecord(f *testing.F) {
	// Seeds, one step a line: op (0 or 5 Allocate, 1 Record, 2 Release, 3
	// Rebalance, 4 clock, 6 Disable, Enable or MarkLimited, 7 Charge) and
	// its bytes; a Record's are client (for Charge, subscription), ID, cost
	// (11: eight bytes of a float64 follow), time (8, 9, 10: more bytes
	// follow), input and cache-read tokens, model, usage.subscriptionId.
	f.Add([]byte{
		0, 0, 0, 1, // Allocate c0, c1
		1, 0, 1, 3, 1, 1, 0, 0, 0, // Record c0 msg_1 $0.25 now
		4, 0, 30, // 30 minutes on
		1, 1, 0, 4, 9, 2, 0, 0, 0, 0, // Record c1 $12.50 two hours ago
		1, 0, 1, 3, 1, 1, 0, 0, 0, // Record c0 msg_1 again: a duplicate
		3, 2, 1, // Rebalance, Release c1
		1, 1, 0, 3, 1, 0, 0, 0, 0, // Record c1: no session
		4, 3, 0, 0, // 8 days on, Allocate c0
		1, 0, 1, 3, 1, 0, 0, 0, 0, // Record c0 msg_1: forgotten, counts
	})
	f.Add([]byte{
		0, 2, // Allocate c2
		1, 2, 2, 3, 4, 0, 0, 0, 0, // Record at the week's start
		1, 2, 2, 3, 5, 0, 0, 0, 0, // and just before it
		1, 2, 3, 3, 2, 0, 0, 0, 0, // at the clock skew's end
		1, 2, 3, 3, 3, 0, 0, 0, 0, // and just after it
		4, 4, 1, 2, 0, 4, 1, 0, 0, 0, 0, // 8 days back, Record now
		4, 5, 1, 2, 0, 4, 1, 0, 0, 0, 0, // a century on, Record now
		4, 6, 3, 0, 2, 1, 2, 0, 4, 1, 0, 0, 0, 0, // a century back, Rebalance, Allocate c2, Record now
		4, 7, 1, 2, 0, 3, 6, 0, 0, 0, 0, // back to t0, Record in year 1
		1, 2, 0, 3, 7, 0, 0, 0, 0, // in year 9999
		1, 2, 0, 3, 10, 30, 0, 0, 0, 0, // half an hour ago, in another zone
	})
	f.Add([]byte{
		0, 0, // Allocate c0, then Record every kind of number
		1, 0, 0, 5, 1, 0, 0, 0, 0, 1, 0, 0, 6, 1, 0, 0, 0, 0, 1, 0, 0, 7, 1, 0, 0, 0, 0, 1, 0, 0, 8, 1, 0, 0, 0, 0,
		1, 0, 0, 9, 1, 0, 0, 0, 0, 1, 0, 0, 10, 1, 0, 0, 0, 0, 1, 0, 0, 12, 1, 0, 0, 0, 0, 1, 0, 0, 2, 1, 0, 0, 0, 0,
		1, 0, 0, 11, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, // a NaN of other bits
		1, 0, 0, 11, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a, 1, 0, 0, 0, 0, // 0.1
		1, 0, 0, 1, 1, 2, 2, 0, 0, 1, 0, 0, 1, 1, 3, 0, 0, 0, 1, 0, 0, 1, 1, 4, 0, 0, 0, // tokens
		1, 0, 0, 1, 1, 0, 0, 4, 0, // a model that is not text
		1, 0, 0, 1, 1, 0, 0, 0, 3, 1, 0, 0, 1, 1, 0, 0, 0, 4, 1, 0, 0, 1, 1, 0, 0, 0, 5, // usage.subscriptionId
		1, 0, 4, 1, 1, 0, 0, 0, 0, 1, 0, 5, 1, 1, 0, 0, 0, 0, 1, 5, 0, 1, 1, 0, 0, 0, 0, 1, 7, 0, 1, 1, 0, 0, 0, 0, // bad IDs
	})
	f.Add([]byte{
		0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 0, // more clients than the subscriptions hold
		1, 0, 0, 4, 1, 0, 0, 0, 0, 1, 1, 0, 4, 1, 0, 0, 0, 0, // c0 and c1 spend $12.50 each
		4, 0, 40, 3, // 40 minutes on: all idle, Rebalance
		0, 5, 0, 6, 0, 7, 2, 5, 2, 6, 2, 7, // invalid clients
		2, 0, 2, 0, 0, 4, 4, 2, 0, 0, 40, 3, 0, 3, // Release twice, Allocate again, stale, Rebalance
	})
	f.Add([]byte{
		0, 0, 0, 1, 0, 2, // Allocate c0, c1, c2
		6, 0, 0, 6, 1, 2, 1, 6, 4, 2, 0, 6, 2, 2, 4, // Disable s-a, limit s-b 30m, nope, s-c until now
		0, 0, 0, 1, 0, 3, 0, 4, // Allocate c0, c1 (moved), c3, c4
		7, 0, 1, 3, 1, 0, 0, 0, 0, 7, 3, 2, 4, 1, 0, 0, 0, 0, 7, 4, 0, 3, 1, 0, 0, 0, 0, // Charge s-a, fallback, nope
		7, 1, 1, 3, 1, 0, 0, 0, 0, 7, 1, 0, 7, 1, 0, 0, 0, 0, // Charge s-b msg_1 again, NaN
		4, 0, 31, 0, 1, 6, 0, 1, 6, 3, 2, 3, 0, 0, // 31 minutes on, Allocate, Enable s-a, limit fallback, Allocate
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		m := newAllocModel(t)
		in := fuzzInput(data)
		for step := 0; step < 64 && len(in) > 0; step++ {
			m.step(&in)
		}
	})
}

// fuzzInput is the fuzz input not yet read; reading past its end gives
// zeros.
type fuzzInput []byte

func (in *fuzzInput) byte() byte {
	if len(*in) == 0 {
		return 0
	}
	b := (*in)[0]
	*in = (*in)[1:]
	return b
}

func (in *fuzzInput) uint64() uint64 {
	var b [8]byte
	for i := range b {
		b[i] = in.byte()
	}
	return binary.BigEndian.Uint64(b[:])
}

func (in *fuzzInput) int32() int32 { return int32(uint32(in.uint64() >> 32)) }
