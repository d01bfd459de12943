package redisstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/authpool/authpool/store"
)

// This file is the store.CallerStore methods that count what callers spend
// and hold their caps (lua/caller_charge.lua, caller_usage.lua,
// caller_admit.lua, caller_release.lua).

// ChargeCaller implements store.CallerStore. The callers' usage IDs are
// remembered as AddUsage remembers the subscriptions' (see AddUsage), in a
// sorted set of their own, {p}:cids, with its horizon in {p}:cidh.
func (s *Store) ChargeCaller(ctx context.Context, id string, c store.Charge) (bool, error) {
	if err := c.Check(); err != nil {
		return false, fmt.Errorf("redisstore: %w", err)
	}
	var member string
	var cut, limit, ttl int64
	if c.UsageID != "" {
		sum := sha256.Sum256([]byte(c.UsageID))
		member = string(sum[:16])
		cut = c.Now.Add(-c.Remember).UnixMicro()
		limit, ttl = max(c.RememberBytes/IDBytes, 1), ttlMillis(twice(c.Remember))
	}
	now := c.At
	if c.Now.After(now) {
		now = c.Now
	}
	t := c.Tokens
	v, err := s.run(ctx, scriptCallerCharge, s.keys.caller(id),
		id, c.UsageID, member, c.At.UnixMicro(), cut, limit, ttl,
		store.HourOf(c.At), int64(c.Cost), t.Input, t.Output, t.CacheWrite, t.CacheRead, c.Session, encTime(c.At), now.Unix())
	if err != nil {
		return false, err
	}
	code, rest, err := reply(scriptCallerCharge.name, v)
	if err != nil {
		return false, err
	}
	switch code {
	case "ok":
		return true, nil
	case "duplicate":
		return false, nil
	case "notfound":
		return false, fmt.Errorf("redisstore: caller %q: %w", id, store.ErrNotFound)
	case "forgotten":
		if len(rest) == 1 {
			if us, err := strconv.ParseInt(str(rest[0]), 10, 64); err == nil {
				return false, fmt.Errorf("redisstore: %w", &store.ForgottenError{ID: c.UsageID, Time: c.At, Horizon: time.UnixMicro(us).UTC()})
			}
		}
	}
	return false, errReply(scriptCallerCharge.name, v)
}

// maxHour bounds the hours a range passes to a script: far beyond any
// time, and exact as a Lua number (a double), however large an int64 the
// caller gives.
const maxHour = 1 << 40

// clampHour returns h within ±maxHour.
func clampHour(h int64) int64 { return min(max(h, -maxHour), maxHour) }

// callerRange runs lua/caller_usage.lua for what ("hours" or "sessions")
// of caller id in [from, to], and returns the values after its "ok".
func (s *Store) callerRange(ctx context.Context, id, what string, from, to int64) ([]any, error) {
	if err := store.CheckHours(from, to); err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	v, err := s.run(ctx, scriptCallerUsage, s.keys.caller(id), id, what, clampHour(from), clampHour(to))
	if err != nil {
		return nil, err
	}
	code, rest, err := reply(scriptCallerUsage.name, v)
	if err != nil {
		return nil, err
	}
	switch code {
	case "ok":
		return rest, nil
	case "notfound":
		return nil, fmt.Errorf("redisstore: caller %q: %w", id, store.ErrNotFound)
	}
	return nil, errReply(scriptCallerUsage.name, v)
}

// CallerUsage implements store.CallerStore.
func (s *Store) CallerUsage(ctx context.Context, id string, fromHour, toHour int64) ([]store.Bucket, error) {
	rest, err := s.callerRange(ctx, id, "hours", fromHour, toHour)
	if err != nil {
		return nil, err
	}
	const fields = 7 // lua/callerlib.lua's chours
	if len(rest)%fields != 0 {
		return nil, fmt.Errorf("redisstore: %s: %d values", scriptCallerUsage.name, len(rest))
	}
	var out []store.Bucket
	var d decoder
	for i := 0; i < len(rest); i += fields {
		r := rest[i : i+fields]
		out = append(out, store.Bucket{Hour: d.int(r[0]), Cost: store.Nanodollars(d.int(r[1])), Requests: d.int(r[2]),
			Tokens: store.Tokens{Input: d.int(r[3]), Output: d.int(r[4]), CacheWrite: d.int(r[5]), CacheRead: d.int(r[6])}})
	}
	if d.err != nil {
		return nil, fmt.Errorf("redisstore: %s of %q: %w", scriptCallerUsage.name, id, d.err)
	}
	return out, nil
}

// CallerSessions implements store.CallerStore.
func (s *Store) CallerSessions(ctx context.Context, id string, fromHour, toHour int64) ([]store.CallerSession, error) {
	rest, err := s.callerRange(ctx, id, "sessions", fromHour, toHour)
	if err != nil {
		return nil, err
	}
	const fields = 9 // the name, then lua/callerlib.lua's CSFIELDS
	if len(rest)%fields != 0 {
		return nil, fmt.Errorf("redisstore: %s: %d values", scriptCallerUsage.name, len(rest))
	}
	var out []store.CallerSession
	var d decoder
	for i := 0; i < len(rest); i += fields {
		r := rest[i : i+fields]
		sess := store.CallerSession{Session: str(r[0]), Requests: d.int(r[1]), Cost: store.Nanodollars(d.int(r[2])),
			Tokens: store.Tokens{Input: d.int(r[3]), Output: d.int(r[4]), CacheWrite: d.int(r[5]), CacheRead: d.int(r[6])},
			First:  d.time(r[7]), Last: d.time(r[8])}
		if store.HourOf(sess.First) <= toHour && store.HourOf(sess.Last) >= fromHour {
			out = append(out, sess)
		}
	}
	if d.err != nil {
		return nil, fmt.Errorf("redisstore: %s of %q: %w", scriptCallerUsage.name, id, d.err)
	}
	slices.SortFunc(out, func(a, b store.CallerSession) int {
		return cmp.Or(b.Last.Compare(a.Last), cmp.Compare(a.Session, b.Session))
	})
	return out, nil
}

// minLeaseTTL is the shortest time of Redis's clock a caller's leases are
// kept, as minClaimTTL is a claim's: the leases are judged by the callers'
// times, and the key's expiry only cleans up.
const minLeaseTTL = 10 * time.Minute

// AdmitCaller implements store.CallerStore. A caller's leases are a sorted
// set, {p}:cl:<id>, of lease IDs scored by their end in Unix microseconds.
func (s *Store) AdmitCaller(ctx context.Context, id string, now time.Time, budget store.Nanodollars, windowHours int, lease time.Duration) (store.Admission, error) {
	if err := store.CheckAdmission(id, now, budget, windowHours, lease); err != nil {
		return store.Admission{}, fmt.Errorf("redisstore: %w", err)
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return store.Admission{}, fmt.Errorf("redisstore: making a lease id: %w", err)
	}
	leaseID := hex.EncodeToString(b[:])
	v, err := s.run(ctx, scriptCallerAdmit, s.keys.caller(id), id, store.HourOf(now), int64(budget), windowHours,
		now.UnixMicro(), leaseID, now.Add(lease).UnixMicro(), ttlMillis(max(twice(lease), minLeaseTTL)))
	if err != nil {
		return store.Admission{}, err
	}
	code, rest, err := reply(scriptCallerAdmit.name, v)
	if err != nil {
		return store.Admission{}, err
	}
	switch {
	case code == "notfound":
		return store.Admission{}, fmt.Errorf("redisstore: caller %q: %w", id, store.ErrNotFound)
	case code != "ok" || len(rest) < 4 || len(rest)%2 != 0:
		return store.Admission{}, errReply(scriptCallerAdmit.name, v)
	}
	var d decoder
	a := store.Admission{Admitted: d.int(rest[0]) == 1, Used: store.Nanodollars(d.int(rest[1])),
		InFlight: int(d.int(rest[2])), Estimate: store.Nanodollars(d.int(rest[3]))}
	var spent []store.Bucket
	for i := 4; i < len(rest); i += 2 {
		spent = append(spent, store.Bucket{Hour: d.int(rest[i]), Cost: store.Nanodollars(d.int(rest[i+1]))})
	}
	if d.err != nil {
		return store.Admission{}, fmt.Errorf("redisstore: %s of %q: %w", scriptCallerAdmit.name, id, d.err)
	}
	if a.Admitted {
		a.LeaseID = leaseID
	}
	a.Reset = store.WindowReset(spent, a.Used, budget, windowHours)
	return a, nil
}

// ReleaseCaller implements store.CallerStore.
func (s *Store) ReleaseCaller(ctx context.Context, id, leaseID string) error {
	if err := store.CheckLeaseID(leaseID); err != nil {
		return fmt.Errorf("redisstore: releasing a lease of caller %q: %w", id, err)
	}
	v, err := s.run(ctx, scriptCallerRelease, s.keys.caller(id), id, leaseID)
	if err != nil {
		return err
	}
	return callerDone(scriptCallerRelease.name, id, v)
}
