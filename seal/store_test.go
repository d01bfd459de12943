package seal_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/seal"
	"github.com/authpool/authpool/store"
	"github.com/authpool/authpool/store/storetest"
)

// The conformance suite runs on a sealing Store over each store: sealing
// must not change what the contract says.
func TestStore(t *testing.T) {
	k := keyring(t, key("a"))
	t.Run("memstore", func(t *testing.T) {
		storetest.Run(t, func(*testing.T) store.Store { return seal.NewStore(memstore.New(), k) })
	})
	t.Run("redisstore", func(t *testing.T) {
		c := redistest.Client(t)
		storetest.Run(t, func(t *testing.T) store.Store {
			return seal.NewStore(redisstore.New(c, redisstore.WithPrefix(redistest.Prefix(t, c))), k)
		})
	})
}

func TestStoreKeepsOnlySealedCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inner := memstore.New()
	s := seal.NewStore(inner, keyring(t, key("a")))
	if err := s.CreateSubscription(ctx, store.Subscription{ID: "s1", Credential: plaintext}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSubscription(ctx, store.Subscription{ID: "empty"}); err != nil {
		t.Fatal(err)
	}
	raw, _ := inner.Subscription(ctx, "s1")
	if !seal.IsSealed(raw.Credential.Reveal()) || strings.Contains(raw.Credential.Reveal(), plaintext[8:16]) {
		t.Errorf("the wrapped store holds %q, want a sealed value", raw.Credential.Reveal())
	}
	if raw, _ := inner.Subscription(ctx, "empty"); raw.Credential != "" {
		t.Errorf("an empty credential was stored as %q", raw.Credential.Reveal())
	}
	got, err := s.Subscription(ctx, "s1")
	if err != nil || got.Credential.Reveal() != plaintext {
		t.Errorf("Subscription = %q, %v; want the plain credential", got.Credential.Reveal(), err)
	}
	if err := s.UpdateSubscription(ctx, store.Subscription{ID: "s1", Credential: plaintext + "-2"}); err != nil {
		t.Fatal(err)
	}
	if raw2, _ := inner.Subscription(ctx, "s1"); raw2.Credential == raw.Credential || !seal.IsSealed(raw2.Credential.Reveal()) {
		t.Errorf("UpdateSubscription stored %q", raw2.Credential.Reveal())
	}
	all, err := s.Subscriptions(ctx)
	if err != nil || len(all) != 2 || all[1].Credential.Reveal() != plaintext+"-2" {
		t.Errorf("Subscriptions = %v, %v", all, err)
	}
}

func TestStoreRefusesRecordsItCannotOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inner := memstore.New()
	sA := seal.NewStore(inner, keyring(t, key("a")))
	for _, id := range []string{"s1", "s2"} {
		if err := sA.CreateSubscription(ctx, store.Subscription{ID: id, Credential: store.Secret(plaintext + "-" + id)}); err != nil {
			t.Fatal(err)
		}
	}
	// Warm the cache, then swap s1's sealed credential into s2.
	if _, err := sA.Subscriptions(ctx); err != nil {
		t.Fatal(err)
	}
	raw1, _ := inner.Subscription(ctx, "s1")
	raw2, _ := inner.Subscription(ctx, "s2")
	swap := raw2
	swap.Credential = raw1.Credential
	if err := inner.UpdateSubscription(ctx, swap); err != nil {
		t.Fatal(err)
	}
	_, err := sA.Subscriptions(ctx)
	if !errors.Is(err, seal.ErrAuthentication) || !strings.Contains(err.Error(), `subscription "s2"`) {
		t.Errorf("Subscriptions with a swapped credential: %v, want ErrAuthentication naming s2", err)
	}
	if _, err := sA.Subscription(ctx, "s2"); !errors.Is(err, seal.ErrAuthentication) {
		t.Errorf("Subscription with a swapped credential: %v, want ErrAuthentication", err)
	}

	// A plain record, written around the sealing store.
	plain := raw2
	plain.Credential = plaintext
	if err := inner.UpdateSubscription(ctx, plain); err != nil {
		t.Fatal(err)
	}
	_, err = sA.Subscription(ctx, "s2")
	if !errors.Is(err, seal.ErrNotSealed) || strings.Contains(err.Error(), plaintext[8:16]) {
		t.Errorf("Subscription of a plain record: %v, want ErrNotSealed without the credential", err)
	}

	// Written again through a sealing store, it is repaired.
	if err := sA.UpdateSubscription(ctx, store.Subscription{ID: "s2", Credential: plaintext + "-s2"}); err != nil {
		t.Fatal(err)
	}
	// A keyring without the key that sealed s1 and s2.
	sB := seal.NewStore(inner, keyring(t, key("b")))
	_, err = sB.Subscriptions(ctx)
	if !errors.Is(err, seal.ErrUnknownKey) || !strings.Contains(err.Error(), `key "a"`) {
		t.Errorf("Subscriptions without key a: %v, want ErrUnknownKey naming a", err)
	}
	// A rotated keyring opens both, and reseals what it writes with b.
	sBA := seal.NewStore(inner, keyring(t, key("b"), key("a")))
	all, err := sBA.Subscriptions(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("Subscriptions with keys b, a: %v, %v", all, err)
	}
	if err := sBA.UpdateSubscription(ctx, all[0]); err != nil {
		t.Fatal(err)
	}
	raw1, _ = inner.Subscription(ctx, "s1")
	if id, _ := seal.KeyID(raw1.Credential.Reveal()); id != "b" {
		t.Errorf("resealed with %q, want b", id)
	}
	if got, err := sB.Subscription(ctx, "s1"); err != nil || got.Credential.Reveal() != plaintext+"-s1" {
		t.Errorf("keyring b: Subscription(s1) = %q, %v", got.Credential.Reveal(), err)
	}
}

// TestStoreCachesOpenedCredentials checks that reading the same records
// again decrypts nothing: it costs about what the wrapped store's read
// costs, not an opening (and its allocations) per credential.
func TestStoreCachesOpenedCredentials(t *testing.T) {
	ctx := context.Background()
	inner := memstore.New()
	s := seal.NewStore(inner, keyring(t, key("a")))
	const n = 50
	for i := range n {
		id := "sub-" + strings.Repeat("x", i%3) + string(rune('A'+i%26)) + string(rune('a'+i/26))
		if err := s.CreateSubscription(ctx, store.Subscription{ID: id, Credential: store.Secret(plaintext + id)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Subscriptions(ctx); err != nil {
		t.Fatal(err)
	}
	plain := testing.AllocsPerRun(20, func() { _, _ = inner.Subscriptions(ctx) })
	sealed := testing.AllocsPerRun(20, func() { _, _ = s.Subscriptions(ctx) })
	if sealed > plain+10 {
		t.Errorf("Subscriptions allocates %v times sealed, %v plain: the cache does not spare the openings", sealed, plain)
	}
	t.Logf("allocations per Subscriptions of %d records: %v plain, %v sealed", n, plain, sealed)
}

// TestStoreSealsRefreshTokens checks that a subscription's refresh token is
// sealed beside its credential, opens again, and is sealed for its own
// slot: a sealed credential moved into the refresh token's place (or back)
// does not open.
func TestStoreSealsRefreshTokens(t *testing.T) {
	ctx := context.Background()
	inner := memstore.New()
	s := seal.NewStore(inner, keyring(t, key("a")))
	want := store.Subscription{ID: "s1", Credential: store.Secret(plaintext + "-access"), RefreshToken: store.Secret(plaintext + "-refresh")}
	if err := s.CreateSubscription(ctx, want); err != nil {
		t.Fatal(err)
	}
	raw, err := inner.Subscription(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if !seal.IsSealed(raw.RefreshToken.Reveal()) || strings.Contains(raw.RefreshToken.Reveal(), plaintext) {
		t.Fatalf("the stored refresh token is not sealed")
	}
	for _, read := range []func() (store.Subscription, error){
		func() (store.Subscription, error) { return s.Subscription(ctx, "s1") },
		func() (store.Subscription, error) {
			list, err := s.Subscriptions(ctx)
			if err != nil {
				return store.Subscription{}, err
			}
			return list[0], nil
		},
	} {
		got, err := read()
		if err != nil || got.Credential != want.Credential || got.RefreshToken != want.RefreshToken {
			t.Errorf("read back: access %q, refresh %q, %v", got.Credential.Reveal(), got.RefreshToken.Reveal(), err)
		}
	}
	swapped := raw
	swapped.Credential, swapped.RefreshToken = raw.RefreshToken, raw.Credential
	if err := inner.UpdateSubscription(ctx, swapped); err != nil {
		t.Fatal(err)
	}
	if _, err := seal.NewStore(inner, keyring(t, key("a"))).Subscription(ctx, "s1"); !errors.Is(err, seal.ErrAuthentication) {
		t.Errorf("Subscription with the sealed tokens swapped = %v, want ErrAuthentication", err)
	}
}
