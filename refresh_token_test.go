package authpool_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/memstore"
	"github.com/google/go-cmp/cmp"
)

// TestRefreshRotatesTheRefreshToken: the RefreshFunc gets the refresh token
// the store keeps, and what it returns replaces it in the same write (an
// empty one keeps it); UpdateSubscription can replace the refresh token
// alone, and UpdateCredential replaces all three. Sealed, as a server
// keeps them.
func TestRefreshRotatesTheRefreshToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock(t0)
	inner := memstore.New()
	var mu sync.Mutex
	var got []string // the refresh tokens the RefreshFunc was given
	next := []authpool.Credential{"sk-ant-ort01-two", ""}
	refresh := func(_ context.Context, _ string, current authpool.Token) (authpool.Token, error) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, current.Refresh.Reveal())
		r := next[0]
		next = next[1:]
		return authpool.Token{Access: current.Access + "+", Refresh: r, ExpiresAt: clk.Now().Add(time.Hour)}, nil
	}
	p := newPool(t, subs(sub("max-a", expires(t0.Add(time.Hour)), func(s *authpool.Subscription) { s.RefreshToken = "sk-ant-ort01-one" })),
		clk, authpool.WithStore(inner), authpool.WithSealer(sealKeyring(t, "k1")), authpool.WithRefresher(refresh, 10*time.Minute))
	tokens := func() (string, string) {
		t.Helper()
		list, err := p.Subscriptions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return list[0].Credential.Reveal(), list[0].RefreshToken.Reveal()
	}
	for _, at := range []time.Duration{55 * time.Minute, 110 * time.Minute} {
		clk.Set(t0.Add(at))
		if report, err := p.RefreshCredentials(ctx); err != nil || len(report) != 1 || report[0].Err != nil {
			t.Fatalf("RefreshCredentials at +%v = %+v, %v; want max-a refreshed", at, report, err)
		}
	}
	if diff := cmp.Diff([]string{"sk-ant-ort01-one", "sk-ant-ort01-two"}, got); diff != "" {
		t.Errorf("refresh tokens given to the RefreshFunc (-want +got):\n%s", diff)
	}
	if access, refreshToken := tokens(); access != secret+"-max-a++" || refreshToken != "sk-ant-ort01-two" {
		t.Errorf("after two refreshes: %q, %q; want the access token refreshed twice and the refresh token kept", access, refreshToken)
	}
	three := authpool.Credential("sk-ant-ort01-three")
	if err := p.UpdateSubscription(ctx, "max-a", authpool.SubscriptionUpdate{RefreshToken: &three}); err != nil {
		t.Fatal(err)
	}
	if access, refreshToken := tokens(); access != secret+"-max-a++" || refreshToken != three.Reveal() {
		t.Errorf("after UpdateSubscription of the refresh token: %q, %q; want the access token as it was", access, refreshToken)
	}
	if err := p.UpdateCredential(ctx, "max-a", authpool.Token{Access: "sk-ant-api03-key"}); err != nil {
		t.Fatal(err)
	}
	if access, refreshToken := tokens(); access != "sk-ant-api03-key" || refreshToken != "" {
		t.Errorf("after UpdateCredential without a refresh token: %q, %q; want the key and no refresh token", access, refreshToken)
	}
	raw, err := inner.Subscription(ctx, "max-a")
	if err != nil || raw.Credential.Reveal() == "sk-ant-api03-key" {
		t.Errorf("the store holds the credential unsealed (%v)", err)
	}
}
