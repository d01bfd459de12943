package sim

// The run's events, kept in a heap (container/heap) ordered by time, then
// kind, then the order they were pushed in: a run replays deterministically.

// event kinds, in the order events at the same instant are handled.
const (
	evTick    = iota // Rebalance, and sample the pool
	evEnd            // a session ends: Release
	evRequest        // a session's next request
)

type event struct {
	at   int64 // Unix nanoseconds
	kind uint8
	seq  int32 // insertion order, last tie-break: deterministic
	sess int32
	req  int32
}

type events []event

func (q events) Len() int { return len(q) }
func (q events) Less(i, j int) bool {
	a, b := q[i], q[j]
	if a.at != b.at {
		return a.at < b.at
	}
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	return a.seq < b.seq
}
func (q events) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *events) Push(x any)   { *q = append(*q, x.(event)) }
func (q *events) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}
