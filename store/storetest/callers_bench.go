package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

// benchCallers measures, on a store.CallerStore, what a proxy asks of the
// store per request of a stored, capped caller: the key's lookup, and the
// admission, charge (with a usage ID) and release, over 10 callers with
// caps that never run out. It skips a store that keeps no callers.
func benchCallers(b *testing.B, newStore func(b *testing.B) store.Store) {
	const callers = 10
	setup := func(b *testing.B) store.CallerStore {
		cs, ok := newStore(b).(store.CallerStore)
		if !ok {
			b.Skip("not a store.CallerStore")
		}
		for i := range callers {
			c := newCaller(fmt.Sprint("c", i))
			c.Cap = store.MaxUSD * 1e9
			if err := cs.CreateCaller(context.Background(), c); err != nil {
				b.Fatal(err)
			}
		}
		return cs
	}
	b.Run("CallerByKey", func(b *testing.B) {
		cs := setup(b)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if _, err := cs.CallerByKey(context.Background(), keyHash(fmt.Sprint("c", i%callers))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("AdmitChargeRelease", func(b *testing.B) {
		cs := setup(b)
		var next atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				n := next.Add(1)
				id, now := fmt.Sprint("c", n%callers), at(time.Duration(n)*time.Millisecond)
				a, err := cs.AdmitCaller(ctx, id, now, store.MaxUSD*1e9, 5, time.Minute)
				if err != nil || !a.Admitted {
					b.Errorf("AdmitCaller = %+v, %v", a, err)
					return
				}
				c := charge(fmt.Sprint("m", n), now, 1000, "s")
				if _, err := cs.ChargeCaller(ctx, id, c); err != nil {
					b.Error(err)
					return
				}
				if err := cs.ReleaseCaller(ctx, id, a.LeaseID); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
