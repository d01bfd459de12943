package authpool

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authpool/authpool/store"
	"golang.org/x/sync/errgroup"
)

// NotificationStats counts what became of the pool's events.
type NotificationStats struct {
	// Emitted counts the events queued for delivery; Waiting is how many
	// deliveries wait now (an event waits once in the pool's queue, then once
	// per notifier).
	Emitted int64 `json:"emitted"`
	Waiting int   `json:"waiting"`
	// Delivered and Failed count deliveries: one per event and notifier.
	Delivered int64 `json:"delivered"`
	Failed    int64 `json:"failed"`
	// Dropped counts events lost because the pool's queue, or a notifier's,
	// was full (one per notifier that lost it), or because they were still
	// queued when Close's deadline passed.
	Dropped int64 `json:"dropped"`
	// Deduplicated counts events another pool sharing the store had already
	// reported.
	Deduplicated int64 `json:"deduplicated"`
}

// outgoing is an event waiting for delivery, with the claim that makes it
// one event among pools sharing a store ("" when only one pool can see it).
type outgoing struct {
	ev    Event
	claim string
	until time.Time // when the claim ends
}

// notifications queues the pool's events and delivers them without ever
// blocking the pool: emit puts an event in a bounded queue (a full queue
// drops and counts it); one goroutine takes it from there, makes its claim
// when pools share a store, and hands it to each notifier's own bounded
// queue, from which that notifier's goroutine delivers it. A slow or dead
// receiver thus holds up, and loses, only its own events. A nil
// *notifications (no notifier) delivers nothing.
type notifications struct {
	queue   chan outgoing
	workers []chan Event // one per notifier
	store   store.Store
	log     *slog.Logger

	ctx    context.Context // delivery; cancelled when Close's deadline passes
	cancel context.CancelFunc
	stop   chan struct{} // closed by close: deliver what is queued, then return
	done   chan struct{} // closed when every goroutine has returned
	once   sync.Once
	// closing is held for reading by emit's check of stop and its send,
	// and for writing by close around closing stop: an event sent is in
	// the queue before the dispatcher sees stop and empties it.
	closing sync.RWMutex

	emitted, delivered, failed, dropped, deduplicated atomic.Int64

	// The dispatcher's own: the dropped count it last saw, and whether a
	// burst of drops is on (it logs once a burst).
	droppedSeen int64
	burst       bool
}

// newNotifications starts the delivery goroutines, or returns nil without
// notifiers. Each queue holds size events.
func newNotifications(notifiers []Notifier, size int, st store.Store, log *slog.Logger) *notifications {
	if len(notifiers) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &notifications{
		queue: make(chan outgoing, size), store: st, log: log,
		ctx: ctx, cancel: cancel, stop: make(chan struct{}), done: make(chan struct{}),
	}
	var g errgroup.Group
	for _, nt := range notifiers {
		ch := make(chan Event, size)
		n.workers = append(n.workers, ch)
		g.Go(func() error { n.work(nt, ch); return nil })
	}
	g.Go(func() error { n.dispatch(); return nil })
	go func() {
		_ = g.Wait() // the goroutines return nothing: failures are counted and logged
		close(n.done)
	}()
	return n
}

// emit queues an event without blocking, or drops and counts it when the
// queue is full or the pool is closing. It may be called holding a lock.
func (n *notifications) emit(o outgoing) {
	if n == nil {
		return
	}
	o.ev.Time = o.ev.Time.UTC()
	n.closing.RLock()
	defer n.closing.RUnlock()
	select {
	case <-n.stop:
		n.dropped.Add(1)
		return
	default:
	}
	select {
	case n.queue <- o:
		n.emitted.Add(1)
	default:
		n.dropped.Add(1)
	}
}

// dispatch takes events from the queue to the notifiers' queues until
// close, then hands on what is left and closes the notifiers' queues.
func (n *notifications) dispatch() {
	defer func() {
		for _, ch := range n.workers {
			close(ch)
		}
	}()
	for {
		select {
		case o := <-n.queue:
			n.hand(o)
		case <-n.stop:
			for {
				select {
				case o := <-n.queue:
					n.hand(o)
				default:
					return
				}
			}
		}
	}
}

// hand makes an event's claim and puts it in every notifier's queue.
func (n *notifications) hand(o outgoing) {
	defer n.logDrops()
	if o.claim != "" && n.ctx.Err() == nil {
		claimed, err := n.store.Claim(n.ctx, o.claim, o.ev.Time, o.until)
		switch {
		case err != nil:
			// Better twice than never: deliver it.
			n.log.LogAttrs(n.ctx, slog.LevelWarn, "authpool: claiming an event failed; delivering it anyway",
				slog.String("event", o.ev.ID), slog.String("error", err.Error()))
		case !claimed:
			n.deduplicated.Add(1)
			return
		}
	}
	for _, ch := range n.workers {
		select {
		case ch <- o.ev:
		default:
			n.dropped.Add(1) // that notifier is behind
		}
	}
}

// work delivers a notifier's events one at a time, in order.
func (n *notifications) work(nt Notifier, events <-chan Event) {
	for e := range events {
		if n.ctx.Err() != nil {
			n.dropped.Add(1) // Close's deadline passed
			continue
		}
		if err := nt.Notify(n.ctx, e); err != nil {
			n.failed.Add(1)
			n.log.LogAttrs(n.ctx, slog.LevelWarn, "authpool: notification failed", slog.String("event", e.ID),
				slog.String("type", string(e.Type)), slog.String("error", err.Error()))
			continue
		}
		n.delivered.Add(1)
	}
}

// logDrops logs that events are being dropped, once per burst: a burst
// starts with a drop and ends when an event is handed on with no drop since.
func (n *notifications) logDrops() {
	d := n.dropped.Load()
	switch {
	case d == n.droppedSeen:
		n.burst = false
	case !n.burst:
		n.burst = true
		n.log.LogAttrs(n.ctx, slog.LevelWarn, "authpool: notification queue full; dropping events",
			slog.Int64("dropped", d-n.droppedSeen), slog.Int64("droppedInAll", d))
	}
	n.droppedSeen = d
}

// close delivers what is queued until ctx ends, then abandons the rest, and
// stops the delivery goroutines. It may be called more than once.
func (n *notifications) close(ctx context.Context) error {
	if n == nil {
		return nil
	}
	n.once.Do(func() {
		n.closing.Lock()
		close(n.stop)
		n.closing.Unlock()
	})
	select {
	case <-n.done:
		n.cancel()
		return nil
	case <-ctx.Done():
		n.cancel()
		<-n.done
		return ctx.Err()
	}
}

// stats returns the counts so far.
func (n *notifications) stats() NotificationStats {
	if n == nil {
		return NotificationStats{}
	}
	waiting := len(n.queue)
	for _, ch := range n.workers {
		waiting += len(ch)
	}
	return NotificationStats{
		Emitted: n.emitted.Load(), Waiting: waiting, Delivered: n.delivered.Load(),
		Failed: n.failed.Load(), Dropped: n.dropped.Load(), Deduplicated: n.deduplicated.Load(),
	}
}

// logNotifier logs events to a slog.Logger, with the event's fields as
// structured attributes: what Config.Notify.Log sets up. It is safe for
// concurrent use.
type logNotifier struct {
	log    *slog.Logger
	level  slog.Level
	events []EventType
}

// newLogNotifier returns a notifier that logs events of the given types (all
// when none is given) at level.
func newLogNotifier(l *slog.Logger, level slog.Level, events ...EventType) *logNotifier {
	return &logNotifier{log: l, level: level, events: events}
}

// Notify logs e.
func (l *logNotifier) Notify(ctx context.Context, e Event) error {
	if len(l.events) > 0 && !slices.Contains(l.events, e.Type) {
		return nil
	}
	attrs := []slog.Attr{slog.String("id", e.ID), slog.String("type", string(e.Type)), slog.Time("eventTime", e.Time)}
	if e.SubscriptionID != "" {
		attrs = append(attrs, slog.String("subscription", e.SubscriptionID))
	}
	if e.ClientID != "" {
		attrs = append(attrs, slog.String("client", e.ClientID))
	}
	if e.Model != "" {
		attrs = append(attrs, slog.String("model", e.Model))
	}
	switch {
	case e.Threshold != nil:
		t := e.Threshold
		attrs = append(attrs, slog.Group("threshold", slog.String("window", t.Window), slog.Float64("threshold", t.Threshold),
			slog.Float64("usedUSD", t.UsedUSD), slog.Float64("budgetUSD", t.BudgetUSD), slog.Float64("percent", t.Percent),
			slog.Float64("burnRateUSDPerHour", t.BurnRateUSDPerHour), slog.Time("exhaustsAt", t.ExhaustsAt)))
	case e.Move != nil:
		attrs = append(attrs, slog.Group("move", slog.String("from", e.Move.From), slog.String("to", e.Move.To),
			slog.String("reason", string(e.Move.Reason))))
	case e.Limit != nil:
		attrs = append(attrs, slog.Group("limit", slog.String("state", e.Limit.State.String()), slog.Time("until", e.Limit.Until),
			slog.String("reason", e.Limit.Reason)))
	case e.Credential != nil:
		var msg string
		if e.Credential.Err != nil {
			msg = e.Credential.Err.Error()
		}
		attrs = append(attrs, slog.Group("credential", slog.Time("expiresAt", e.Credential.ExpiresAt),
			slog.Time("retryAt", e.Credential.RetryAt), slog.String("error", msg)))
	case e.Unpriced != nil:
		attrs = append(attrs, slog.Group("unpriced", slog.String("model", e.Unpriced.Model), slog.String("pricedAs", e.Unpriced.PricedAs)))
	case e.Exhausted != nil:
		attrs = append(attrs, slog.Group("exhausted", slog.Time("retryAt", e.Exhausted.RetryAt),
			slog.Any("reasons", e.Exhausted.Reasons), slog.String("fallback", string(e.Exhausted.Fallback))))
	}
	l.log.LogAttrs(ctx, l.level, "authpool: event", attrs...)
	return nil
}
