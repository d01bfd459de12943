package authpool_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDisablingADisabledSubscriptionIsNotReportedAgain: claude.Apply calls
// Disable for every response that says the credential is refused (401), so
// the concurrent requests of a subscription whose token was revoked each
// disable it. EventDisabled says the subscription "was taken out of
// service"; it was once, and is reported once, as a limit with the same end
// is (MarkLimited's claim).
func TestDisablingADisabledSubscriptionIsNotReportedAgain(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx := context.Background()
		clk := newClock(t0)
		p, rec := notified(t, subs(sub("s-a"), sub("s-b")), clk)
		for range 3 {
			if err := p.Disable(ctx, "s-a", "auth: HTTP 401"); err != nil {
				t.Fatal(err)
			}
		}
		want := []string{"disabled 2026-11-26T12:30:00Z subscription=s-a"}
		if diff := cmp.Diff(want, rec.take()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}
