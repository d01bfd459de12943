package callerreport_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/authpool/authpool/callerreport"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/store"
)

// BenchmarkAll reports 100 callers on the in-memory store, each with 10
// sessions of 3 requests over the morning, every other one capped: what a
// status page or a scrape adds for them.
//
//	go test -run '^$' -bench All -benchmem ./callerreport/
func BenchmarkAll(b *testing.B) {
	ctx := context.Background()
	st := memstore.New()
	for i := range 100 {
		c := store.Caller{ID: fmt.Sprintf("caller-%03d", i), KeyHash: sha256.Sum256(fmt.Appendf(nil, "apk-%d", i)), Created: now}
		if i%2 == 0 {
			c.Cap = 20e9
		}
		if err := st.CreateCaller(ctx, c); err != nil {
			b.Fatal(err)
		}
		for j := range 30 {
			ch := store.Charge{At: now.Add(-time.Duration(j*10) * time.Minute), Cost: 0.05e9, Session: fmt.Sprintf("session-%d", j%10)}
			if _, err := st.ChargeCaller(ctx, c.ID, ch); err != nil {
				b.Fatal(err)
			}
		}
	}
	for b.Loop() {
		rs, err := callerreport.All(ctx, st, now)
		if err != nil || len(rs) != 100 {
			b.Fatalf("All: %d reports, %v", len(rs), err)
		}
	}
}
