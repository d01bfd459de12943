package transcript

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
)

// txWriteTree writes a generated tree of about size bytes under dir and
// returns its size.
func txWriteTree(tb testing.TB, dir string, size int64, seed uint64) int64 {
	tb.Helper()
	var total int64
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for part := uint64(0); total < size; part++ {
		p := txGenParams{Seed: seed + part, Start: start + int64(part)*30*86_400_000, Days: 30, Sessions: 40, Turns: 60, Content: 2000}
		txGenerate(p, func(name string, data []byte) {
			path := filepath.Join(dir, "projects", fmt.Sprintf("p%d%s", part, name))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				tb.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				tb.Fatal(err)
			}
			total += int64(len(data))
		})
	}
	return total
}

// BenchmarkTranscripts reads a generated tree of about 64 MB from the disk
// (the page cache, after the first read): b.SetBytes makes the result
// MB/s.
func BenchmarkTranscripts(b *testing.B) {
	dir := b.TempDir()
	size := txWriteTree(b, dir, 64<<20, 100)
	roots := Roots([]string{dir})
	if _, err := Read(context.Background(), roots, Options{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Read(context.Background(), roots, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTranscriptBigTree reads a generated tree of about 1 GB and reports
// the peak heap: AUTHPOOL_BIG_TRANSCRIPTS=1 (it needs 1 GB of disk and a
// minute).
func TestTranscriptBigTree(t *testing.T) {
	if os.Getenv("AUTHPOOL_BIG_TRANSCRIPTS") == "" {
		t.Skip("set AUTHPOOL_BIG_TRANSCRIPTS=1 to read a 1 GB generated tree")
	}
	dir := t.TempDir()
	began := time.Now()
	size := txWriteTree(t, dir, 1<<30, 1000)
	t.Logf("wrote %d MB in %v", size>>20, time.Since(began).Round(time.Millisecond))
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak, peakLive atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > peak.Load() {
					peak.Store(ms.HeapAlloc)
				}
				metrics.Read(live)
				if v := live[0].Value.Uint64(); v > peakLive.Load() {
					peakLive.Store(v)
				}
			}
		}
	}()
	began = time.Now()
	r, err := Read(context.Background(), Roots([]string{dir}), Options{})
	elapsed := time.Since(began)
	close(done)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("read %d MB in %v (%.0f MB/s): %d files, %d lines, %d usage lines, %d entries (%d distinct), %d daily entries (%d distinct)",
		size>>20, elapsed.Round(time.Millisecond), float64(size)/1e6/elapsed.Seconds(), r.Stats.Files, r.Stats.Lines,
		r.Stats.UsageLines, r.Stats.Entries, r.Stats.Entries-r.Stats.Duplicates, r.Stats.DailyEntries, r.Stats.DailyEntries-r.Stats.DailyDuplicates)
	t.Logf("heap: %d MB before; while reading (sampled every 5 ms) peak HeapAlloc %d MB, garbage included, and peak live heap %d MB (as of the last GC); %d MB live after, with the report; Sys %d MB",
		before.HeapAlloc>>20, peak.Load()>>20, peakLive.Load()>>20, after.HeapAlloc>>20, after.Sys>>20)
	runtime.KeepAlive(r)
}
