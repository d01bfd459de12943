package transcript

import (
	"context"
	"fmt"
	"hash/maphash"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authpool/authpool/internal/bounds"
	"github.com/authpool/authpool/store"
)

// This file runs a Read: it finds the transcripts (transcript_list.go),
// reads them in parallel (transcript_worker.go: one file per worker, line by
// line through a reused buffer) and hands the usage lines, as compact
// records, to a single merger in ccusage's file order, which de-duplicates
// and accounts them (transcript_report.go).
//
// Memory: each worker holds one line buffer (up to MaxLine) and a few
// batches of records (files ahead of the merger wait for it, a few batches
// each); what outlives the reading is one 64-byte record per distinct
// request per reader and an index entry for it (about 300 bytes per
// distinct request in all, measured on a generated 1 GB tree: 63 MB of
// live heap at most for 206,000 distinct requests), the hours, days and
// sessions, and the last week's entries. Duplicate lines (streaming writes
// one line per content block) and lines without usage cost nothing once
// read, so the memory does not grow with the bytes read.

// txKey identifies a message, or a message and request, by a 128-bit
// hash.
type txKey struct{ a, b uint64 }

// Flags of a txRec.
const (
	txForEntries = 1 << iota // the entry reader accepts the line
	txForDaily               // the daily reader accepts the line
	txSide                   // isSidechain
	txHasSpeed               // usage.speed is given
	txFast                   // usage.speed is "fast"
	txMissing                // the tokens had no price
	txHasMsg                 // message.id is given
	txHasReq                 // requestId is given
	txHasReset               // an old-style usage limit message gave a reset time
	txEstimated              // the tokens were priced at an estimate
)

// txRec is a usage line as the merger needs it.
type txRec struct {
	ts           int64 // Unix milliseconds
	cost         float64
	tok          [5]uint32 // input, output, cache write 5m (or unsplit), cache write 1h, cache read
	model        int32     // index in txRun.models; -1 none
	file         int32
	flags        uint16
	kMsg, kExact txKey  // the message id; it and the request id (or none)
	kDay         txKey  // the daily reader's: kExact, or without a request id the message id and time
	reset        int64  // Unix milliseconds
	id           string // the pool ID, for the last week's entries only
}

func (r *txRec) total() uint64 {
	return uint64(r.tok[0]) + uint64(r.tok[1]) + uint64(r.tok[2]) + uint64(r.tok[3]) + uint64(r.tok[4])
}

// txBatch is records, problems and counts from one file, in line order.
type txBatch struct {
	recs     []txRec
	problems []Problem
	stats    Stats
}

// txRun is one Read call.
type txRun struct {
	opts     Options
	roots    []Root
	files    []txFile
	sessions []txSession
	models   txModels
	seedA    maphash.Seed
	seedB    maphash.Seed
	// recentFrom and recentTo bound the entries kept for WarmPool (Unix
	// milliseconds); recentFrom > recentTo keeps none.
	recentFrom, recentTo int64
}

// Read reads the transcripts under each root's projects
// directory, every *.jsonl file at any depth, and accounts them by ccusage
// 20.0.24's rules (docs/formats.md §3–§5). Lines without usage, lines of other
// types and malformed lines are skipped (malformed ones counted and
// reported in the report's Problems, as are unreadable files), so the
// error is only for a cancelled ctx or a root that cannot be listed.
//
// It reads files in parallel but accounts them in ccusage's order, so the
// result does not depend on the number of workers.
func Read(ctx context.Context, roots []Root, opts Options) (*Report, error) {
	run, err := newTxRun(roots, opts)
	if err != nil {
		return nil, err
	}
	m := newTxMerger(run)
	if err := run.read(ctx, m.merge); err != nil {
		return nil, err
	}
	return m.report(), nil
}

func newTxRun(roots []Root, opts Options) (*txRun, error) {
	if opts.Prices == nil {
		opts.Prices = txDefaultPrices()
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.BlockLength <= 0 {
		opts.BlockLength = DefaultBlockLength
	}
	if opts.MaxLine <= 0 {
		opts.MaxLine = DefaultMaxLine
	}
	// txWorker.long keeps the usage marker's length of a long line's tail.
	opts.MaxLine = max(opts.MaxLine, minMaxLine)
	switch {
	case opts.MaxProblems == 0:
		opts.MaxProblems = DefaultMaxProblems
	case opts.MaxProblems < 0:
		opts.MaxProblems = 0
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Mode > CostDisplay {
		return nil, fmt.Errorf("claude: read transcripts: unknown cost mode %v", opts.Mode)
	}
	run := &txRun{
		opts: opts, roots: slices.Clone(roots), seedA: maphash.MakeSeed(), seedB: maphash.MakeSeed(),
		models:     txModels{ids: make(map[string]int32), prices: opts.Prices},
		recentFrom: 1, recentTo: 0,
	}
	if !opts.Now.IsZero() {
		run.recentFrom = (store.HourOf(opts.Now) - store.WeekHours + 1) * 3600 * 1000
		run.recentTo = opts.Now.Add(bounds.MaxClockSkew).UnixMilli()
	}
	if err := run.list(); err != nil {
		return nil, err
	}
	return run, nil
}

// read reads every file with opts.Workers workers and calls merge with
// each file's batches, files in order.
func (run *txRun) read(ctx context.Context, merge func(*txBatch)) error {
	n := len(run.files)
	chans := make([]chan *txBatch, n)
	for i := range chans {
		chans[i] = make(chan *txBatch, 4)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(run.opts.Workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := txWorker{run: run, ctx: ctx}
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				w.file(int32(i), chans[i])
				close(chans[i])
			}
		}()
	}
	for i := range chans {
		for b := range chans[i] {
			if ctx.Err() == nil {
				merge(b)
			}
		}
	}
	wg.Wait()
	return ctx.Err()
}
