package proxy

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/authpool/authpool/store"
)

// capLedger keeps what each capped caller of a Proxy spent, per UTC hour,
// over the last week: in this process only (a proxy's replicas each keep
// their own).
type capLedger struct {
	mu      sync.Mutex
	callers map[string]*callerSpend
}

// callerSpend is one caller's spending.
type callerSpend struct {
	hours [store.WeekHours]struct {
		hour int64
		cost store.Nanodollars
	}
}

func newCapLedger() *capLedger { return &capLedger{callers: make(map[string]*callerSpend)} }

// standing is a capped caller's use of its cap at one instant.
type standing struct {
	used, budget store.Nanodollars
	share        float64
	window       time.Duration
	reset        time.Time // when the share next falls (below the cap, when over it)
}

// window returns a caller's cap window in whole hours (5 by default).
func capHours(c Caller) int64 {
	if h := int64(time.Duration(c.CapWindow) / time.Hour); h > 0 {
		return h
	}
	return 5
}

// standing returns a caller's standing at now, and false for a caller
// without a cap. It remembers the caller's cap.
func (l *capLedger) standing(c Caller, now time.Time) (standing, bool) {
	if c.CapUSD <= 0 {
		return standing{}, false
	}
	budget, err := store.FromUSD(c.CapUSD)
	if err != nil || budget == 0 {
		return standing{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.spend(c.ID)
	w := capHours(c)
	h := store.HourOf(now)
	st := standing{budget: budget, window: time.Duration(w) * time.Hour}
	for hr := h - w + 1; hr <= h; hr++ {
		st.used += s.at(hr)
	}
	st.share = float64(st.used) / float64(budget)
	// The share falls when the oldest spending leaves the window; below the
	// cap only once enough of it has left.
	left := st.used
	for hr := h - w + 1; hr <= h; hr++ {
		c := s.at(hr)
		if c == 0 {
			continue
		}
		left -= c
		if st.reset.IsZero() {
			st.reset = store.HourStart(hr + w)
		}
		if st.used >= budget && left < budget {
			st.reset = store.HourStart(hr + w)
			break
		}
		if st.used < budget {
			break
		}
	}
	if st.reset.IsZero() {
		st.reset = now.Add(st.window)
	}
	return st, true
}

// add counts what a caller spent at at.
func (l *capLedger) add(id string, at time.Time, usd float64) {
	cost, err := store.FromUSD(usd)
	if err != nil || cost == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.spend(id)
	h := store.HourOf(at)
	b := &s.hours[((h%store.WeekHours)+store.WeekHours)%store.WeekHours]
	if b.hour != h {
		b.hour, b.cost = h, 0
	}
	b.cost += cost
}

// spend returns a caller's record, made if new. l.mu is held.
func (l *capLedger) spend(id string) *callerSpend {
	s := l.callers[id]
	if s == nil {
		s = &callerSpend{}
		l.callers[id] = s
	}
	return s
}

// at returns what was spent in hour h.
func (s *callerSpend) at(h int64) store.Nanodollars {
	if b := s.hours[((h%store.WeekHours)+store.WeekHours)%store.WeekHours]; b.hour == h {
		return b.cost
	}
	return 0
}

// headers reports the standing as Claude Code reads a gateway's own cap
// (docs/formats.md §0): status, utilization, resets, and the threshold crossed
// (0.75 or 0.95), which makes Claude Code tell its user "You've used NN%".
func (st standing) headers(h http.Header) {
	status := "allowed"
	if st.share >= 0.75 {
		status = "allowed_warning"
	}
	reset := strconv.FormatInt(st.reset.Unix(), 10)
	h.Set("Anthropic-Ratelimit-Unified-Status", status)
	h.Set("Anthropic-Ratelimit-Unified-Reset", reset)
	h.Set("Anthropic-Ratelimit-Unified-Overage-Utilization", strconv.FormatFloat(st.share, 'f', 4, 64))
	h.Set("Anthropic-Ratelimit-Unified-Overage-Reset", reset)
	switch {
	case st.share >= 0.95:
		h.Set("Anthropic-Ratelimit-Unified-Overage-Surpassed-Threshold", "0.95")
	case st.share >= 0.75:
		h.Set("Anthropic-Ratelimit-Unified-Overage-Surpassed-Threshold", "0.75")
	}
}
