package claude

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// sseProxyStream is a whole small message as the proxy's load program's
// upstream streams it: message_start, a text block of a few words with a
// ping, message_delta and message_stop.
func sseProxyStream() []byte {
	var b strings.Builder
	b.WriteString(sseEv("message_start", sseStart))
	b.WriteString(sseEv("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`))
	b.WriteString(sseEv("ping", `{"type": "ping"}`))
	for range 8 {
		b.WriteString(sseEv("content_block_delta", sseText))
	}
	b.WriteString(sseEv("content_block_stop", `{"type":"content_block_stop","index":0}`))
	b.WriteString(sseEv("message_delta", sseDelta))
	b.WriteString(sseEv("message_stop", sseStop))
	return []byte(b.String())
}

// BenchmarkSSEUsage reads the usage of a stream through a StreamReader, as
// the proxy does for every SSE response: a small whole message, in one
// Read and event by event (as an upstream that flushes each event is
// read), and the events with usage alone, where their JSON is what costs.
//
//	go test -run '^$' -bench SSE -benchmem ./claude/
func BenchmarkSSEUsage(b *testing.B) {
	message := sseProxyStream()
	var events [][]byte
	for ev := range bytes.SplitAfterSeq(message, []byte("\n\n")) {
		if len(ev) > 0 {
			events = append(events, ev)
		}
	}
	usageOnly := []byte(sseEv("message_start", sseStart) + sseEv("message_delta", sseDelta) + sseEv("message_stop", sseStop))
	for _, bc := range []struct {
		name   string
		chunks [][]byte
	}{
		{"message-one-read", [][]byte{message}},
		{"message-event-reads", events},
		{"usage-events", [][]byte{usageOnly}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			n := 0
			for _, c := range bc.chunks {
				n += len(c)
			}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			buf := make([]byte, 32<<10)
			r := &chunkReader{}
			for b.Loop() {
				r.chunks = bc.chunks
				sr := NewStreamReader(r)
				for {
					if _, err := sr.Read(buf); err == io.EOF {
						break
					}
				}
				if u := sr.Usage(); !u.Complete || u.Counts.Output != 640 {
					b.Fatalf("usage %+v", u)
				}
			}
		})
	}
}

// chunkReader returns its chunks one Read each, then io.EOF.
type chunkReader struct{ chunks [][]byte }

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	r.chunks = r.chunks[1:]
	return n, nil
}
