package seal_test

import (
	"errors"
	"testing"
	"time"

	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/seal"
	"github.com/authpool/authpool/store"
)

// Over a store that keeps no callers, every CallerStore method of a
// sealing Store says so with errors.ErrUnsupported; over one that does,
// the records pass as they are (storetest's caller cases, in TestStore).
func TestCallersNeedACallerStore(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := seal.NewStore(struct{ store.Store }{memstore.New()}, keyring(t, key("a")))
	for name, err := range map[string]error{
		"CreateCaller": s.CreateCaller(ctx, store.Caller{ID: "a", KeyHash: [32]byte{1}}),
		"UpdateCaller": s.UpdateCaller(ctx, "a", store.CallerUpdate{Sessionless: new(string)}),
		"DeleteCaller": s.DeleteCaller(ctx, "a"),
		"Caller":       func() error { _, err := s.Caller(ctx, "a"); return err }(),
		"Callers":      func() error { _, err := s.Callers(ctx); return err }(),
		"CallerByKey":  func() error { _, err := s.CallerByKey(ctx, [32]byte{1}); return err }(),
		"ChargeCaller": func() error { _, err := s.ChargeCaller(ctx, "a", store.Charge{At: time.Now()}); return err }(),
		"CallerUsage":  func() error { _, err := s.CallerUsage(ctx, "a", 0, 1); return err }(),
		"CallerSessions": func() error {
			_, err := s.CallerSessions(ctx, "a", 0, 1)
			return err
		}(),
		"AdmitCaller":   func() error { _, err := s.AdmitCaller(ctx, "a", time.Now(), 1, 1, time.Minute); return err }(),
		"ReleaseCaller": s.ReleaseCaller(ctx, "a", "lease"),
	} {
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("%s over a store without callers: %v; want errors.ErrUnsupported", name, err)
		}
	}
}
