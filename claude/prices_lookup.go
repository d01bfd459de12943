package claude

import (
	"fmt"
	"strings"
)

// This file looks models up in a Prices table: each id is resolved once
// (resolution), then priced from the cached resolution.

// Lookup returns the price of a model and whether the table has it: its
// own price, by MatchExact or MatchModel. An estimate (the family's newest
// model, or the fallback) does not count: see Resolve.
func (p *Prices) Lookup(model string) (Price, bool) {
	r := p.resolution(model)
	if r.price == nil || r.res.Estimate() {
		return Price{}, false
	}
	return r.price.clone(), true
}

// Resolve says how the table prices a model: the entry and how it was
// found. A model it cannot price is an error matching ErrUnknownModel.
func (p *Prices) Resolve(model string) (Resolution, error) {
	r := p.resolution(model)
	if r.price == nil {
		return Resolution{}, p.unknown(model)
	}
	return r.res, nil
}

// PriceOf returns the price the table applies to a model, an estimate's
// included, and how it found it (Resolve). A model the table cannot price
// is an error matching ErrUnknownModel. Readers that price many usages of
// few models (package transcript) look each model up once with it.
func (p *Prices) PriceOf(model string) (Price, Resolution, error) {
	r := p.resolution(model)
	if r.price == nil {
		return Price{}, Resolution{}, p.unknown(model)
	}
	return r.price.clone(), r.res, nil
}

// Cost returns what a response of the model with the counts costs, in US
// dollars, with tiers and multipliers applied as rule says. A model the
// table cannot price is an error matching ErrUnknownModel. Cost neither
// allocates nor parses once the model has been priced before.
func (p *Prices) Cost(model string, c Counts, rule TierRule) (float64, error) {
	q, err := p.Quote(model, c, rule)
	return q.CostUSD, err
}

// Quote is Cost, with how the model was priced: whether the cost is an
// estimate, and what it was priced as.
func (p *Prices) Quote(model string, c Counts, rule TierRule) (Quote, error) {
	r := p.resolution(model)
	if r.price == nil {
		return Quote{}, p.unknown(model)
	}
	c.Fast = c.Fast || r.res.Fast
	return Quote{CostUSD: r.price.Cost(c, rule), Resolution: r.res}, nil
}

// unknown is the error of a model the table cannot price.
func (p *Prices) unknown(model string) error {
	return fmt.Errorf("%w %q (set one with Prices.Set, or a fallback with SetFallback)", ErrUnknownModel, model)
}

// resolution returns how a model id is priced, from the table's memory of
// the ids it priced, or resolving it (and remembering that).
func (p *Prices) resolution(model string) resolved {
	p.mu.RLock()
	r, ok := p.cache[model]
	p.mu.RUnlock()
	if ok {
		return r
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.cache[model]; ok {
		return r
	}
	r = p.resolve(model)
	if p.cache == nil || len(p.cache) >= maxResolutions {
		p.cache = make(map[string]resolved)
	}
	p.cache[model] = r
	return r
}

// resolve finds a model id's price as Prices describes; p.mu is held.
func (p *Prices) resolve(model string) resolved {
	if e := p.entries[strings.ToLower(strings.TrimSpace(model))]; e != nil {
		return resolved{&e.price, Resolution{Key: e.key, Match: MatchExact}}
	}
	id := parseModel(model)
	found := func(e *priceEntry, m Match) resolved {
		return resolved{&e.price, Resolution{Key: e.key, Match: m, Fast: id.fast && !e.id.fast}}
	}
	if e := p.entries[id.bare]; e != nil {
		return found(e, MatchExact)
	}
	if e := p.index[id.key()]; e != nil {
		return found(e, MatchModel)
	}
	if e := p.index[id.name]; id.region != "" && e != nil {
		return found(e, MatchModel)
	}
	if e := p.newest[id.family]; id.family != "" && !p.noFamily && e != nil {
		return found(e, MatchFamily)
	}
	if p.fallback != nil {
		return resolved{p.fallback, Resolution{Match: MatchFallback, Fast: id.fast}}
	}
	return resolved{}
}
