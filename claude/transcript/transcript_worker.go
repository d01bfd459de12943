package transcript

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"io"
)

// This file is a reading worker (transcript_read.go): it reads one file at
// a time, line by line through a reused buffer, skipping lines longer than
// MaxLine, and sends the file's records to the merger in batches.

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
