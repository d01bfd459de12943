package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Workload is what the clients ask of the pool, fixed before the pool runs:
// every session with its requests, so that every pool size and policy of a
// sweep replays exactly the same requests. A Workload is read-only once made
// and may be shared by concurrent runs.
type Workload struct {
	// Name is for the report.
	Name string
	// Start and Length bound the simulation: requests outside them are not
	// sent.
	Start  time.Time
	Length time.Duration
	// Sessions are ordered by start time.
	Sessions []Session
	// Dropped counts the sessions a synthetic workload did not start
	// because every agent was busy.
	Dropped int
	// Model prices the requests' prompt caches (a Request's Model, when
	// set, is its own): a session moved to another account while its cache
	// is warm rewrites its context there (see Result.BrokenCacheUSD). ""
	// means DefaultModel.
	Model string
	// CacheTTL is how long a session's prompt cache lives after its last
	// request: 5 minutes for the API's default cache, an hour for Claude
	// Code on a subscription (it writes 1-hour caches). A request within it
	// of its session's previous one finds the cache warm, if it is on the
	// same account (Result.CacheContinuity). 0 means DefaultCacheTTL.
	CacheTTL time.Duration
}

// DefaultModel is the model a Workload without one is priced as: what
// Claude Code runs by default.
const DefaultModel = "claude-sonnet-4-5"

// DefaultCacheTTL is the prompt cache's life for a Workload without one:
// Claude Code on a subscription writes 1-hour caches.
const DefaultCacheTTL = time.Hour

// cacheTTL returns CacheTTL or its default.
func (w *Workload) cacheTTL() time.Duration {
	if w.CacheTTL > 0 {
		return w.CacheTTL
	}
	return DefaultCacheTTL
}

// Session is one client's session: the pool's client, when it works and the
// requests it makes.
type Session struct {
	// Client is the pool's client ID, unique in the workload.
	Client string
	// Start is the session's first request; End is when the client leaves
	// (Release), after its last request.
	Start, End time.Time
	// Requests are ordered by time.
	Requests []Request
}

// Request is one request of a session: when it is sent, what it costs
// with its session's prompt cache warm on its account, and the context it
// carries.
type Request struct {
	Time    time.Time
	CostUSD float64
	// ContextTokens is the session's context (the cached prompt prefix)
	// when the request is sent: what a request moved to another account
	// while the cache is warm writes to that account's cache instead of
	// reading it (Result.BrokenCacheUSD).
	ContextTokens int64
	// Model prices the context; "" means the workload's Model.
	Model string
}

// Requests returns how many requests the workload makes within its length.
func (w *Workload) Requests() int {
	end := w.Start.Add(w.Length)
	n := 0
	for _, s := range w.Sessions {
		for _, r := range s.Requests {
			if r.Time.Before(end) {
				n++
			}
		}
	}
	return n
}

// CostUSD returns what the workload's requests within its length cost.
func (w *Workload) CostUSD() float64 {
	end := w.Start.Add(w.Length)
	sum := 0.0
	for _, s := range w.Sessions {
		for _, r := range s.Requests {
			if r.Time.Before(end) {
				sum += r.CostUSD
			}
		}
	}
	return sum
}

// Synthetic describes a population of Claude Code agents from which
// Generate draws a Workload.
//
// Sessions arrive as a Poisson process whose rate follows the working week
// (Rate): PeakSessionsPerHour in working hours, less in the shoulders, at
// night and at weekends. At most Agents sessions run at once: an arrival
// that finds them all busy is dropped (counted in Workload.Dropped). A
// session lasts a log-normal time (median SessionMedian, log standard
// deviation SessionSigma, at least a minute). Within it, requests come in
// bursts: after each request, with probability PauseProb the agent pauses
// for a log-normal time (median PauseMedian, log sd PauseSigma: a person
// reading, thinking, away), else it sends the next after an exponential gap
// of mean BurstGap (a tool call and the next turn). Each request costs a
// log-normal amount (median CostMedianUSD, log sd CostSigma), the mean of
// which is CostMedianUSD·exp(CostSigma²/2).
type Synthetic struct {
	Name   string
	Start  time.Time     // should be a Monday 00:00 UTC for Rate's week
	Length time.Duration // e.g. a week

	Agents              int
	PeakSessionsPerHour float64
	// WorkStart and WorkEnd are the working hours (UTC, [start, end)),
	// Monday to Friday.
	WorkStart, WorkEnd int
	// Shoulder, Night and Weekend are the arrival rate's share of the peak
	// in the two hours either side of the working hours, on weekday nights,
	// and on Saturday and Sunday.
	Shoulder, Night, Weekend float64

	SessionMedian time.Duration
	SessionSigma  float64

	BurstGap    time.Duration
	PauseProb   float64
	PauseMedian time.Duration
	PauseSigma  float64

	CostMedianUSD float64
	CostSigma     float64

	// A session's context starts at a log-normal size (median
	// ContextStartTokens, log sd ContextStartSigma: the system prompt,
	// tools and project memory) and grows by a log-normal amount with each
	// request (median ContextGrowthTokens, log sd ContextGrowthSigma: the
	// turn's messages and tool results); past ContextMaxTokens it is
	// compacted back to its start. Context sizes are drawn from their own
	// stream of the seed, so they leave the rest of the workload as it was.
	ContextStartTokens  int64
	ContextStartSigma   float64
	ContextGrowthTokens int64
	ContextGrowthSigma  float64
	ContextMaxTokens    int64

	// Model and CacheTTL are the Workload's.
	Model    string
	CacheTTL time.Duration
}

// Standard returns the standard workload: 40 Claude Code agents on a
// working-hours schedule, for one week from Monday 30 November 2026.
//
// In working hours (09:00–18:00 UTC, Monday to Friday) sessions arrive at
// 36 an hour and last a median 45 minutes (log sd 0.6, mean 54 minutes), so
// about 32 of the 40 agents are at work at once; an hour either side the
// rate is a third of that, at night 5 %, at weekends 8 %. A session sends a
// request every 20 s on average while it works, and pauses (median 4
// minutes, log sd 1) after 15 % of them: about 47 requests an hour, and
// idle spells of more than 5 minutes that Rebalance may use. Requests cost
// a median $0.035 (log sd 1, mean $0.058): a working agent spends about
// $2.75 an hour, the fleet about $90 an hour at peak. Seed 1 draws 2,127
// sessions (47 more found every agent busy), 100,241 requests, $5,797.
//
// A Max 20x plan, as this repository's example configures it ($140 a
// 5-hour block, $1,000 a week), sustains $28 an hour in blocks but only $6
// an hour over a week (7.1 blocks' worth): for this schedule the weekly
// budget is the one that binds (at least 6 plans for $5,797), and blocks
// bind only for smaller pools in the busiest hours.
//
// Its agents run claude-sonnet-4-5 with 1-hour prompt caches. A session's
// context starts at a median 20,000 tokens (log sd 0.5) and grows by a
// median 1,000 tokens a request (log sd 1, mean 1,650), compacted back to
// its start past 160,000: about 75,000 tokens after the median session's
// 35 requests.
func Standard() Synthetic {
	return Synthetic{
		Name:                "standard",
		Start:               time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		Length:              7 * 24 * time.Hour,
		Agents:              40,
		PeakSessionsPerHour: 36,
		WorkStart:           9,
		WorkEnd:             18,
		Shoulder:            1.0 / 3,
		Night:               0.05,
		Weekend:             0.08,
		SessionMedian:       45 * time.Minute,
		SessionSigma:        0.6,
		BurstGap:            20 * time.Second,
		PauseProb:           0.15,
		PauseMedian:         4 * time.Minute,
		PauseSigma:          1,
		CostMedianUSD:       0.035,
		CostSigma:           1,
		ContextStartTokens:  20000,
		ContextStartSigma:   0.5,
		ContextGrowthTokens: 1000,
		ContextGrowthSigma:  1,
		ContextMaxTokens:    160000,
		Model:               DefaultModel,
		CacheTTL:            time.Hour,
	}
}

// Rate returns the share of PeakSessionsPerHour at which sessions arrive at
// t (0..1).
func (s Synthetic) Rate(t time.Time) float64 {
	t = t.UTC()
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return s.Weekend
	}
	h := t.Hour()
	switch {
	case h >= s.WorkStart && h < s.WorkEnd:
		return 1
	case h >= s.WorkStart-2 && h < s.WorkStart, h >= s.WorkEnd && h < s.WorkEnd+2:
		return s.Shoulder
	default:
		return s.Night
	}
}

// check reports every field out of range.
func (s Synthetic) check() error {
	var errs []error
	bad := func(field string, v any, want string) {
		errs = append(errs, fmt.Errorf("sim: synthetic workload: %s = %v: %s", field, v, want))
	}
	share := func(field string, v float64) {
		if !(v >= 0 && v <= 1) {
			bad(field, v, "want a share in [0, 1]")
		}
	}
	positive := func(field string, v float64) {
		if !(v > 0) || math.IsInf(v, 0) {
			bad(field, v, "want a positive number")
		}
	}
	if s.Start.IsZero() {
		bad("Start", s.Start, "want a time")
	}
	if s.Length <= 0 || s.Length > 28*24*time.Hour {
		bad("Length", s.Length, "want more than 0, at most 4 weeks")
	}
	if s.Agents < 1 || s.Agents > 100000 {
		bad("Agents", s.Agents, "want 1 to 100000")
	}
	positive("PeakSessionsPerHour", s.PeakSessionsPerHour)
	if s.WorkStart < 0 || s.WorkEnd > 24 || s.WorkStart >= s.WorkEnd {
		bad("WorkStart..WorkEnd", fmt.Sprintf("%d..%d", s.WorkStart, s.WorkEnd), "want 0 <= start < end <= 24")
	}
	share("Shoulder", s.Shoulder)
	share("Night", s.Night)
	share("Weekend", s.Weekend)
	share("PauseProb", s.PauseProb)
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"SessionMedian", s.SessionMedian}, {"BurstGap", s.BurstGap}, {"PauseMedian", s.PauseMedian}} {
		if d.v <= 0 {
			bad(d.field, d.v, "want a positive duration")
		}
	}
	for _, f := range []struct {
		field string
		v     float64
	}{{"SessionSigma", s.SessionSigma}, {"PauseSigma", s.PauseSigma}, {"CostSigma", s.CostSigma}} {
		if !(f.v >= 0 && f.v <= 5) {
			bad(f.field, f.v, "want 0 to 5")
		}
	}
	positive("CostMedianUSD", s.CostMedianUSD)
	if s.ContextStartTokens < 0 || s.ContextGrowthTokens < 0 || s.ContextMaxTokens < s.ContextStartTokens {
		bad("ContextStartTokens, ContextGrowthTokens, ContextMaxTokens",
			fmt.Sprintf("%d, %d, %d", s.ContextStartTokens, s.ContextGrowthTokens, s.ContextMaxTokens),
			"want sizes of at least 0, the maximum at least the start")
	}
	for _, f := range []struct {
		field string
		v     float64
	}{{"ContextStartSigma", s.ContextStartSigma}, {"ContextGrowthSigma", s.ContextGrowthSigma}} {
		if !(f.v >= 0 && f.v <= 5) {
			bad(f.field, f.v, "want 0 to 5")
		}
	}
	if s.CacheTTL < 0 {
		bad("CacheTTL", s.CacheTTL, "want a positive duration, or 0 for the default")
	}
	return errors.Join(errs...)
}

// Generate draws a Workload from s with the given seed: the same seed gives
// the same workload. Client IDs are "s00001", "s00002", ... in order of
// arrival.
func (s Synthetic) Generate(seed uint64) (*Workload, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x5e55_1055))
	contexts := rand.New(rand.NewPCG(seed, 0xc0_47e7))
	w := &Workload{Name: s.Name, Start: s.Start, Length: s.Length, Model: s.Model, CacheTTL: s.CacheTTL}
	end := s.Start.Add(s.Length)
	logNormal := func(median, sigma float64) float64 { return median * math.Exp(sigma*rng.NormFloat64()) }
	seconds := func(x float64) time.Duration { return time.Duration(x * float64(time.Second)) }
	var busy []time.Time // the ends of the sessions running
	peak := s.PeakSessionsPerHour / 3600
	for t := s.Start; ; {
		t = t.Add(seconds(rng.ExpFloat64() / peak))
		if !t.Before(end) {
			break
		}
		if rng.Float64() >= s.Rate(t) { // thinning: a Poisson process of rate peak·Rate(t)
			continue
		}
		running := busy[:0]
		for _, e := range busy {
			if e.After(t) {
				running = append(running, e)
			}
		}
		busy = running
		if len(busy) >= s.Agents {
			w.Dropped++
			continue
		}
		length := max(seconds(logNormal(s.SessionMedian.Seconds(), s.SessionSigma)), time.Minute)
		sess := Session{Client: fmt.Sprintf("s%05d", len(w.Sessions)+1), Start: t, End: t.Add(length)}
		for at := t; at.Before(sess.End); {
			sess.Requests = append(sess.Requests, Request{Time: at, CostUSD: logNormal(s.CostMedianUSD, s.CostSigma)})
			if rng.Float64() < s.PauseProb {
				at = at.Add(seconds(logNormal(s.PauseMedian.Seconds(), s.PauseSigma)))
			} else {
				at = at.Add(seconds(rng.ExpFloat64() * s.BurstGap.Seconds()))
			}
		}
		s.drawContexts(contexts, sess.Requests)
		busy = append(busy, sess.End)
		w.Sessions = append(w.Sessions, sess)
	}
	return w, nil
}

// drawContexts gives a session's requests their context sizes (see
// Synthetic), from rng.
func (s Synthetic) drawContexts(rng *rand.Rand, reqs []Request) {
	logNormal := func(median int64, sigma float64) int64 {
		return int64(math.Round(float64(median) * math.Exp(sigma*rng.NormFloat64())))
	}
	start := min(logNormal(s.ContextStartTokens, s.ContextStartSigma), s.ContextMaxTokens)
	ctx := start
	for i := range reqs {
		reqs[i].ContextTokens = ctx
		if ctx += logNormal(s.ContextGrowthTokens, s.ContextGrowthSigma); ctx > s.ContextMaxTokens {
			ctx = start
		}
	}
}
