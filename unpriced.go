package authpool

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/authpool/authpool/store"
)

// maxUnpricedModels bounds the models a pool remembers having reported as
// unpriced: model names come from requests, so their number has no bound
// of its own. Past it, estimates are still counted but no longer reported.
const maxUnpricedModels = 1024

// unpricedModels are the models a pool has reported as unpriced.
type unpricedModels struct {
	mu   sync.Mutex
	seen map[string]bool
}

// first reports whether model is new to the pool, and remembers it.
func (u *unpricedModels) first(model string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.seen[model] || len(u.seen) >= maxUnpricedModels {
		return false
	}
	if u.seen == nil {
		u.seen = make(map[string]bool)
	}
	u.seen[model] = true
	return true
}

// noteEstimate counts a usage Record or Charge counted at an estimated
// cost (Usage.PricedAs set) and, the first time the pool sees its model, logs
// a warning and reports it (EventUnpricedModel), once a week among pools
// sharing a store.
func (p *Pool) noteEstimate(ctx context.Context, u Usage, now time.Time) {
	model := u.Model
	p.counters.estimated.Add(1)
	if !p.unpriced.first(model) {
		return
	}
	p.log.LogAttrs(ctx, slog.LevelWarn, "authpool: a model has no price of its own; its usage is recorded at an estimated cost",
		slog.String("model", model), slog.String("pricedAs", u.PricedAs))
	if p.notes == nil {
		return
	}
	key := "unpricedModel/" + model
	p.notes.emit(outgoing{claim: key, until: now.Add(store.WeekHours * time.Hour), ev: Event{
		ID: eventID(key), Type: EventUnpricedModel, Time: now,
		Unpriced: &u,
	}})
}
