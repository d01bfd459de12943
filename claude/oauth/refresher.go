package oauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/authpool/authpool"
)

// RefreshFunc returns c's Refresh as a pool's authpool.RefreshFunc (for
// authpool.WithRefresher): it renews a subscription's access token with the
// refresh token the pool keeps beside it, and hands back the new access
// token, refresh token and expiry, which the pool writes in one step. A
// subscription without a refresh token (an API key, or a setup-token) is
// refused with an error saying so; so is a login that is gone (wrapping
// ErrInvalidGrant), which only a new login mends. It asks for the Config's
// scopes, and, when the answer is invalid_scope (a login granted fewer),
// again naming none, which keeps the login's own.
func (c *Client) RefreshFunc() authpool.RefreshFunc {
	return func(ctx context.Context, subscriptionID string, current authpool.Token) (authpool.Token, error) {
		if current.Refresh == "" {
			return authpool.Token{}, fmt.Errorf("oauth: subscription %q has no refresh token: log it in again", subscriptionID)
		}
		t, err := c.Refresh(ctx, current.Refresh)
		var he *HTTPError
		if errors.As(err, &he) && he.Code == "invalid_scope" {
			// A login granted fewer scopes than the Config's (one imported
			// from an older CLI): the pool keeps no scopes, so ask again
			// naming none, which keeps the grant's. A refused request spends
			// no refresh token.
			t, err = c.refresh(ctx, current.Refresh, nil)
		}
		if err != nil {
			return authpool.Token{}, err
		}
		return authpool.Token{Access: t.AccessToken, Refresh: t.RefreshToken, ExpiresAt: t.ExpiresAt}, nil
	}
}
