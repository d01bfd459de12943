package transcript

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
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

// TestTranscriptWriteBenchTree writes the tree BenchmarkTranscripts reads,
// at AUTHPOOL_TX_BENCH_TREE (a directory to create) and of
// AUTHPOOL_TX_BENCH_MB megabytes (default 64), to time ccusage on:
// docs/performance.md.
func TestTranscriptWriteBenchTree(t *testing.T) {
	dir := os.Getenv("AUTHPOOL_TX_BENCH_TREE")
	if dir == "" {
		t.Skip("set AUTHPOOL_TX_BENCH_TREE=DIR to write the benchmark's tree there")
	}
	mb := int64(64)
	if s := os.Getenv("AUTHPOOL_TX_BENCH_MB"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			t.Fatalf("AUTHPOOL_TX_BENCH_MB = %q: want a positive number of megabytes", s)
		}
		mb = n
	}
	t.Logf("wrote %d bytes under %s", txWriteTree(t, dir, mb<<20, 100), dir)
}

// txBenchLines returns the usage lines of a generated tree of about size
// bytes (the lines Read parses; the others it only counts) and
// their total length.
func txBenchLines(tb testing.TB, size int64) ([][]byte, int64) {
	tb.Helper()
	var lines [][]byte
	var total int64
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for part := uint64(0); total < size; part++ {
		p := txGenParams{Seed: 100 + part, Start: start + int64(part)*30*86_400_000, Days: 30, Sessions: 40, Turns: 60, Content: 2000}
		txGenerate(p, func(_ string, data []byte) {
			for line := range bytes.SplitSeq(data, []byte("\n")) {
				if bytes.Contains(line, txUsageMarker) {
					lines = append(lines, line)
					total += int64(len(line)) + 1
				}
			}
		})
	}
	return lines, total
}

// txJSONEntry is a usage line's fields as encoding/json would decode
// them: what ccusage reads (transcript_parse.go), a pointer for each field
// that may be absent or null.
type txJSONEntry struct {
	Timestamp         *string        `json:"timestamp"`
	SessionID         *string        `json:"sessionId"`
	Version           *string        `json:"version"`
	RequestID         *string        `json:"requestId"`
	CostUSD           *float64       `json:"costUSD"`
	IsAPIErrorMessage *bool          `json:"isApiErrorMessage"`
	IsSidechain       *bool          `json:"isSidechain"`
	Message           *txJSONMessage `json:"message"`
	Data              *struct {
		Message *struct {
			Timestamp   *string        `json:"timestamp"`
			RequestID   *string        `json:"requestId"`
			CostUSD     *float64       `json:"costUSD"`
			IsSidechain *bool          `json:"isSidechain"`
			Message     *txJSONMessage `json:"message"`
		} `json:"message"`
	} `json:"data"`
}

// txJSONMessage is a line's message as encoding/json would decode it.
type txJSONMessage struct {
	ID    *string `json:"id"`
	Model *string `json:"model"`
	Usage *struct {
		InputTokens              *uint64 `json:"input_tokens"`
		OutputTokens             *uint64 `json:"output_tokens"`
		CacheCreationInputTokens *uint64 `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     *uint64 `json:"cache_read_input_tokens"`
		Speed                    *string `json:"speed"`
		CacheCreation            *struct {
			Ephemeral5m *uint64 `json:"ephemeral_5m_input_tokens"`
			Ephemeral1h *uint64 `json:"ephemeral_1h_input_tokens"`
		} `json:"cache_creation"`
	} `json:"usage"`
}

// txJSONWalk reads line token by token with a json.Decoder, as an
// encoding/json reader must to apply what Unmarshal cannot see: the null
// rule (a null member at any depth), a member named twice, the nesting
// limit (transcript_null.go).
func txJSONWalk(line []byte) error {
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	for {
		if _, err := d.Token(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// BenchmarkTranscriptLine parses the usage lines of a generated 16 MB
// tree on one core: with the hand-written scanner (txLine.parse, which
// also applies ccusage's rules), with json.Unmarshal into typed structs
// (the fields alone, none of the rules: a lower bound for an encoding/json
// reader), and with json.Unmarshal plus the token walk the rules need on a
// line holding null (nearly every line Claude Code writes today).
// b.SetBytes makes the results MB/s of usage lines; refused/op counts the
// lines each refuses (the generator writes some bad ones on purpose).
//
//	go test -run '^$' -bench TranscriptLine -benchmem -count 5 ./claude/
func BenchmarkTranscriptLine(b *testing.B) {
	lines, size := txBenchLines(b, 16<<20)
	for _, bc := range []struct {
		name  string
		parse func(line []byte) error
	}{
		{"scanner", func() func([]byte) error {
			var l txLine
			return func(line []byte) error {
				if !l.parse(line) {
					return errors.New(l.s.where)
				}
				return nil
			}
		}()},
		{"encoding-json", func(line []byte) error {
			var e txJSONEntry
			return json.Unmarshal(line, &e)
		}},
		{"encoding-json+tokens", func(line []byte) error {
			var e txJSONEntry
			if err := json.Unmarshal(line, &e); err != nil {
				return err
			}
			if bytes.Contains(line, txNullMarker) {
				return txJSONWalk(line)
			}
			return nil
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			refused := 0
			for b.Loop() {
				refused = 0
				for _, line := range lines {
					if bc.parse(line) != nil {
						refused++ // the generator's bad lines
					}
				}
			}
			b.ReportMetric(float64(len(lines))*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
			b.ReportMetric(float64(refused), "refused/op")
		})
	}
}

// TestTranscriptReadBenchTree reads the tree at AUTHPOOL_TX_BENCH_TREE
// (TestTranscriptWriteBenchTree wrote it) once and logs how fast, to time
// the whole process as ccusage's is timed: docs/performance.md.
func TestTranscriptReadBenchTree(t *testing.T) {
	dir := os.Getenv("AUTHPOOL_TX_BENCH_TREE")
	if dir == "" {
		t.Skip("set AUTHPOOL_TX_BENCH_TREE=DIR to read the benchmark's tree there")
	}
	began := time.Now()
	r, err := Read(t.Context(), Roots([]string{dir}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(began)
	t.Logf("read %d files, %d lines (%d usage lines) in %v", r.Stats.Files, r.Stats.Lines, r.Stats.UsageLines, elapsed.Round(time.Millisecond))
}
