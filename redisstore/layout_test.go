package redisstore_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/store"
)

// keysUnder returns the keys named "{prefix}:...", sorted.
func keysUnder(t *testing.T, c *redis.Client, prefix string) []string {
	t.Helper()
	keys, err := c.Keys(t.Context(), "{"+prefix+"}:*").Result()
	if err != nil {
		t.Fatalf("KEYS: %v", err)
	}
	slices.Sort(keys)
	return keys
}

// pttl returns a key's time to live, or fails the test when it has none.
func pttl(t *testing.T, c *redis.Client, key string) time.Duration {
	t.Helper()
	d, err := c.PTTL(t.Context(), key).Result()
	if err != nil {
		t.Fatalf("PTTL %s: %v", key, err)
	}
	return d
}

// near fails the test unless got is within a few seconds of want.
func near(t *testing.T, what string, got, want time.Duration) {
	t.Helper()
	if got < want-5*time.Second || got > want {
		t.Errorf("%s expires in %v, want %v", what, got, want)
	}
}

// TestKeys checks the key layout: every key under the prefix and its hash
// tag, the ones that expire (buckets, usage IDs, claims) with the TTLs the
// package documents, the others without one, and nothing left of a
// subscription or a session once it is deleted or released.
func TestKeys(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	s := redisstore.New(c, redisstore.WithPrefix(prefix))
	tag := "{" + prefix + "}:"

	must(t, s.CreateSubscription(ctx, store.Subscription{ID: "a"}), "CreateSubscription")
	must(t, s.CreateSubscription(ctx, store.Subscription{ID: "b"}), "CreateSubscription")
	_, err := s.Assign(ctx, store.Assignment{ClientID: "c", SubscriptionID: "a", Now: t0, HoldUntil: t0.Add(5 * time.Minute)})
	must(t, err, "Assign")
	now := t0.Add(3 * time.Hour)
	late := store.UsageRecord{ID: "msg-1", Remember: 6 * time.Hour, RememberBytes: 1 << 20, Time: t0.Add(90 * time.Minute), Now: now, Cost: 7}
	_, err = s.AddUsage(ctx, "c", late)
	must(t, err, "AddUsage")
	ok, err := s.Claim(ctx, "alert/a", now, now.Add(2*time.Hour))
	if err != nil || !ok {
		t.Fatalf("Claim = %v, %v", ok, err)
	}

	want := []string{tag + "a", tag + "a:a", tag + "b:a", tag + "claim:alert/a", tag + "h:a", tag + "idh", tag + "ids", tag + "indexed", tag + "m:a", tag + "s:c", tag + "sub:a", tag + "sub:b", tag + "subs"}
	diffStrings(t, "keys", keysUnder(t, c, prefix), want)

	// The ring expires a day after the week its newest bucket (t0+1h)
	// serves, counted from the usage's Now.
	near(t, "the bucket ring", pttl(t, c, tag+"b:a"), t0.Add(2*time.Hour+store.WeekHours*time.Hour+24*time.Hour).Sub(now))
	near(t, "the usage IDs", pttl(t, c, tag+"ids"), 2*late.Remember)
	near(t, "the usage IDs' horizon", pttl(t, c, tag+"idh"), 2*late.Remember)
	near(t, "a claim", pttl(t, c, tag+"claim:alert/a"), 2*2*time.Hour)
	for _, k := range []string{"a", "a:a", "h:a", "indexed", "m:a", "s:c", "sub:a", "sub:b", "subs"} {
		if d := pttl(t, c, tag+k); d != -1 {
			t.Errorf("%s expires in %v, want it kept", k, d)
		}
	}

	_, err = s.Release(ctx, "c", time.Time{})
	must(t, err, "Release")
	_, err = s.DeleteSubscription(ctx, "a")
	must(t, err, "DeleteSubscription")
	diffStrings(t, "keys after Release and DeleteSubscription", keysUnder(t, c, prefix),
		[]string{tag + "claim:alert/a", tag + "idh", tag + "ids", tag + "indexed", tag + "sub:b", tag + "subs"})
}

// TestLegacyUsageIDKeyIsADuplicate checks the upgrade from one key per usage
// ID: an ID remembered in {p}:id:<ID> by an older version is a duplicate
// until that key expires, and changes nothing.
func TestLegacyUsageIDKeyIsADuplicate(t *testing.T) {
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	s := redisstore.New(c, redisstore.WithPrefix(prefix))
	ctx := t.Context()
	must(t, s.CreateSubscription(ctx, store.Subscription{ID: "a"}), "CreateSubscription")
	tag := "{" + prefix + "}:"
	if err := c.Set(ctx, tag+"id:msg-old", "an old version's until", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	u := store.UsageRecord{ID: "msg-old", SubscriptionID: "a", Remember: time.Hour, RememberBytes: 1 << 20, Time: t0, Now: t0, Cost: 7}
	_, err := s.AddUsage(ctx, "", u)
	if !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("AddUsage of an ID kept in a legacy key = %v, want ErrDuplicate", err)
	}
	if got := keysUnder(t, c, prefix); slices.Contains(got, tag+"ids") {
		t.Errorf("a duplicate of a legacy key remembered it again: keys %q", got)
	}
	u.ID = "msg-new"
	_, err = s.AddUsage(ctx, "", u)
	must(t, err, "AddUsage of a new ID")
}

func diffStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

// TestPrefixesAreSeparate checks that stores under different prefixes on one
// Redis share nothing, and that an empty prefix means DefaultPrefix.
func TestPrefixesAreSeparate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := redistest.Client(t)
	one := redisstore.New(c, redisstore.WithPrefix(redistest.Prefix(t, c)))
	two := redisstore.New(c, redisstore.WithPrefix(redistest.Prefix(t, c)))
	must(t, one.CreateSubscription(ctx, store.Subscription{ID: "a", MaxClients: 1}), "CreateSubscription")
	must(t, two.CreateSubscription(ctx, store.Subscription{ID: "a", MaxClients: 1}), "CreateSubscription under another prefix")
	for _, s := range []*redisstore.Store{one, two} {
		_, err := s.Assign(ctx, store.Assignment{ClientID: "c", SubscriptionID: "a", Now: t0})
		must(t, err, "Assign under "+s.Prefix())
		_, err = s.AddUsage(ctx, "c", store.UsageRecord{ID: "msg-1", Remember: time.Hour, Time: t0, Now: t0, Cost: 1})
		must(t, err, "AddUsage under "+s.Prefix())
	}
	for _, s := range []*redisstore.Store{one, two} {
		sub, err := s.Subscription(ctx, "a")
		must(t, err, "Subscription")
		if sub.Clients != 1 || len(sub.Usage) != 1 || sub.Usage[0].Requests != 1 {
			t.Errorf("under %s: %d clients and usage %+v, want 1 client and 1 request", s.Prefix(), sub.Clients, sub.Usage)
		}
	}
	if p := redisstore.New(c).Prefix(); p != redisstore.DefaultPrefix {
		t.Errorf("Prefix() of a store made without WithPrefix = %q, want %q", p, redisstore.DefaultPrefix)
	}
	if p := redisstore.New(c, redisstore.WithPrefix("")).Prefix(); p != redisstore.DefaultPrefix {
		t.Errorf(`Prefix() of a store made WithPrefix("") = %q, want %q`, p, redisstore.DefaultPrefix)
	}
}

// TestUsageRingStaysSmall checks that a subscription's buckets take a fixed
// room: 60 days of hourly usage, at every minute of the hour in turn, leaves
// one hash of at most WeekHours hourly slots and BurnMinutes minute slots.
func TestUsageRingStaysSmall(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	s := redisstore.New(c, redisstore.WithPrefix(prefix))
	must(t, s.CreateSubscription(ctx, store.Subscription{ID: "a"}), "CreateSubscription")
	const hours = 60 * 24
	for h := range hours {
		when := t0.Add(time.Duration(h)*time.Hour + time.Duration(h%60)*time.Minute)
		_, err := s.AddUsage(ctx, "", store.UsageRecord{SubscriptionID: "a", Time: when, Now: when, Cost: 1})
		must(t, err, "AddUsage")
	}
	n, err := c.HLen(ctx, "{"+prefix+"}:b:a").Result()
	must(t, err, "HLEN")
	// An hour's slot: its hour, cost, requests and four kinds of tokens; a
	// minute's: its minute and cost; and the newest hour.
	if most := 7*store.WeekHours + 2*store.BurnMinutes + 1; n > int64(most) {
		t.Errorf("the bucket ring holds %d fields after 60 days, want at most %d", n, most)
	}
	sub, err := s.Subscription(ctx, "a")
	must(t, err, "Subscription")
	last := t0.Add(time.Duration(hours-1)*time.Hour + time.Duration((hours-1)%60)*time.Minute)
	if want := []store.Minute{{Minute: store.MinuteOf(last), Cost: 1}}; len(sub.Minutes) != 1 || sub.Minutes[0] != want[0] {
		t.Errorf("Minutes after 60 days = %v, want %v: the usages are an hour apart", sub.Minutes, want)
	}
	if len(sub.Usage) != store.WeekHours || sub.Usage[0].Hour != store.HourOf(t0)+hours-store.WeekHours {
		t.Errorf("Usage after 60 days holds %d buckets from hour %d, want %d from %d",
			len(sub.Usage), sub.Usage[0].Hour, store.WeekHours, store.HourOf(t0)+hours-store.WeekHours)
	}
}
