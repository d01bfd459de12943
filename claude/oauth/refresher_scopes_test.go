package oauth_test

import (
	"context"
	"testing"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/oauth"
	"github.com/authpool/authpool/internal/fakeoauth"
)

// A pool refreshes every login through RefreshFunc, which cannot know the
// scopes a login was granted (the pool keeps none): a login granted fewer
// than the Config's (one imported from an older CLI's credentials file)
// must still refresh, since a refresh may not widen a grant (docs/oauth.md).
func TestRefreshFuncLoginWithFewerScopes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakeoauth.Options{}, oauth.Config{})
	login := f.fake.Mint(oauth.ScopeInference, oauth.ScopeProfile)
	got, err := f.client.RefreshFunc()(context.Background(), "imported", authpool.Token{
		Access: authpool.Credential(login.AccessToken), Refresh: authpool.Credential(login.RefreshToken), ExpiresAt: login.ExpiresAt})
	if err != nil {
		t.Fatalf("refreshing a login granted %v: %v", login.Scopes, err)
	}
	if got.Refresh == "" || got.Refresh.Reveal() == login.RefreshToken {
		t.Errorf("the refresh did not return the new refresh token")
	}
}
