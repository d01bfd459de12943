package redisstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/authpool/authpool/store"
)

// configArgs returns the ARGV of a subscription's configuration, in the
// order lua/create.lua and lua/update.lua read it. The credential and the
// refresh token are stored as they are given: sealed by a seal.Store
// wrapped around this one, or else readable by whoever can read the keys.
func configArgs(sub store.Subscription) []any {
	return []any{
		sub.Name, sub.Kind, sub.Credential.Reveal(), sub.MaxClients,
		int64(sub.WeeklyBudget), int64(sub.BlockBudget), int64(sub.DailyBudget), encTime(sub.CredentialExpiresAt),
		sub.RefreshToken.Reveal(),
	}
}

// statusArgs returns the ARGV of a status.
func statusArgs(st store.Status) []any {
	return []any{int(st.State), encTime(st.Until), st.Reason}
}

// CreateSubscription implements store.Store.
func (s *Store) CreateSubscription(ctx context.Context, sub store.Subscription) error {
	args := append([]any{sub.ID}, configArgs(sub)...)
	args = append(args, statusArgs(sub.Status)...)
	v, err := s.run(ctx, scriptCreate, s.keys.sub(sub.ID), args...)
	if err != nil {
		return err
	}
	return s.done(scriptCreate.name, sub.ID, v)
}

// UpdateSubscription implements store.Store.
func (s *Store) UpdateSubscription(ctx context.Context, sub store.Subscription) error {
	v, err := s.run(ctx, scriptUpdate, s.keys.sub(sub.ID), configArgs(sub)...)
	if err != nil {
		return err
	}
	return s.done(scriptUpdate.name, sub.ID, v)
}

// SetStatus implements store.Store.
func (s *Store) SetStatus(ctx context.Context, id string, st store.Status) error {
	v, err := s.run(ctx, scriptStatus, s.keys.sub(id), statusArgs(st)...)
	if err != nil {
		return err
	}
	return s.done(scriptStatus.name, id, v)
}

// SetModelLimit implements store.Store.
func (s *Store) SetModelLimit(ctx context.Context, id string, l store.ModelLimit, now time.Time) error {
	v, err := s.run(ctx, scriptLimit, s.keys.sub(id), l.Model, encTime(l.Until), l.Reason, encTime(now))
	if err != nil {
		return err
	}
	return s.done(scriptLimit.name, id, v)
}

// SetReported implements store.Store.
func (s *Store) SetReported(ctx context.Context, id string, r store.Reported, blockStart time.Time) error {
	block := ""
	if !blockStart.IsZero() {
		block = strconv.FormatInt(store.HourOf(blockStart), 10)
	}
	v, err := s.run(ctx, scriptReported, s.keys.sub(id),
		encTime(r.At), formatFloat(r.BlockShare), encTime(r.BlockReset), formatFloat(r.WeekShare), encTime(r.WeekReset), block)
	if err != nil {
		return err
	}
	return s.done(scriptReported.name, id, v)
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// done reads the reply of a script that changes a subscription and returns
// nothing.
func (s *Store) done(op, id string, v any) error { return doneReply(op, "subscription", id, v) }

// doneReply reads the reply of a script that changes the record of a
// subscription or a caller (what), named id, and returns nothing.
func doneReply(op, what, id string, v any) error {
	code, _, err := reply(op, v)
	if err != nil {
		return err
	}
	switch code {
	case "ok":
		return nil
	case "notfound":
		return fmt.Errorf("redisstore: %s %q: %w", what, id, store.ErrNotFound)
	case "exists":
		return fmt.Errorf("redisstore: %s %q: %w", what, id, store.ErrExists)
	}
	return errReply(op, v)
}

// DeleteSubscription implements store.Store.
func (s *Store) DeleteSubscription(ctx context.Context, id string) ([]store.Session, error) {
	v, err := s.run(ctx, scriptDelete, s.keys.sub(id), id)
	if err != nil {
		return nil, err
	}
	code, rows, err := reply(scriptDelete.name, v)
	if err != nil {
		return nil, err
	}
	if code != "ok" {
		return nil, s.done(scriptDelete.name, id, v)
	}
	released, err := decodeSessions(rows)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %s %q: %w", scriptDelete.name, id, err)
	}
	slices.SortFunc(released, func(a, b store.Session) int { return cmp.Compare(a.ClientID, b.ClientID) })
	if released == nil {
		released = []store.Session{}
	}
	return released, nil
}

// Subscription implements store.Store.
func (s *Store) Subscription(ctx context.Context, id string) (store.Subscription, error) {
	v, err := s.run(ctx, scriptGet, s.keys.sub(id), id)
	if err != nil {
		return store.Subscription{}, err
	}
	code, rest, err := reply(scriptGet.name, v)
	if err != nil {
		return store.Subscription{}, err
	}
	if code != "ok" {
		return store.Subscription{}, s.done(scriptGet.name, id, v)
	}
	if len(rest) != 1 {
		return store.Subscription{}, errReply(scriptGet.name, v)
	}
	sub, err := decodeSubscription(rest[0])
	if err != nil {
		return store.Subscription{}, fmt.Errorf("redisstore: %w", err)
	}
	return sub, nil
}

// Subscriptions implements store.Store.
func (s *Store) Subscriptions(ctx context.Context) ([]store.Subscription, error) {
	v, err := s.run(ctx, scriptList, s.keys.subs())
	if err != nil {
		return nil, err
	}
	code, rest, err := reply(scriptList.name, v)
	if err != nil {
		return nil, err
	}
	if code != "ok" {
		return nil, errReply(scriptList.name, v)
	}
	out := make([]store.Subscription, 0, len(rest))
	for _, r := range rest {
		sub, err := decodeSubscription(r)
		if err != nil {
			return nil, fmt.Errorf("redisstore: %w", err)
		}
		out = append(out, sub)
	}
	slices.SortFunc(out, func(a, b store.Subscription) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
