package transcript

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authpool/authpool/internal/bounds"
	"github.com/authpool/authpool/store"
)

// This file finds the transcripts, reads them in parallel (one file per
// worker, line by line through a reused buffer) and hands the usage lines,
// as compact records, to a single merger in ccusage's file order, which
// de-duplicates and accounts them (transcript_report.go).
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

// txFile is a transcript file.
type txFile struct {
	root    int
	rel     string // path inside the root's FS
	full    string // the root's path joined with rel: ccusage's order
	session int32  // index in txRun.sessions
}

// txSession is a session: a project directory and a session id.
type txSession struct {
	id, project string
}

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

// list finds the transcript files, in ccusage's order: by full path, byte
// by byte.
func (run *txRun) list() error {
	sessions := make(map[txSession]int32)
	for ri := range run.roots {
		r := &run.roots[ri]
		if r.FS == nil {
			r.FS = os.DirFS(r.Path)
		}
		err := fs.WalkDir(r.FS, "projects", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == "projects" {
					return err
				}
				return nil // ccusage skips what it cannot list
			}
			name := d.Name()
			if d.IsDir() || !strings.HasSuffix(name, ".jsonl") || len(name) == len(".jsonl") {
				return nil
			}
			if !d.Type().IsRegular() {
				fi, err := fs.Stat(r.FS, p)
				if err != nil || !fi.Mode().IsRegular() {
					return nil
				}
			}
			id, project := txSessionOf(strings.Split(strings.TrimPrefix(p, "projects/"), "/"))
			k := txSession{id, project}
			si, ok := sessions[k]
			if !ok {
				si = int32(len(run.sessions))
				sessions[k] = si
				run.sessions = append(run.sessions, k)
			}
			run.files = append(run.files, txFile{root: ri, rel: p, full: strings.TrimSuffix(r.Path, "/") + "/" + p, session: si})
			return nil
		})
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return fmt.Errorf("claude: read transcripts in %s: %w", r.Path, err)
		}
	}
	slices.SortStableFunc(run.files, func(a, b txFile) int { return strings.Compare(a.full, b.full) })
	return nil
}

// txSessionOf names a transcript's session and project from its path under
// projects/, as ccusage does (its extract_session_parts): <project>/<id>.jsonl
// is session id; a subagent's <project>/<id>/subagents/<agent>.jsonl belongs
// to session id; any other file is named by its directory.
func txSessionOf(rel []string) (id, project string) {
	n := len(rel)
	if n == 2 && len(rel[1]) > len(".jsonl") {
		return strings.TrimSuffix(rel[1], ".jsonl"), rel[0]
	}
	if n >= 4 && rel[n-2] == "subagents" {
		if project = strings.Join(rel[:n-3], "/"); project == "" {
			project = "Unknown Project"
		}
		return rel[n-3], project
	}
	id = rel[max(n-2, 0)]
	if n > 2 {
		return id, strings.Join(rel[:n-2], "/")
	}
	return id, "Unknown Project"
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

// txBatchSize is how many records a batch holds.
const txBatchSize = 1024

// txWorker reads files.
type txWorker struct {
	run    *txRun
	ctx    context.Context
	buf    []byte
	line   txLine
	out    chan<- *txBatch
	batch  *txBatch
	fi     int32
	lineNo int64
	// problems counts the current file's problems, to keep at most
	// MaxProblems of them.
	problems int
	hash     maphash.Hash
}

// file reads file fi, sending its batches to out.
func (w *txWorker) file(fi int32, out chan<- *txBatch) {
	w.out, w.fi, w.lineNo, w.problems = out, fi, 0, 0
	w.batch = &txBatch{}
	w.batch.stats.Files = 1
	defer w.flush()
	if w.ctx.Err() != nil {
		return
	}
	f := &w.run.files[fi]
	r, err := w.run.roots[f.root].FS.Open(f.rel)
	if err != nil {
		w.batch.stats.Unreadable++
		w.problem(0, "cannot open: "+err.Error())
		return
	}
	defer r.Close()
	if err := w.lines(r); err != nil {
		w.batch.stats.Unreadable++
		w.problem(0, "cannot read to the end: "+err.Error())
	}
}

func (w *txWorker) flush() {
	if b := w.batch; b != nil && (len(b.recs) > 0 || len(b.problems) > 0 || b.stats != (Stats{})) {
		w.out <- b
	}
	w.batch = nil
}

// send sends a full batch and starts another.
func (w *txWorker) send() {
	w.out <- w.batch
	w.batch = &txBatch{recs: make([]txRec, 0, txBatchSize)}
}

func (w *txWorker) problem(line int64, what string) {
	w.problems++
	if w.problems <= w.run.opts.MaxProblems {
		w.batch.problems = append(w.batch.problems, Problem{File: w.run.files[w.fi].full, Line: line, Problem: what})
	}
}

// lines reads r line by line through w.buf.
func (w *txWorker) lines(r io.Reader) error {
	maxLine := w.run.opts.MaxLine
	if w.buf == nil {
		w.buf = make([]byte, min(256<<10, maxLine+1))
	}
	buf := w.buf
	defer func() {
		if len(buf) <= 1<<20 {
			w.buf = buf // keep a small buffer for the next file, not a long line's
		}
	}()
	var start, end, scanned int // buf[start:end] holds unread bytes, buf[start:scanned] without '\n'
	eof := false
	for {
		if i := bytes.IndexByte(buf[scanned:end], '\n'); i >= 0 {
			nl := scanned + i
			w.text(buf[start:nl])
			start, scanned = nl+1, nl+1
			continue
		}
		scanned = end
		if eof {
			if start < end {
				w.text(buf[start:end])
			}
			return nil
		}
		if start > 0 {
			copy(buf, buf[start:end])
			end -= start
			scanned -= start
			start = 0
		}
		if end == len(buf) {
			if len(buf) > maxLine {
				var err error
				if end, eof, err = w.long(r, buf, end); err != nil {
					return err
				}
				start, scanned = 0, 0
				continue
			}
			nb := make([]byte, min(2*len(buf), maxLine+1))
			copy(nb, buf[:end])
			buf = nb
		}
		n, err := r.Read(buf[end:])
		end += n
		w.batch.stats.Bytes += int64(n)
		switch {
		case err == io.EOF:
			eof = true
		case err != nil:
			return err
		}
		if w.ctx.Err() != nil {
			return nil
		}
	}
}

// long skips a line longer than MaxLine whose first len(buf) bytes are in
// buf, noting whether it held usage; it returns the bytes after the line,
// moved to the start of buf.
func (w *txWorker) long(r io.Reader, buf []byte, end int) (int, bool, error) {
	w.lineNo++
	w.batch.stats.Lines++
	w.batch.stats.LongLines++
	usage := bytes.Contains(buf[:end], txUsageMarker)
	keep := len(txUsageMarker) - 1
	for {
		// buf[:end] holds part of the line (no '\n' in buf[keep:end] once
		// looked at); keep its tail, in case the marker spans reads.
		copy(buf, buf[end-keep:end])
		end = keep
		n, err := r.Read(buf[end:])
		end += n
		w.batch.stats.Bytes += int64(n)
		if err != nil && err != io.EOF {
			return 0, false, err
		}
		if i := bytes.IndexByte(buf[keep:end], '\n'); i >= 0 {
			nl := keep + i
			usage = usage || bytes.Contains(buf[:nl], txUsageMarker)
			rest := copy(buf, buf[nl+1:end])
			w.longDone(usage)
			return rest, err == io.EOF, nil
		}
		usage = usage || bytes.Contains(buf[:end], txUsageMarker)
		if err == io.EOF {
			w.longDone(usage)
			return 0, true, nil
		}
	}
}

func (w *txWorker) longDone(usage bool) {
	if usage {
		w.batch.stats.UsageLines++
		w.batch.stats.Skipped++
		w.problem(w.lineNo, fmt.Sprintf("line longer than %d bytes skipped, with its usage", w.run.opts.MaxLine))
	}
}
