package redisstore

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/authpool/authpool/store"
)

// This file is the store.CallerStore methods that create, change, delete
// and find callers (lua/caller_*.lua); callers_spend.go counts what they
// spend. The keys are in the package documentation.

var _ store.CallerStore = (*Store)(nil)

// callerArgs returns the ARGV of a caller's settings, in the order
// lua/caller_create.lua and lua/caller_update.lua read them.
func callerArgs(c store.Caller) []any {
	return []any{int64(c.Cap), c.CapWindowHours, formatFloat(c.RatePerSecond), c.RateBurst, c.Sessionless}
}

// CreateCaller implements store.CallerStore.
func (s *Store) CreateCaller(ctx context.Context, c store.Caller) error {
	if err := c.Check(); err != nil {
		return fmt.Errorf("redisstore: %w", err)
	}
	args := append([]any{c.ID, hex.EncodeToString(c.KeyHash[:])}, callerArgs(c)...)
	v, err := s.run(ctx, scriptCallerCreate, s.keys.caller(c.ID), append(args, encTime(c.Created))...)
	if err != nil {
		return err
	}
	code, rest, err := reply(scriptCallerCreate.name, v)
	if err != nil {
		return err
	}
	switch {
	case code == "ok":
		return nil
	case code == "exists" && len(rest) == 1 && str(rest[0]) == "key":
		return fmt.Errorf("redisstore: caller %q: its key hash is another caller's: %w", c.ID, store.ErrExists)
	case code == "exists":
		return fmt.Errorf("redisstore: caller %q: %w", c.ID, store.ErrExists)
	}
	return errReply(scriptCallerCreate.name, v)
}

// UpdateCaller implements store.CallerStore.
func (s *Store) UpdateCaller(ctx context.Context, id string, u store.CallerUpdate) error {
	if err := u.Check(id); err != nil {
		return fmt.Errorf("redisstore: %w", err)
	}
	args := []any{id}
	if u.Cap != nil {
		args = append(args, "cap", int64(*u.Cap))
	}
	if u.CapWindowHours != nil {
		args = append(args, "win", *u.CapWindowHours)
	}
	if u.Rate != nil {
		args = append(args, "rps", formatFloat(u.Rate.PerSecond), "burst", u.Rate.Burst)
	}
	if u.Sessionless != nil {
		args = append(args, "sl", *u.Sessionless)
	}
	v, err := s.run(ctx, scriptCallerUpdate, s.keys.caller(id), args...)
	if err != nil {
		return err
	}
	return callerDone(scriptCallerUpdate.name, id, v)
}

// DeleteCaller implements store.CallerStore.
func (s *Store) DeleteCaller(ctx context.Context, id string) error {
	v, err := s.run(ctx, scriptCallerDelete, s.keys.caller(id), id)
	if err != nil {
		return err
	}
	return callerDone(scriptCallerDelete.name, id, v)
}

// callerDone reads the reply of a caller's script that returns nothing.
func callerDone(op, id string, v any) error { return doneReply(op, "caller", id, v) }

// Caller implements store.CallerStore.
func (s *Store) Caller(ctx context.Context, id string) (store.Caller, error) {
	cs, err := s.getCallers(ctx, s.keys.caller(id), "id", id)
	if err != nil {
		return store.Caller{}, err
	}
	return cs[0], nil
}

// Callers implements store.CallerStore.
func (s *Store) Callers(ctx context.Context) ([]store.Caller, error) {
	cs, err := s.getCallers(ctx, s.keys.callers(), "all", "")
	if err != nil {
		return nil, err
	}
	slices.SortFunc(cs, func(a, b store.Caller) int { return cmp.Compare(a.ID, b.ID) })
	return cs, nil
}

// CallerByKey implements store.CallerStore.
func (s *Store) CallerByKey(ctx context.Context, keyHash [32]byte) (store.Caller, error) {
	cs, err := s.getCallers(ctx, s.keys.callerKeys(), "key", hex.EncodeToString(keyHash[:]))
	if err != nil {
		return store.Caller{}, err
	}
	return cs[0], nil
}

// getCallers runs lua/caller_get.lua and reads the callers it returns; an
// "id" or "key" lookup returns one, or store.ErrNotFound.
func (s *Store) getCallers(ctx context.Context, key, how, arg string) ([]store.Caller, error) {
	v, err := s.run(ctx, scriptCallerGet, key, how, arg)
	if err != nil {
		return nil, err
	}
	code, rest, err := reply(scriptCallerGet.name, v)
	if err != nil {
		return nil, err
	}
	switch {
	case code == "notfound" && how == "key":
		return nil, fmt.Errorf("redisstore: no caller has that key: %w", store.ErrNotFound)
	case code == "notfound":
		return nil, fmt.Errorf("redisstore: caller %q: %w", arg, store.ErrNotFound)
	case code != "ok" || len(rest)%2 != 0 || how != "all" && len(rest) != 2:
		return nil, errReply(scriptCallerGet.name, v)
	}
	out := make([]store.Caller, 0, len(rest)/2)
	for i := 0; i < len(rest); i += 2 {
		h, _ := rest[i+1].([]any)
		c, err := decodeCaller(str(rest[i]), h)
		if err != nil {
			return nil, fmt.Errorf("redisstore: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// decodeCaller reads a caller's hash (field, value, ...).
func decodeCaller(id string, hash []any) (store.Caller, error) {
	c := store.Caller{ID: id}
	var d decoder
	for i := 0; i+1 < len(hash); i += 2 {
		switch v := hash[i+1]; str(hash[i]) {
		case "key":
			if n, err := hex.Decode(c.KeyHash[:], []byte(str(v))); (err != nil || n != len(c.KeyHash)) && d.err == nil {
				d.err = fmt.Errorf("bad key hash %q", str(v))
			}
		case "cap":
			c.Cap = store.Nanodollars(d.int(v))
		case "win":
			c.CapWindowHours = int(d.int(v))
		case "rps":
			c.RatePerSecond = d.float(v)
		case "burst":
			c.RateBurst = int(d.int(v))
		case "sl":
			c.Sessionless = str(v)
		case "created":
			c.Created = d.time(v)
		case "max":
			c.LargestCharge = store.Nanodollars(d.int(v))
		}
	}
	if d.err != nil {
		return store.Caller{}, fmt.Errorf("caller %q: %w", id, d.err)
	}
	return c, nil
}
