package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/authpool/authpool/claude/transcript"
)

// ErrEmptyTrace is returned by ReadTrace for transcripts without usage.
var ErrEmptyTrace = errors.New("sim: the transcripts hold no usage")

// TraceLinger is how long a traced session stays with the pool after its
// last request before it is released: a transcript says when requests
// happened, not when the client left.
const TraceLinger = time.Minute

// ReadTrace reads Claude Code transcripts (the projects/ directories under
// roots, as transcript.Read reads them by default: de-duplicated as
// ccusage does, priced at the built-in prices with ccusage's long-context
// rule) into a Workload: each transcript session is a client
// (its session ID), each de-duplicated request a Request at its time with
// its cost. The workload covers the last week of the transcripts (the week
// before the hour after the last request, which is what
// transcript.Report.Recent holds), from the hour of its first request;
// each session ends TraceLinger after its last request.
//
// A request's context is its cached prompt prefix, the tokens it read from
// the cache or wrote to it (cache reads and writes), its Model the
// transcript's. The workload's CacheTTL is an hour if any request wrote a
// 1-hour cache (Claude Code on a subscription does), else 5 minutes.
func ReadTrace(ctx context.Context, name string, roots ...transcript.Root) (*Workload, error) {
	all, err := transcript.Read(ctx, roots, transcript.Options{})
	if err != nil {
		return nil, fmt.Errorf("sim: read trace: %w", err)
	}
	if len(all.Hours) == 0 {
		return nil, ErrEmptyTrace
	}
	end := all.Hours[len(all.Hours)-1].Start.Add(time.Hour)
	rep, err := transcript.Read(ctx, roots, transcript.Options{Now: end})
	if err != nil {
		return nil, fmt.Errorf("sim: read trace: %w", err)
	}
	if len(rep.Recent) == 0 {
		return nil, ErrEmptyTrace
	}
	entries := slices.Clone(rep.Recent)
	slices.SortStableFunc(entries, func(a, b transcript.Entry) int { return a.Time.Compare(b.Time) })
	start := entries[0].Time.UTC().Truncate(time.Hour)
	w := &Workload{Name: name, Start: start, Length: end.Sub(start), Model: DefaultModel, CacheTTL: 5 * time.Minute}
	index := make(map[string]int)
	for _, e := range entries {
		if e.Session == "" {
			e.Session = "no-session" // a line without a session ID
		}
		i, ok := index[e.Session]
		if !ok {
			i = len(w.Sessions)
			index[e.Session] = i
			w.Sessions = append(w.Sessions, Session{Client: e.Session, Start: e.Time.UTC()})
		}
		s := &w.Sessions[i]
		c := e.Counts
		s.Requests = append(s.Requests, Request{Time: e.Time.UTC(), CostUSD: e.CostUSD,
			ContextTokens: c.CacheRead + c.CacheWrite5m + c.CacheWrite1h, Model: e.Model})
		if c.CacheWrite1h > 0 {
			w.CacheTTL = time.Hour
		}
		s.End = e.Time.UTC().Add(TraceLinger)
	}
	return w, nil
}
