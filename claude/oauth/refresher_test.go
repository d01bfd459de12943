package oauth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/oauth"
	"github.com/authpool/authpool/internal/fakeoauth"
)

// A pool refreshing through Client.RefreshFunc keeps each new refresh
// token: the fake honours each refresh token once, so a second refresh
// works only if the first one's token was kept.
func TestRefreshFuncKeepsTheNewRefreshToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, fakeoauth.Options{}, oauth.Config{})
	login := f.fake.Mint(oauth.DefaultScopes()...)
	p, err := authpool.New(ctx, authpool.Config{Subscriptions: []authpool.Subscription{{
		ID: "max-a", Kind: authpool.KindMax20x, Credential: authpool.Credential(login.AccessToken),
		RefreshToken: authpool.Credential(login.RefreshToken), CredentialExpiresAt: login.ExpiresAt,
	}}}, authpool.WithClock(f.clk.Now), authpool.WithRefresher(f.client.RefreshFunc(), 10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	seen := map[string]bool{login.AccessToken: true}
	for i := range 3 {
		f.clk.Advance(8 * time.Hour)
		report, err := p.RefreshCredentials(ctx)
		if err != nil || len(report) != 1 || report[0].Err != nil {
			t.Fatalf("refresh %d: %+v, %v", i, report, err)
		}
		a, err := p.Allocate(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if seen[a.Credential.Reveal()] {
			t.Fatalf("refresh %d: the access token was not renewed", i)
		}
		seen[a.Credential.Reveal()] = true
	}
	if n := f.fake.Count("refresh"); n != 3 {
		t.Errorf("the fake saw %d refreshes, want 3", n)
	}
}

// A subscription without a refresh token is not refreshed, and says why.
func TestRefreshFuncWithoutARefreshToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakeoauth.Options{}, oauth.Config{})
	_, err := f.client.RefreshFunc()(context.Background(), "setup", authpool.Token{Access: "sk-ant-oat01-x"})
	if err == nil || errors.Is(err, oauth.ErrInvalidGrant) {
		t.Fatalf("refresh without a refresh token: %v, want an error saying there is none", err)
	}
}
