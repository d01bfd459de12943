package authpool_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/seal"
)

// sealKeyring returns a keyring of test keys derived from ids, the first
// sealing.
func sealKeyring(t testing.TB, ids ...string) *seal.Keyring {
	t.Helper()
	keys := make([]seal.Key, len(ids))
	for i, id := range ids {
		b := sha256.Sum256([]byte("authpool test key " + id))
		keys[i] = seal.Key{ID: id, Bytes: b[:]}
	}
	k, err := seal.NewKeyring(keys...)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return k
}

func TestSealerKeepsCredentialsSealedInTheStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock(t0)
	inner := authpool.NewTestStore(t)
	p := newPool(t, subs(sub("max-a")), clk, authpool.WithStore(inner), authpool.WithSealer(sealKeyring(t, "k1")))
	if err := p.AddSubscription(ctx, sub("max-b")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"max-a", "max-b"} {
		rec, err := inner.Subscription(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if kid, err := seal.KeyID(rec.Credential.Reveal()); err != nil || kid != "k1" || strings.Contains(rec.Credential.Reveal(), secret[8:16]) {
			t.Errorf("store holds %s's credential as %q (%v), want it sealed with k1", id, rec.Credential.Reveal(), err)
		}
	}
	a := allocate(t, p, "alice")
	if a.Credential.Reveal() != secret+"-"+a.SubscriptionID {
		t.Errorf("Allocate gave credential %q, want the plain one", a.Credential.Reveal())
	}
	list, err := p.Subscriptions(ctx)
	if err != nil || len(list) != 2 || list[1].Credential.Reveal() != secret+"-max-b" {
		t.Errorf("Subscriptions = %v, %v; want plain credentials", list, err)
	}
}

func TestSealerRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock(t0)
	inner := authpool.NewTestStore(t)
	keyA, keyB, keyBA := sealKeyring(t, "a"), sealKeyring(t, "b"), sealKeyring(t, "b", "a")
	sealedWith := func(id string) string {
		t.Helper()
		rec, err := inner.Subscription(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		kid, err := seal.KeyID(rec.Credential.Reveal())
		if err != nil {
			t.Fatalf("%s's credential in the store: %v", id, err)
		}
		return kid
	}

	// Pool 1 seals with a: max-a from its Config, max-b added later.
	p1 := newPool(t, subs(sub("max-a")), clk, authpool.WithStore(inner), authpool.WithSealer(keyA))
	if err := p1.AddSubscription(ctx, sub("max-b", maxClients(5))); err != nil {
		t.Fatal(err)
	}
	pin(t, p1, "max-b", "alice", "bob")
	if got := sealedWith("max-b"); got != "a" {
		t.Fatalf("max-b sealed with %q, want a", got)
	}

	// A pool with b only cannot open max-b, which only the store lists: New
	// says which subscription and which key.
	_, err := authpool.New(ctx, subs(sub("max-a")), authpool.WithStore(inner), authpool.WithClock(clk.Now), authpool.WithSealer(keyB))
	if !errors.Is(err, seal.ErrUnknownKey) || !strings.Contains(err.Error(), `"max-b"`) || !strings.Contains(err.Error(), `key "a"`) ||
		strings.Contains(err.Error(), secret[8:16]) {
		t.Fatalf("New with keys {b}: %v; want ErrUnknownKey naming max-b and key a", err)
	}

	// A pool with {b newest, a} opens both, reseals its Config's max-a at New
	// and max-b when its credential is written again.
	p2 := newPool(t, subs(sub("max-a")), clk, authpool.WithStore(inner), authpool.WithSealer(keyBA))
	if got := sealedWith("max-a"); got != "b" {
		t.Errorf("after New with {b, a}: max-a sealed with %q, want b", got)
	}
	if got := sealedWith("max-b"); got != "a" {
		t.Errorf("after New with {b, a}: max-b sealed with %q, want a (not written yet)", got)
	}
	if a := allocate(t, p2, "alice"); a.SubscriptionID != "max-b" || a.Outcome != authpool.OutcomeSticky || a.Credential.Reveal() != secret+"-max-b" {
		t.Errorf("Allocate(alice) on {b, a} = %+v (%q), want sticky on max-b with its credential", a, a.Credential.Reveal())
	}
	if err := p2.UpdateCredential(ctx, "max-b", authpool.Token{Access: secret + "-max-b-refreshed"}); err != nil {
		t.Fatal(err)
	}
	if got := sealedWith("max-b"); got != "b" {
		t.Errorf("after UpdateCredential: max-b sealed with %q, want b", got)
	}

	// Now a pool with b only reads everything.
	p3 := newPool(t, subs(sub("max-a")), clk, authpool.WithStore(inner), authpool.WithSealer(keyB))
	if a := allocate(t, p3, "bob"); a.SubscriptionID != "max-b" || a.Credential.Reveal() != secret+"-max-b-refreshed" {
		t.Errorf("Allocate(bob) on {b} = %+v (%q), want max-b with its new credential", a, a.Credential.Reveal())
	}
}

func TestSealerRefusesPlainRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock(t0)
	inner := authpool.NewTestStore(t)
	plain := newPool(t, subs(sub("max-a")), clk, authpool.WithStore(inner))
	if err := plain.AddSubscription(ctx, sub("max-b")); err != nil {
		t.Fatal(err)
	}
	if rec, _ := inner.Subscription(ctx, "max-b"); rec.Credential.Reveal() != secret+"-max-b" {
		t.Errorf("a pool without a sealer stored %q, want the credential as it is", rec.Credential.Reveal())
	}
	k := sealKeyring(t, "k1")
	_, err := authpool.New(ctx, subs(sub("max-a")), authpool.WithStore(inner), authpool.WithClock(clk.Now), authpool.WithSealer(k))
	if !errors.Is(err, seal.ErrNotSealed) || !strings.Contains(err.Error(), `"max-b"`) || strings.Contains(err.Error(), secret[8:16]) {
		t.Fatalf("New with a sealer over a plain record: %v; want ErrNotSealed naming max-b", err)
	}
	// Listing it in the Config seals it.
	p := newPool(t, subs(sub("max-a"), sub("max-b")), clk, authpool.WithStore(inner), authpool.WithSealer(k))
	if rec, _ := inner.Subscription(ctx, "max-b"); !seal.IsSealed(rec.Credential.Reveal()) {
		t.Errorf("after New listing it, max-b is stored as %q", rec.Credential.Reveal())
	}
	allocate(t, p, "alice")
}

func TestUpdateCredentialKeepsClients(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, sealed := range []bool{false, true} {
		name := "plain"
		if sealed {
			name = "sealed"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clk := newClock(t0)
			var opts []authpool.Option
			if sealed {
				opts = append(opts, authpool.WithSealer(sealKeyring(t, "k1")))
			}
			p := newPool(t, subs(sub("max-a", maxClients(3)), sub("max-b", maxClients(3))), clk, opts...)
			pin(t, p, "max-a", "alice", "bob")
			before := status(t, snapshot(t, p), "max-a")
			if err := p.UpdateCredential(ctx, "max-a", authpool.Token{Access: "sk-ant-oat01-refreshed"}); err != nil {
				t.Fatal(err)
			}
			for _, c := range []string{"alice", "bob"} {
				a := allocate(t, p, c)
				if a.SubscriptionID != "max-a" || a.Outcome != authpool.OutcomeSticky || a.Credential.Reveal() != "sk-ant-oat01-refreshed" {
					t.Errorf("Allocate(%s) after UpdateCredential = %+v (%q), want sticky on max-a with the new credential",
						c, a, a.Credential.Reveal())
				}
			}
			after := status(t, snapshot(t, p), "max-a")
			if after.Clients != 2 || before.Clients != 2 || after.MaxClients != before.MaxClients || after.Kind != before.Kind {
				t.Errorf("max-a before %+v, after %+v: want its clients and configuration kept", before, after)
			}
			if err := p.UpdateCredential(ctx, "nope", authpool.Token{Access: "x"}); !errors.Is(err, authpool.ErrNotFound) {
				t.Errorf("UpdateCredential(nope) = %v, want ErrNotFound", err)
			}
			for _, bad := range []authpool.Credential{"", "a\nb"} {
				if err := p.UpdateCredential(ctx, "max-a", authpool.Token{Access: bad}); !errors.Is(err, authpool.ErrInvalidArgument) {
					t.Errorf("UpdateCredential(%q) = %v, want ErrInvalidArgument", bad.Reveal(), err)
				}
			}
		})
	}
}

// BenchmarkAllocateStickySealed is BenchmarkAllocateSticky with a sealer:
// the view holds opened credentials, so the sticky path decrypts nothing.
func BenchmarkAllocateStickySealed(b *testing.B) {
	clock := newBenchClock()
	p, err := authpool.New(context.Background(), benchConfig(100, 10_000), authpool.WithClock(clock.now),
		authpool.WithSealer(sealKeyring(b, "k1")))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	ids := benchIDs("client", 10_000)
	for _, id := range ids {
		if _, err := p.Allocate(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := p.Allocate(ctx, ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
	}
}

// TestUpdateCredentialRepairsARecordItCannotOpen: a record another pool
// wrote plain is refused by a sealing pool until UpdateCredential writes
// it again, sealed; UpdateCredential does not need to open it.
func TestUpdateCredentialRepairsARecordItCannotOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock(t0)
	inner := authpool.NewTestStore(t)
	sealing := newPool(t, subs(sub("max-a")), clk, authpool.WithStore(inner), authpool.WithSealer(sealKeyring(t, "k1")))
	newPool(t, subs(sub("max-a")), clk, authpool.WithStore(inner)) // writes max-a plain
	if _, err := sealing.Subscriptions(ctx); !errors.Is(err, seal.ErrNotSealed) {
		t.Fatalf("Subscriptions over a plain record = %v, want ErrNotSealed", err)
	}
	if err := sealing.UpdateCredential(ctx, "max-a", authpool.Token{Access: "sk-ant-oat01-repaired"}); err != nil {
		t.Fatalf("UpdateCredential over a plain record: %v", err)
	}
	list, err := sealing.Subscriptions(ctx)
	if err != nil || len(list) != 1 || list[0].Credential.Reveal() != "sk-ant-oat01-repaired" {
		t.Fatalf("Subscriptions after the repair = %v, %v; want max-a's new credential", list, err)
	}
	if rec, _ := inner.Subscription(ctx, "max-a"); !seal.IsSealed(rec.Credential.Reveal()) {
		t.Errorf("after the repair, max-a is stored as %q, want it sealed", rec.Credential.Reveal())
	}
}
