package claude

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sseChunkReader returns src in chunks whose sizes cycle through sizes (all
// of what the caller asks for when sizes is empty), then io.EOF.
type sseChunkReader struct {
	src   []byte
	sizes []int
	i     int
}

func (r *sseChunkReader) Read(p []byte) (int, error) {
	if len(r.src) == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if len(r.sizes) > 0 {
		n = max(r.sizes[r.i%len(r.sizes)], 1)
		r.i++
	}
	n = copy(p[:min(n, len(p))], r.src)
	r.src = r.src[n:]
	return n, nil
}

// sseReadThrough reads src through a StreamReader in chunks of sizes with
// reads of bufSize bytes, and returns the bytes read, the usage and the
// error the reader reports.
func sseReadThrough(t testing.TB, src []byte, sizes []int, bufSize int) ([]byte, MessageUsage, error) {
	t.Helper()
	sr := NewStreamReader(&sseChunkReader{src: src, sizes: sizes})
	var out []byte
	buf := make([]byte, bufSize)
	for {
		n, err := sr.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
	}
	return out, sr.Usage(), sr.Err()
}

// sseChunkings are the ways the tests cut a stream into Reads: all at once,
// a byte at a time, and sizes that fall at every kind of place.
var sseChunkings = [][]int{nil, {1}, {2}, {3}, {7}, {64}, {1, 5, 2, 13, 300}, {4096}}

// sseEv is one SSE event with LF line ends.
func sseEv(name, data string) string { return "event: " + name + "\ndata: " + data + "\n\n" }

const (
	sseStart = `{"type":"message_start","message":{"id":"msg_A","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,` +
		`"usage":{"input_tokens":12,"cache_creation_input_tokens":5210,"cache_read_input_tokens":18300,"cache_creation":{"ephemeral_5m_input_tokens":210,"ephemeral_1h_input_tokens":5000},"output_tokens":1}}}`
	sseDelta = `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},` +
		`"usage":{"input_tokens":12,"cache_creation_input_tokens":5210,"cache_read_input_tokens":18300,"output_tokens":640,"server_tool_use":{"web_search_requests":2,"web_fetch_requests":0}}}`
	sseStop     = `{"type":"message_stop"}`
	sseText     = `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`
	sseOverload = `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`
)

// sseWhole is a whole stream of sseStart, a text delta, a ping, sseDelta and sseStop.
var sseWhole = sseEv("message_start", sseStart) + sseEv("content_block_delta", sseText) + sseEv("ping", `{"type":"ping"}`) +
	sseEv("message_delta", sseDelta) + sseEv("message_stop", sseStop)

// sseWholeUsage is the usage of sseWhole.
var sseWholeUsage = MessageUsage{
	ID: "msg_A", Model: "claude-sonnet-4-5-20250929", StopReason: "end_turn", Complete: true,
	Counts: Counts{Input: 12, Output: 640, CacheWrite5m: 210, CacheWrite1h: 5000, CacheRead: 18300, WebSearches: 2},
}

// sseStartUsage is the usage of sseStart alone.
var sseStartUsage = MessageUsage{
	ID: "msg_A", Model: "claude-sonnet-4-5-20250929",
	Counts: Counts{Input: 12, Output: 1, CacheWrite5m: 210, CacheWrite1h: 5000, CacheRead: 18300},
}

// TestStreamReader checks SSE framing and the usage rules on small streams,
// each read whole, in many chunkings, and split in two at every byte: the
// bytes pass through unchanged and the result never depends on the cuts.
func TestStreamReader(t *testing.T) {
	t.Parallel()
	withUsage := func(f func(*MessageUsage)) MessageUsage {
		m := sseWholeUsage
		f(&m)
		return m
	}
	tests := []struct {
		name string
		in   string
		want MessageUsage
		// wantErr is a substring of Err, "" for none.
		wantErr string
		// wantAPI is the API error Err holds, if any.
		wantAPI *APIError
	}{
		{name: "LF", in: sseWhole, want: sseWholeUsage},
		{name: "CRLF", in: strings.ReplaceAll(sseWhole, "\n", "\r\n"), want: sseWholeUsage},
		{name: "CR", in: strings.ReplaceAll(sseWhole, "\n", "\r"), want: sseWholeUsage},
		{
			name: "mixed line ends",
			in:   "event: message_start\r\ndata: " + sseStart + "\r\r" + "event: message_delta\rdata: " + sseDelta + "\n\r\n" + "event: message_stop\ndata: " + sseStop + "\r\n\n",
			want: sseWholeUsage,
		},
		{name: "empty stream", in: ""},
		{name: "comments and blank lines only", in: ": hello\n\n\n:\r\n\r\n"},
		{
			name: "delta replaces start's counts, never adds",
			in: sseEv("message_start", sseStart) +
				sseEv("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"input_tokens":20,"cache_creation_input_tokens":6000,"cache_read_input_tokens":0,"output_tokens":90}}`) +
				sseEv("message_stop", sseStop),
			want: withUsage(func(m *MessageUsage) {
				m.StopReason = "tool_use"
				m.Counts = Counts{Input: 20, Output: 90, CacheWrite5m: 1000, CacheWrite1h: 5000}
			}),
		},
		{
			name: "null input fields in the delta keep start's",
			in: sseEv("message_start", sseStart) +
				sseEv("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":null,"cache_creation_input_tokens":null,"cache_read_input_tokens":null,"output_tokens":640,"server_tool_use":null}}`) +
				sseEv("message_stop", sseStop),
			want: withUsage(func(m *MessageUsage) { m.Counts.WebSearches = 0 }),
		},
		{
			name: "oldest delta: output only",
			in:   sseEv("message_start", sseStart) + sseEv("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":640}}`) + sseEv("message_stop", sseStop),
			want: withUsage(func(m *MessageUsage) { m.Counts.WebSearches = 0 }),
		},
		{
			name: "the last delta wins",
			in: sseEv("message_start", sseStart) + sseEv("message_delta", `{"type":"message_delta","delta":{},"usage":{"output_tokens":5}}`) +
				sseEv("message_delta", `{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":9}}`) + sseEv("message_stop", sseStop),
			want: withUsage(func(m *MessageUsage) { m.StopReason, m.Counts.Output, m.Counts.WebSearches = "max_tokens", 9, 0 }),
		},
		{
			name: "fast mode from the start",
			in: sseEv("message_start", `{"type":"message_start","message":{"id":"msg_F","model":"claude-opus-4-6","usage":{"input_tokens":1,"output_tokens":1,"speed":"fast"}}}`) +
				sseEv("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}`) + sseEv("message_stop", sseStop),
			want: MessageUsage{ID: "msg_F", Model: "claude-opus-4-6", StopReason: "end_turn", Complete: true, Counts: Counts{Input: 1, Output: 3, Fast: true}},
		},
		{
			name: "a second message_start starts over",
			in: sseEv("message_start", `{"type":"message_start","message":{"id":"msg_0","model":"x","usage":{"input_tokens":99,"output_tokens":1,"cache_read_input_tokens":7}}}`) +
				sseWhole,
			want: sseWholeUsage,
		},
		{
			name: "cut before message_delta",
			in:   sseEv("message_start", sseStart) + sseEv("content_block_delta", sseText),
			want: sseStartUsage,
		},
		{
			name: "cut inside message_delta's data",
			in:   sseEv("message_start", sseStart) + "event: message_delta\ndata: " + sseDelta[:80],
			want: sseStartUsage,
		},
		{
			name: "cut before message_delta's blank line: not dispatched",
			in:   sseEv("message_start", sseStart) + "event: message_delta\ndata: " + sseDelta + "\n",
			want: sseStartUsage,
		},
		{
			name: "cut before message_stop's blank line: not complete",
			in:   strings.TrimSuffix(sseWhole, "\n"),
			want: withUsage(func(m *MessageUsage) { m.Complete = false }),
		},
		{
			name:    "error event",
			in:      sseEv("message_start", sseStart) + sseEv("content_block_delta", sseText) + sseEv("error", sseOverload),
			want:    sseStartUsage,
			wantErr: "claude: API error overloaded_error: Overloaded",
			wantAPI: &APIError{Type: "overloaded_error", Message: "Overloaded"},
		},
		{
			name:    "error event with a request id, before anything",
			in:      sseEv("error", `{"type":"error","error":{"type":"api_error","message":"Internal server error"},"request_id":"req_1"}`),
			want:    MessageUsage{RequestID: "req_1"},
			wantErr: "api_error",
			wantAPI: &APIError{Type: "api_error", Message: "Internal server error", RequestID: "req_1"},
		},
		{
			name:    "error after message_stop: not complete",
			in:      sseWhole + sseEv("error", sseOverload),
			want:    withUsage(func(m *MessageUsage) { m.Complete = false }),
			wantErr: "overloaded_error",
			wantAPI: &APIError{Type: "overloaded_error", Message: "Overloaded"},
		},
		{
			name: "comments, id and retry fields, unknown fields",
			in: ": comment\n" + "id: 7\nretry: 1000\nevent: message_start\n:another\nfoo: bar\nidentity\ndata: " + sseStart + "\n\n" +
				strings.TrimPrefix(sseWhole, sseEv("message_start", sseStart)),
			want: sseWholeUsage,
		},
		{
			name: "data over several lines, with and without the space",
			in: "event: message_start\ndata:" + strings.Replace(strings.Replace(sseStart, `,"message":`, "\ndata:  ,\"message\":", 1), `,"usage":`, "\ndata:,\"usage\":", 1) + "\n\n" +
				strings.TrimPrefix(sseWhole, sseEv("message_start", sseStart)),
			want: sseWholeUsage,
		},
		{
			name: "a byte-order mark",
			in:   "\ufeff" + sseWhole,
			want: sseWholeUsage,
		},
		{
			name: "a byte-order mark before a comment",
			in:   "\ufeff: hi\n\n" + sseWhole,
			want: sseWholeUsage,
		},
		{
			name: "a second byte-order mark is part of the field name",
			in:   "\ufeff\ufeffevent: ping\ndata: " + sseStop + "\n\n",
			want: MessageUsage{Complete: true},
		},
		{
			name: "event: line after its data",
			in:   "data: " + sseStart + "\nevent: message_start\n\n" + strings.TrimPrefix(sseWhole, sseEv("message_start", sseStart)),
			want: sseWholeUsage,
		},
		{
			name: "events without event: lines go by their data's type",
			in:   "data: " + sseStart + "\n\ndata: " + sseText + "\n\ndata: {\"type\":\"ping\"}\n\ndata: " + sseDelta + "\n\ndata: " + sseStop + "\n\n",
			want: sseWholeUsage,
		},
		{
			name: "data of other events is ignored whatever it says",
			in:   sseEv("message_start", sseStart) + sseEv("content_block_delta", sseStop) + sseEv("ping", sseDelta) + sseEv("message_stop ", sseStop),
			want: sseStartUsage,
		},
		{
			name:    "data kept back, then an event: line naming an event with usage",
			in:      sseEv("message_start", sseStart) + "event: ping\ndata: " + sseStop + "\nevent: message_stop\n\n",
			want:    sseStartUsage,
			wantErr: `its data came before its event: "message_stop" line`,
		},
		{
			name:    "malformed JSON in a delta, then a good one",
			in:      sseEv("message_start", sseStart) + sseEv("message_delta", `{"type":"message_delta","usage":{"output_tokens":5`) + sseEv("message_delta", sseDelta) + sseEv("message_stop", sseStop),
			want:    sseWholeUsage,
			wantErr: `claude: SSE event "message_delta" ending at byte 479: line 1, column 50 (byte 49): unexpected end of JSON input`,
		},
		{
			name:    "a field of the wrong type",
			in:      sseEv("message_start", sseStart) + sseEv("message_delta", `{"type":"message_delta","usage":{"output_tokens":"5"}}`) + sseEv("message_stop", sseStop),
			want:    withUsage(func(m *MessageUsage) { m.StopReason, m.Counts.Output, m.Counts.WebSearches = "", 1, 0 }),
			wantErr: `usage.output_tokens: JSON string, want int64`,
		},
		{
			name: "a negative count is left out",
			in: sseEv("message_start", sseStart) +
				sseEv("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":-4,"output_tokens":640,"server_tool_use":{"web_search_requests":2}}}`) +
				sseEv("message_stop", sseStop),
			want:    sseWholeUsage,
			wantErr: "claude: SSE event message_delta ending at byte 580: usage.input_tokens: -4 is outside 0..1099511627776",
		},
		{
			name:    "an empty data field is still data",
			in:      "event: message_stop\ndata\n\n",
			wantErr: "unexpected end of JSON input",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			check := func(t *testing.T, how string, src []byte, sizes []int, bufSize int) {
				t.Helper()
				out, got, err := sseReadThrough(t, src, sizes, bufSize)
				if !bytes.Equal(out, src) {
					t.Fatalf("%s: the bytes read through differ from the stream", how)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("%s: Usage (-want +got):\n%s", how, diff)
				}
				switch {
				case tt.wantErr == "" && err != nil:
					t.Fatalf("%s: Err = %v, want none", how, err)
				case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
					t.Fatalf("%s: Err = %v, want one containing %q", how, err, tt.wantErr)
				}
				ae, _ := errors.AsType[*APIError](err)
				if diff := cmp.Diff(tt.wantAPI, ae); diff != "" {
					t.Fatalf("%s: API error (-want +got):\n%s", how, diff)
				}
			}
			src := []byte(tt.in)
			for _, sizes := range sseChunkings {
				check(t, fmt.Sprintf("chunks %v", sizes), src, sizes, 4096)
			}
			check(t, "reads of 5 bytes", src, nil, 5)
			for i := range len(src) {
				check(t, fmt.Sprintf("cut at %d", i), src, []int{i, len(src)}, len(src))
			}
		})
	}
}

// TestStreamReaderGolden reads every stream of testdata/api in several
// chunkings and compares the result with its golden file.
func TestStreamReaderGolden(t *testing.T) {
	t.Parallel()
	for _, fixture := range apiFixtures(t, ".sse") {
		t.Run(filepath.Base(fixture), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(fixture)
			if err != nil {
				t.Fatal(err)
			}
			out, m, err := sseReadThrough(t, src, nil, 1<<15)
			if !bytes.Equal(out, src) {
				t.Fatal("the bytes read through differ from the stream")
			}
			got := apiGoldenOf(m, err)
			checkAPIGolden(t, fixture, got)
			for _, sizes := range sseChunkings {
				out, m, err := sseReadThrough(t, src, sizes, 512)
				if !bytes.Equal(out, src) {
					t.Fatalf("chunks %v: the bytes read through differ from the stream", sizes)
				}
				if diff := cmp.Diff(got, apiGoldenOf(m, err)); diff != "" {
					t.Errorf("chunks %v: the result differs from the one of a single Read (-whole +chunked):\n%s", sizes, diff)
				}
			}
		})
	}
}

// sseStep is what one Read of an sseScript returns.
type sseStep struct {
	data string
	err  error
}

// sseScript is a reader that returns its steps in order and records the
// size of every buffer it is given.
type sseScript struct {
	steps []sseStep
	asked []int
}

func (s *sseScript) Read(p []byte) (int, error) {
	s.asked = append(s.asked, len(p))
	if len(s.asked) > len(s.steps) {
		return 0, io.EOF
	}
	st := s.steps[len(s.asked)-1]
	return copy(p, st.data), st.err
}

// TestStreamReaderPassThrough checks that every Read makes exactly one Read
// of the underlying reader, into the caller's buffer, and returns what it
// returned: data together with an error, empty reads, errors other than
// io.EOF.
func TestStreamReaderPassThrough(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	steps := []sseStep{
		{data: "event: message_start\ndata: " + sseStart[:30]},
		{data: ""},
		{data: sseStart[30:] + "\n\n"},
		{data: "event: message_delta\n", err: nil},
		{data: "data: " + sseDelta + "\n\n", err: boom},
		{data: "event: message_stop\ndata: " + sseStop + "\n\n", err: io.EOF},
		{data: "", err: io.EOF},
	}
	script := &sseScript{steps: steps}
	sr := NewStreamReader(script)
	for i, st := range steps {
		buf := make([]byte, 1000+i)
		n, err := sr.Read(buf)
		if n != len(st.data) || err != st.err || string(buf[:n]) != st.data {
			t.Fatalf("Read %d = %d, %v, %q; want %d, %v, %q", i, n, err, buf[:n], len(st.data), st.err, st.data)
		}
		if len(script.asked) != i+1 || script.asked[i] != len(buf) {
			t.Fatalf("after Read %d the underlying reader was asked for %v, want one Read per Read into the caller's buffer", i, script.asked)
		}
	}
	if diff := cmp.Diff(sseWholeUsage, sr.Usage()); diff != "" {
		t.Errorf("Usage (-want +got):\n%s", diff)
	}
	if err := sr.Err(); err != nil {
		t.Errorf("Err = %v: the underlying reader's errors are not Err's", err)
	}
}

// TestStreamReaderUnbuffered sends a stream through a pipe one event at a
// time: each Read returns the event just written, and its usage is seen at
// once, before the next event is written.
func TestStreamReaderUnbuffered(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	events := []string{sseEv("message_start", sseStart), sseEv("message_delta", sseDelta), sseEv("message_stop", sseStop)}
	go func() {
		for _, e := range events {
			if _, err := pw.Write([]byte(e)); err != nil {
				return
			}
		}
		pw.Close()
	}()
	sr := NewStreamReader(pr)
	buf := make([]byte, 4096)
	wantOutput := []int64{1, 640, 640}
	for i, e := range events {
		n, err := sr.Read(buf)
		if err != nil || string(buf[:n]) != e {
			t.Fatalf("Read %d = %q, %v; want event %q", i, buf[:n], err, e)
		}
		if u := sr.Usage(); u.Counts.Output != wantOutput[i] || u.Complete != (i == 2) {
			t.Fatalf("after event %d Usage = %+v, want output %d", i, u, wantOutput[i])
		}
	}
	if n, err := sr.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("last Read = %d, %v; want 0, EOF", n, err)
	}
}

// TestStreamReaderLongLines checks MaxSSELine: long content lines pass
// without limit, and a long line in an event with usage stops the parsing
// but not the bytes.
func TestStreamReaderLongLines(t *testing.T) {
	t.Parallel()
	bigText := `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"` + strings.Repeat("x", 3<<20) + `"}}`
	bigStart := `{"type":"message_start","message":{"id":"msg_A","model":"m","content":[{"type":"text","text":"` + strings.Repeat("y", MaxSSELine) + `"}],"usage":{"input_tokens":1,"output_tokens":1}}}`
	manyLines := "event: message_delta\n" + strings.Repeat("data: "+strings.Repeat(" ", 1000)+"\n", MaxSSELine/1000) + "data: " + sseDelta + "\n\n"
	tests := []struct {
		name     string
		in       string
		want     MessageUsage
		tooLong  bool
		wantText string
	}{
		{
			name: "a long content delta",
			in:   sseEv("message_start", sseStart) + sseEv("content_block_delta", bigText) + sseEv("message_delta", sseDelta) + sseEv("message_stop", sseStop),
			want: sseWholeUsage,
		},
		{
			name: "a long comment and a long unknown field",
			in:   ":" + strings.Repeat("c", 2<<20) + "\nx-pad: " + strings.Repeat("p", 2<<20) + "\n" + sseWhole,
			want: sseWholeUsage,
		},
		{
			name:     "a long message_start",
			in:       sseEv("message_start", bigStart) + sseEv("message_delta", sseDelta) + sseEv("message_stop", sseStop),
			tooLong:  true,
			wantText: "at byte 21",
		},
		{
			name:    "a long event name",
			in:      "event: " + strings.Repeat("e", MaxSSELine) + "\n\n" + sseWhole,
			tooLong: true,
		},
		{
			name:    "long data over many lines",
			in:      sseEv("message_start", sseStart) + manyLines + sseEv("message_stop", sseStop),
			want:    sseStartUsage,
			tooLong: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, sizes := range [][]int{nil, {1 << 10}, {4093}} {
				out, got, err := sseReadThrough(t, []byte(tt.in), sizes, 1<<16)
				if string(out) != tt.in {
					t.Fatalf("chunks %v: the bytes read through differ from the stream", sizes)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("chunks %v: Usage (-want +got):\n%s", sizes, diff)
				}
				if errors.Is(err, ErrSSELineTooLong) != tt.tooLong || (!tt.tooLong && err != nil) {
					t.Errorf("chunks %v: Err = %v, want ErrSSELineTooLong: %v", sizes, err, tt.tooLong)
				}
				if tt.wantText != "" && !strings.Contains(fmt.Sprint(err), tt.wantText) {
					t.Errorf("chunks %v: Err = %v, want it to say %q", sizes, err, tt.wantText)
				}
			}
		})
	}
}

// TestStreamReaderConcurrentUsage calls Usage and Err while another
// goroutine reads (run with -race).
func TestStreamReaderConcurrentUsage(t *testing.T) {
	t.Parallel()
	src := []byte(strings.Repeat(sseWhole, 50))
	sr := NewStreamReader(&sseChunkReader{src: src, sizes: []int{3, 17, 1}})
	done := make(chan struct{})
	watched := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-done:
				watched <- n
				return
			default:
				_ = sr.Usage()
				_ = sr.Err()
				n++
			}
		}
	}()
	out, err := io.ReadAll(sr)
	close(done)
	<-watched
	if err != nil || !bytes.Equal(out, src) {
		t.Fatalf("ReadAll = %d bytes, %v; want the %d bytes of the stream", len(out), err, len(src))
	}
	if diff := cmp.Diff(sseWholeUsage, sr.Usage()); diff != "" {
		t.Errorf("Usage (-want +got):\n%s", diff)
	}
}

// sseRepeatReader returns chunk over and over, in reads of at most size
// bytes, starting where the last read ended.
type sseRepeatReader struct {
	head  []byte // returned once, first
	chunk []byte
	size  int
	pos   int
}

func (r *sseRepeatReader) Read(p []byte) (int, error) {
	if len(r.head) > 0 {
		n := copy(p[:min(len(p), r.size)], r.head)
		r.head = r.head[n:]
		return n, nil
	}
	n := 0
	for n < min(len(p), r.size) {
		c := copy(p[n:min(len(p), r.size)], r.chunk[r.pos:])
		n += c
		r.pos = (r.pos + c) % len(r.chunk)
	}
	return n, nil
}

// TestStreamReaderAllocs checks that reading content events allocates
// nothing once the reader has warmed up, whatever the cuts.
func TestStreamReaderAllocs(t *testing.T) {
	content := sseEv("content_block_delta", sseText) + sseEv("ping", `{"type":"ping"}`) + ": comment\n"
	for _, tt := range []struct {
		name  string
		chunk string
		size  int
	}{
		{"LF, 32 KiB reads", content, 1 << 15},
		{"CRLF, 32 KiB reads", strings.ReplaceAll(content, "\n", "\r\n"), 1 << 15},
		{"LF, 7-byte reads", content, 7},
		{"CR, 1-byte reads", strings.ReplaceAll(content, "\n", "\r"), 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sr := NewStreamReader(&sseRepeatReader{head: []byte(sseEv("message_start", sseStart)), chunk: []byte(tt.chunk), size: tt.size})
			buf := make([]byte, 1<<15)
			for range 100 {
				sr.Read(buf)
			}
			if allocs := testing.AllocsPerRun(200, func() { sr.Read(buf) }); allocs != 0 {
				t.Errorf("%v allocations per Read, want 0", allocs)
			}
			if err := sr.Err(); err != nil {
				t.Errorf("Err = %v", err)
			}
		})
	}
}

// sseBenchStream returns a realistic stream of about size bytes: a message
// with text, thinking and tool-use blocks of short deltas, pings, and the
// usage events.
func sseBenchStream(size int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("the a parser reads each line of the stream and passes every byte through unchanged while it keeps the usage of message_start and message_delta so that a proxy can flush per event")
	var b strings.Builder
	b.WriteString(sseEv("message_start", sseStart))
	b.WriteString(sseEv("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`))
	b.WriteString(sseEv("ping", `{"type":"ping"}`))
	for i := 0; b.Len() < size-600; i++ {
		var text strings.Builder
		for range 3 + rng.IntN(8) {
			text.WriteString(" " + words[rng.IntN(len(words))])
		}
		switch i % 50 {
		case 25:
			b.WriteString(sseEv("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"file_path\": \"/home/dev/project/`+words[rng.IntN(len(words))]+`.go\"}"}}`))
		case 49:
			b.WriteString(sseEv("ping", `{"type":"ping"}`))
		default:
			b.WriteString(sseEv("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"`+text.String()+`"}}`))
		}
	}
	b.WriteString(sseEv("content_block_stop", `{"type":"content_block_stop","index":0}`))
	b.WriteString(sseEv("message_delta", sseDelta))
	b.WriteString(sseEv("message_stop", sseStop))
	return []byte(b.String())
}

// BenchmarkStreamReader reads a realistic 200 KB stream through a
// StreamReader, in reads of several sizes, against a plain read of the
// same bytes.
//
//	go test -run '^$' -bench StreamReader -benchmem ./claude/
func BenchmarkStreamReader(b *testing.B) {
	src := sseBenchStream(200_000)
	for _, bc := range []struct {
		name  string
		size  int
		plain bool
	}{
		{"plain-32KiB", 1 << 15, true},
		{"read-32KiB", 1 << 15, false},
		{"read-4KiB", 1 << 12, false},
		{"read-256B", 256, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			buf := make([]byte, bc.size)
			for b.Loop() {
				var r io.Reader = bytes.NewReader(src)
				var sr *StreamReader
				if !bc.plain {
					sr = NewStreamReader(r)
					r = sr
				}
				for {
					if _, err := r.Read(buf); err != nil {
						break
					}
				}
				if sr != nil && !sr.Usage().Complete {
					b.Fatal("incomplete")
				}
			}
		})
	}
}

// sseReference parses a whole stream the plain way the SSE specification
// describes it, with none of StreamReader's incremental machinery, and
// feeds the events with usage to a parser's event method.
func sseReference(stream []byte) *sseParser {
	p := &sseParser{}
	s := bytes.TrimPrefix(stream, bom)
	var name, data []byte
	lost := false
	for {
		i := bytes.IndexAny(s, "\r\n")
		if i < 0 {
			return p // an unfinished line, and the unfinished event, are dropped
		}
		line := s[:i]
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
		switch {
		case len(line) == 0:
			if usageEvent(name) {
				if lost {
					p.setProblem(errors.New("lost"))
				} else if len(data) > 0 {
					p.event(name, data[:len(data)-1], 0)
				}
			}
			name, data, lost = nil, nil, false
		case line[0] == ':':
		default:
			field, value, found := bytes.Cut(line, []byte(":"))
			if found {
				value = bytes.TrimPrefix(value, []byte(" "))
			}
			switch string(field) {
			case "event":
				name = value
			case "data":
				if !usageEvent(name) {
					lost = true
				} else {
					data = append(append(data, value...), '\n')
				}
			}
		}
	}
}

// FuzzStreamReader reads arbitrary streams through a StreamReader in
// chunks whose sizes come from the fuzz input. Whatever the input, the
// bytes read through are the input, Usage and Err do not panic, every count
// is in 0..MaxTokens, the result is the same as for a single Read, and it
// agrees with sseReference.
//
//	go test -run '^$' -fuzz FuzzStreamReader ./claude/
func FuzzStreamReader(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "api", "*.sse"))
	for i, n := range names {
		if b, err := os.ReadFile(n); err == nil {
			f.Add(b, []byte{byte(i), 3, 200, 1})
		}
	}
	f.Add([]byte(sseWhole), []byte{})
	f.Add([]byte(strings.ReplaceAll(sseWhole, "\n", "\r")), []byte{1})
	f.Fuzz(func(t *testing.T, stream, cuts []byte) {
		sizes := make([]int, len(cuts))
		for i, c := range cuts {
			sizes[i] = int(c)
		}
		whole, wholeUsage, wholeErr := sseReadThrough(t, stream, nil, len(stream)+1)
		out, got, err := sseReadThrough(t, stream, sizes, 1+len(cuts)*37)
		if !bytes.Equal(whole, stream) || !bytes.Equal(out, stream) {
			t.Fatal("the bytes read through differ from the stream")
		}
		checkCounts(t, got.Counts)
		if diff := cmp.Diff(wholeUsage, got); diff != "" {
			t.Fatalf("chunks %v: Usage differs from a single Read's (-whole +chunked):\n%s", sizes, diff)
		}
		if fmt.Sprint(wholeErr) != fmt.Sprint(err) {
			t.Fatalf("chunks %v: Err = %v, a single Read's = %v", sizes, err, wholeErr)
		}
		if errors.Is(err, ErrSSELineTooLong) {
			return
		}
		ref := sseReference(stream)
		refUsage := MessageUsage{ID: ref.id, RequestID: ref.requestID, Model: ref.model, Counts: ref.tally.counts(), StopReason: ref.stopReason, Complete: ref.sawStop && ref.apiErr == nil}
		if diff := cmp.Diff(refUsage, got); diff != "" {
			t.Fatalf("Usage differs from the reference parser's (-ref +got):\n%s", diff)
		}
		ae, _ := errors.AsType[*APIError](err)
		if diff := cmp.Diff(ref.apiErr, ae); diff != "" {
			t.Fatalf("API error differs from the reference parser's (-ref +got):\n%s", diff)
		}
		if problem := err != nil && (ae == nil || err.Error() != ae.Error()); problem != (ref.problem != nil) {
			t.Fatalf("Err = %v, the reference parser's problem = %v", err, ref.problem)
		}
	})
}
