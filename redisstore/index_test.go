package redisstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/store"
)

// encTime writes a time as the store does: its Unix nanoseconds, offset to
// be positive, in 20 digits.
func encTime(t time.Time) string { return fmt.Sprintf("%020d", uint64(t.UnixNano())^(1<<63)) }

// TestIndexUpgrade checks that sessions written before the activity index
// existed (a session hash and its membership, no index entry, no mark that
// the index is complete) are found by
// a query that walks the index, once a Store has indexed them, and that a
// write to such a session indexes it too.
func TestIndexUpgrade(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	tag := "{" + prefix + "}:"
	before := redisstore.New(c, redisstore.WithPrefix(prefix))
	must(t, before.CreateSubscription(ctx, store.Subscription{ID: "a"}), "CreateSubscription")
	_, err := before.Assign(ctx, store.Assignment{ClientID: "new", SubscriptionID: "a", Now: t0.Add(time.Hour)})
	must(t, err, "Assign")
	for i, client := range []string{"old1", "old2"} {
		when := t0.Add(time.Duration(i) * time.Minute)
		must(t, c.HSet(ctx, tag+"s:"+client, "sub", "a", "created", encTime(when), "assigned", encTime(when),
			"last", encTime(when), "req", 0, "cost", 0, "in", 0, "out", 0, "cw", 0, "cr", 0, "model", "").Err(), "HSET")
		must(t, c.SAdd(ctx, tag+"m:a", client).Err(), "SADD")
	}
	// As an older version left them: no mark; then a write indexes old2.
	must(t, c.Del(ctx, tag+"indexed").Err(), "DEL")
	_, err = before.Touch(ctx, "old2", t0.Add(2*time.Hour), time.Time{})
	must(t, err, "Touch")

	for _, s := range []*redisstore.Store{redisstore.New(c, redisstore.WithPrefix(prefix)), before} {
		got, err := s.Sessions(ctx, store.SessionQuery{ActiveBefore: t0.Add(3 * time.Hour), Limit: 3})
		must(t, err, "Sessions")
		diffStrings(t, "clients of Sessions(ActiveBefore, Limit), oldest first", ids(got), []string{"old1", "new", "old2"})
		got, err = s.Sessions(ctx, store.SessionQuery{SubscriptionID: "a", ActiveBefore: t0.Add(time.Minute)})
		must(t, err, "Sessions")
		diffStrings(t, "clients of Sessions(SubscriptionID, ActiveBefore)", ids(got), []string{"old1"})
	}
	if n, err := c.ZCard(ctx, tag+"a").Result(); err != nil || n != 3 {
		t.Errorf("the index holds %d entries (%v), want 3", n, err)
	}
}

func ids(ss []store.Session) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ClientID
	}
	return out
}
