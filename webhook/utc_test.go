package webhook

import (
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/google/go-cmp/cmp"
)

// TestEventInUTCEveryTime checks that every time a payload carries is in
// UTC, as Payload's doc promises ("Times are RFC 3339 in UTC"), the times
// of an unpricedModel event's usage included: the pool hands on the host's
// Usage as given, whose Time may be in any location.
func TestEventInUTCEveryTime(t *testing.T) {
	t.Parallel()
	zone := time.FixedZone("CET", 3600)
	at := time.Date(2026, 12, 3, 10, 14, 58, 0, zone)
	for _, tc := range []struct {
		name string
		e    authpool.Event
		want []time.Time
	}{
		{"unpriced", authpool.Event{Type: authpool.EventUnpricedModel, Time: at, Unpriced: &authpool.Usage{Time: at, Model: "m", PricedAs: "x"}},
			[]time.Time{at.UTC(), at.UTC()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := eventInUTC(tc.e)
			got := []time.Time{u.Time}
			if u.Unpriced != nil {
				got = append(got, u.Unpriced.Time)
			}
			var locs []string
			for _, g := range got {
				locs = append(locs, g.Location().String())
			}
			if diff := cmp.Diff([]string{"UTC", "UTC"}, locs); diff != "" {
				t.Errorf("locations of the payload's times (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("times (-want +got):\n%s", diff)
			}
			if tc.e.Unpriced != nil && tc.e.Unpriced.Time.Location() != zone {
				t.Error("eventInUTC modified the event's usage")
			}
		})
	}
}
