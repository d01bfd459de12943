package server

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/oauth"
	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/internal/fakeoauth"
	"github.com/authpool/authpool/seal"
)

// TestRefreshAcrossServers: two servers rebalancing every second on one
// store see a login's access token about to expire; it is refreshed once
// between them, the new access token, refresh token and expiry are stored
// (sealed) in one step, and both servers serve the new token. The old
// refresh token is spent: refreshing with it again is invalid_grant.
func TestRefreshAcrossServers(t *testing.T) {
	keys, err := seal.ParseKeys("k1:" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := seal.NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f *configfile.File) { f.Server.RebalanceEvery = authpool.Duration(time.Second) }
	ts := newTwoServersWith(t, edit, ring)
	login := ts.oauth.Mint(oauth.DefaultScopes()...) // 8 hours
	resp, b := ts.a.do(t, http.MethodPost, "/admin/v1/subscriptions", adminTok, `{"id": "max-oauth", "kind": "max20x",
		"credential": "`+login.AccessToken+`", "refreshToken": "`+login.RefreshToken+`",
		"credentialExpiresAt": "`+login.ExpiresAt.Format(time.RFC3339Nano)+`"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("adding the login: %d %s", resp.StatusCode, b)
	}
	ts.clock.Advance(8*time.Hour - 5*time.Minute) // within refreshBefore (10 minutes)
	waitFor(t, "the refresh", func() bool { return ts.oauth.Count("refresh") >= 1 })
	time.Sleep(2500 * time.Millisecond) // two more rounds of each server
	if n := ts.oauth.Count("refresh"); n != 1 {
		t.Errorf("refreshed %d times, want once across both servers", n)
	}
	var stored authpool.Subscription
	for _, h := range []*harness{ts.a, ts.b} {
		subs, err := h.srv.Pool().Subscriptions(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var got authpool.Subscription
		for _, s := range subs {
			if s.ID == "max-oauth" {
				got = s
			}
		}
		stored = got
		if got.Credential == authpool.Credential(login.AccessToken) || got.RefreshToken == authpool.Credential(login.RefreshToken) ||
			!got.CredentialExpiresAt.Equal(ts.clock.Now().Add(8*time.Hour)) {
			t.Errorf("after the refresh the pool holds the old token, the old refresh token or the old expiry (%v)", got.CredentialExpiresAt)
		}
	}
	rec, err := ts.st.Subscription(t.Context(), "max-oauth")
	if err != nil {
		t.Fatal(err)
	}
	if !seal.IsSealed(rec.Credential.Reveal()) || !seal.IsSealed(rec.RefreshToken.Reveal()) {
		t.Errorf("the refreshed tokens are stored unsealed")
	}
	client, err := oauth.New(oauth.Config{TokenURL: ts.oauthURL + fakeoauth.TokenPath}, oauth.WithClock(ts.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Refresh(t.Context(), authpool.Credential(login.RefreshToken)); !errors.Is(err, oauth.ErrInvalidGrant) {
		t.Errorf("refreshing with the old refresh token: %v, want invalid_grant", err)
	}
	// The refresh token stored is the one the refresh returned: the fake
	// still takes it.
	if _, err := client.Refresh(t.Context(), stored.RefreshToken); err != nil {
		t.Errorf("refreshing with the stored refresh token: %v", err)
	}
}
