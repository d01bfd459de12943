package authpool_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool"
)

// A refresh token is a credential of the pool as much as the access token
// it renews: a reason that quotes one (an OAuth error echoing the grant)
// is kept, logged and shown with it redacted, as MarkLimited promises of
// every credential of the pool.
func TestReasonsCarryNoRefreshToken(t *testing.T) {
	const (
		configRefresh  = "sk-ant-ort01-from-the-config-0a1b2c3d4e5f6a7b8c"
		updatedRefresh = "sk-ant-ort01-from-an-update-9f8e7d6c5b4a3f2e1d"
	)
	tests := []struct {
		name    string
		refresh string
		update  bool // given by UpdateCredential, not the Config
	}{
		{"the Config's refresh token", configRefresh, false},
		{"a refresh token UpdateCredential gave", updatedRefresh, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clk := newClock(t0)
			p := newPool(t, subs(sub("s-a", func(s *authpool.Subscription) {
				s.RefreshToken = configRefresh
				s.CredentialExpiresAt = t0.Add(8 * time.Hour)
			})), clk)
			if tt.update {
				if err := p.UpdateCredential(ctx, "s-a", authpool.Token{Access: "sk-ant-oat01-new-access-token-0011223344",
					Refresh: authpool.Credential(updatedRefresh), ExpiresAt: t0.Add(9 * time.Hour)}); err != nil {
					t.Fatal(err)
				}
				clk.Advance(defaultRefreshInterval)
				allocate(t, p, "someone") // reads the view again
			}
			if err := p.MarkLimited(ctx, "s-a", clk.Now().Add(time.Hour), "400 invalid_grant: refresh_token "+tt.refresh); err != nil {
				t.Fatal(err)
			}
			got := status(t, snapshot(t, p), "s-a").Status.Reason
			if strings.Contains(got, tt.refresh[:12]) || !strings.Contains(got, "[REDACTED]") {
				t.Errorf("reason = %q, want the refresh token [REDACTED]", got)
			}
		})
	}
}
