package transcript

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// A deterministic generator of Claude Code transcript trees: many projects
// and sessions, responses streamed as several lines of one message, subagent
// transcripts (sidechains, some replaying their parent's messages), API
// error lines, several models (Sonnet 4.5 past 200k tokens, Opus in fast
// mode, a model without a price), pauses of more than 5 hours, old lines
// with costUSD and without request ids, agent progress lines, and garbage:
// cut lines, nulls ccusage refuses, bad timestamps and versions.

// txGenParams say what to generate.
type txGenParams struct {
	Seed  uint64 `json:"seed"`
	Start int64  `json:"start"` // Unix milliseconds of the first session's start
	// Days is how many days the sessions spread over; Sessions how many
	// sessions (over 4 projects); Turns the most turns a session has.
	Days     int `json:"days"`
	Sessions int `json:"sessions"`
	Turns    int `json:"turns"`
	// Content is the typical size of a message's text, in bytes.
	Content int `json:"content"`
	// End, if set, is a time (Unix milliseconds) no entry reaches: the last
	// session ends a few minutes before it, so its block is active then.
	End int64 `json:"end,omitempty"`
}

// txGenModels are the models used, with how often.
var txGenModels = []struct {
	name   string
	weight int
	fast   bool
}{
	{"claude-sonnet-4-5-20250929", 40, false},
	{"claude-opus-4-5-20251101", 15, false},
	{"claude-haiku-4-5-20251001", 15, false},
	{"claude-opus-4-6", 8, true},
	{"claude-opus-4-7", 4, true},
	{"claude-opus-4-8", 4, true},
	{"claude-sonnet-4-6", 5, false},
	{"claude-sonnet-4-20250514", 3, false},
	{"claude-3-5-haiku-20241022", 2, false},
	{"claude-opus-4-1-20250805", 2, false},
	{"claude-sonnet-5-5", 2, false}, // no price anywhere
}

// txGen writes a tree through file, one whole file at a time.
type txGen struct {
	p    txGenParams
	r    *rand.Rand
	file func(name string, data []byte)
	n    int // counter for ids
	text []byte
}

func txGenerate(p txGenParams, file func(name string, data []byte)) {
	g := &txGen{p: p, r: rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15)), file: file}
	g.text = make([]byte, 0, 4*p.Content+64)
	for range 4*p.Content + 64 {
		g.text = append(g.text, "abcdefghijklmnopqrstuvwxyz .,:;-_0123456789"[g.r.IntN(43)])
	}
	projects := []string{"-home-dev-alpha", "-home-dev-beta", "-srv-work-gamma-delta", "-home-dev-alpha-old"}
	span := int64(p.Days) * 86_400_000
	for s := range p.Sessions {
		start := p.Start + g.r.Int64N(max(span, 1))
		if p.End != 0 && s == p.Sessions-1 {
			start = p.End - 150*60_000 // the last session: ending just before End
		}
		g.session(projects[s%len(projects)], start, s == p.Sessions-1)
	}
	g.edges(projects[0])
}

func (g *txGen) id(prefix string) string {
	g.n++
	return fmt.Sprintf("%s%06d%04x", prefix, g.n, g.r.Uint32()&0xffff)
}

func (g *txGen) uuid() string {
	a, b := g.r.Uint64(), g.r.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", a>>32, a>>16&0xffff, a&0xfff, b>>52, b&0xffffffffffff)
}

func (g *txGen) model() (string, bool) {
	total := 0
	for _, m := range txGenModels {
		total += m.weight
	}
	n := g.r.IntN(total)
	for _, m := range txGenModels {
		if n < m.weight {
			return m.name, m.fast
		}
		n -= m.weight
	}
	panic("unreachable")
}

// txTime formats Unix milliseconds as Claude Code does.
func txTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

// txLineSpec is one assistant line.
type txLineSpec struct {
	ts                  int64
	session, version    string
	msgID, reqID, model string
	in, out, cw, cr     int64
	eph5m, eph1h        int64
	split               bool   // write usage.cache_creation
	speed               string // "" none
	side                bool
	cost                float64 // costUSD when > 0
	apiError            bool
	text                string
	cwd                 string
	noReq               bool
}

func (g *txGen) assistant(l txLineSpec) []byte {
	b := make([]byte, 0, 600+len(l.text))
	b = append(b, `{"parentUuid":"`...)
	b = append(b, g.uuid()...)
	b = append(b, `","isSidechain":`...)
	b = strconv.AppendBool(b, l.side)
	b = append(b, `,"userType":"external","cwd":"`...)
	b = append(b, l.cwd...)
	b = append(b, `","sessionId":"`...)
	b = append(b, l.session...)
	b = append(b, `","version":"`...)
	b = append(b, l.version...)
	b = append(b, `","gitBranch":"main","message":{"id":"`...)
	b = append(b, l.msgID...)
	b = append(b, `","type":"message","role":"assistant","model":"`...)
	b = append(b, l.model...)
	b = append(b, `","content":[{"type":"text","text":`...)
	b = strconv.AppendQuote(b, l.text)
	b = append(b, `}],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":`...)
	b = strconv.AppendInt(b, l.in, 10)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = strconv.AppendInt(b, l.cw, 10)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = strconv.AppendInt(b, l.cr, 10)
	if l.split {
		b = append(b, `,"cache_creation":{"ephemeral_5m_input_tokens":`...)
		b = strconv.AppendInt(b, l.eph5m, 10)
		b = append(b, `,"ephemeral_1h_input_tokens":`...)
		b = strconv.AppendInt(b, l.eph1h, 10)
		b = append(b, '}')
	}
	b = append(b, `,"output_tokens":`...)
	b = strconv.AppendInt(b, l.out, 10)
	b = append(b, `,"service_tier":"standard"`...)
	if l.speed != "" {
		b = append(b, `,"speed":"`...)
		b = append(b, l.speed...)
		b = append(b, '"')
	}
	b = append(b, `}}`...)
	if !l.noReq {
		b = append(b, `,"requestId":"`...)
		b = append(b, l.reqID...)
		b = append(b, '"')
	}
	if l.cost > 0 {
		b = append(b, `,"costUSD":`...)
		b = strconv.AppendFloat(b, l.cost, 'g', -1, 64)
	}
	if l.apiError {
		b = append(b, `,"isApiErrorMessage":true`...)
	}
	b = append(b, `,"type":"assistant","uuid":"`...)
	b = append(b, g.uuid()...)
	b = append(b, `","timestamp":"`...)
	b = append(b, txTime(l.ts)...)
	b = append(b, "\"}\n"...)
	return b
}

func (g *txGen) user(ts int64, session, cwd string, size int) []byte {
	b := make([]byte, 0, 300+size)
	b = append(b, `{"parentUuid":"`...)
	b = append(b, g.uuid()...)
	b = append(b, `","isSidechain":false,"userType":"external","cwd":"`...)
	b = append(b, cwd...)
	b = append(b, `","sessionId":"`...)
	b = append(b, session...)
	b = append(b, `","version":"2.0.31","gitBranch":"main","type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_`...)
	b = append(b, g.id("")...)
	b = append(b, `","type":"tool_result","content":`...)
	b = strconv.AppendQuote(b, g.snippet(size))
	b = append(b, `}]},"uuid":"`...)
	b = append(b, g.uuid()...)
	b = append(b, `","timestamp":"`...)
	b = append(b, txTime(ts)...)
	b = append(b, "\"}\n"...)
	return b
}

func (g *txGen) snippet(size int) string {
	size = min(size, len(g.text))
	off := g.r.IntN(len(g.text) - size + 1)
	return string(g.text[off : off+size])
}

// session writes one session and its subagents.
func (g *txGen) session(project string, ts int64, last bool) {
	id := g.uuid()
	cwd := "/home/dev/" + project
	version := []string{"2.0.31", "2.1.332", "1.0.44", "2.0.8"}[g.r.IntN(4)]
	old := version == "1.0.44" // old CLI: costUSD, no cache split
	var main, sub []byte
	var subName string
	turns := 1 + g.r.IntN(g.p.Turns)
	lastModel := ""
	var parentMsgs []txLineSpec
	add := func(b []byte) { main = append(main, b...) }
	add(fmt.Appendf(nil, `{"type":"summary","summary":"session %s","leafUuid":"%s"}`+"\n", id[:8], g.uuid()))
	for t := range turns {
		switch {
		case last && g.p.End != 0:
			ts += 60_000 + g.r.Int64N(4*60_000)
			if ts > g.p.End-60_000 {
				ts = g.p.End - 60_000 - int64(turns-t)*1000
			}
		case g.r.IntN(25) == 0:
			ts += 5*3600_000 + g.r.Int64N(20*3600_000) // a pause of more than 5 hours
		case g.r.IntN(40) == 0:
			ts += 5 * 3600_000 // exactly 5 hours: not a new block
		default:
			ts += 2_000 + g.r.Int64N(10*60_000)
		}
		add(g.user(ts, id, cwd, g.r.IntN(g.p.Content*3+1)))
		model, fast := g.model()
		if lastModel != "" && g.r.IntN(3) > 0 {
			model = lastModel
			for _, m := range txGenModels {
				if m.name == model {
					fast = m.fast
				}
			}
		}
		lastModel = model
		spec := txLineSpec{
			ts: ts + 1500 + g.r.Int64N(20_000), session: id, version: version, cwd: cwd,
			msgID: "msg_01" + g.id(""), reqID: "req_011C" + g.id(""), model: model,
			in: g.r.Int64N(40), cw: g.r.Int64N(6000), cr: g.r.Int64N(120_000), out: 1 + g.r.Int64N(2500),
		}
		if g.r.IntN(8) == 0 && model == "claude-sonnet-4-5-20250929" {
			spec.cr = 200_000 + g.r.Int64N(400_000) // long context: per-kind tiers
			if g.r.IntN(3) == 0 {
				spec.in = 190_000 + g.r.Int64N(30_000)
				spec.out = 195_000 + g.r.Int64N(20_000)
			}
		}
		if !old {
			spec.split = true
			switch g.r.IntN(4) {
			case 0:
				spec.eph1h = spec.cw
			case 1:
				spec.eph5m = spec.cw / 3
				spec.eph1h = spec.cw - spec.eph5m
			default:
				spec.eph5m = spec.cw
			}
			if g.r.IntN(30) == 0 {
				spec.eph5m = 0 // a split that does not add up (it wins over the total)
			}
		}
		if fast && g.r.IntN(2) == 0 {
			spec.speed = "fast"
		} else if !old && g.r.IntN(3) > 0 {
			spec.speed = "standard"
		}
		if old {
			spec.noReq = g.r.IntN(2) == 0
			if g.r.IntN(4) > 0 {
				spec.cost = float64(1+g.r.IntN(90000)) / 1e6
			}
		}
		g.stream(&main, spec)
		parentMsgs = append(parentMsgs, spec)
		// Lines ccusage does not read, or reads but drops.
		switch g.r.IntN(12) {
		case 0:
			add(fmt.Appendf(nil, `{"type":"system","subtype":"api_error","level":"error","error":{"status":529},"timestamp":"%s","uuid":"%s","sessionId":"%s"}`+"\n", txTime(ts+900), g.uuid(), id))
		case 1:
			add(fmt.Appendf(nil, `{"type":"attachment","sessionId":"%s","timestamp":"%s","uuid":"%s","version":"%s","note":"x"}`+"\n", id, txTime(ts+100), g.uuid(), version))
		case 2:
			// Current API error line: synthetic model with "speed":null, which ccusage drops.
			add(fmt.Appendf(nil, `{"parentUuid":"%s","isSidechain":false,"type":"assistant","uuid":"%s","timestamp":"%s","message":{"id":"%s","model":"<synthetic>","role":"assistant","usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"speed":null},"content":[{"type":"text","text":"API Error"}]},"requestId":"req_x%s","error":"rate_limit","isApiErrorMessage":true,"sessionId":"%s","version":"%s"}`+"\n",
				g.uuid(), g.uuid(), txTime(ts+800), g.uuid(), g.id(""), id, version))
		case 3:
			// Old API error line: zero usage, counted, with a reset time.
			add(fmt.Appendf(nil, `{"parentUuid":"%s","isSidechain":false,"type":"assistant","uuid":"%s","timestamp":"%s","message":{"id":"%s","model":"<synthetic>","role":"assistant","usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0},"content":[{"type":"text","text":"Claude AI usage limit reached|%d"}]},"requestId":"req_y%s","isApiErrorMessage":true,"sessionId":"%s","version":"%s"}`+"\n",
				g.uuid(), g.uuid(), txTime(ts+700), g.uuid(), (ts/1000/3600+3)*3600, g.id(""), id, version))
		case 4:
			// A cut write.
			line := g.user(ts+50, id, cwd, 200)
			add(append(line[:len(line)/2:len(line)/2], '\n'))
		case 5:
			// Usage that ccusage refuses: "cwd":null, a bad timestamp, a
			// bad version, spaced JSON, a missing output count.
			bad := g.assistant(txLineSpec{ts: ts + 300, session: id, version: version, cwd: cwd, msgID: "msg_bad" + g.id(""), reqID: "req_bad" + g.id(""), model: model, in: 5, out: 5})
			switch g.r.IntN(5) {
			case 0:
				bad = []byte(fmt.Sprintf(`{"cwd":null,%s`, bad[1:]))
			case 1:
				// A duplicate timestamp: refused as well.
				bad = []byte(fmt.Sprintf(`{"timestamp":"%s",%s`, time.UnixMilli(ts).UTC().Format(time.RFC3339Nano), bad[1:]))
			case 2:
				bad = []byte(fmt.Sprintf(`{"version":"v2",%s`, bad[1:]))
			case 3:
				bad = []byte(`{"type": "assistant", "message": {"id": "x", "usage": {"input_tokens": 1, "output_tokens": 1}}, "timestamp": "` + txTime(ts) + `"}` + "\n")
			case 4:
				bad = []byte(fmt.Sprintf(`{"timestamp":"%s","sessionId":"%s","message":{"id":"%s","model":"%s","usage":{"input_tokens":3}},"requestId":"r"}`+"\n", txTime(ts), id, g.id("m"), model))
			}
			add(bad)
		case 6:
			// An agent progress line: only the daily reader counts it.
			p := spec
			p.msgID, p.reqID, p.ts = "msg_01p"+g.id(""), "req_011Cp"+g.id(""), ts+400
			a := g.assistant(p)
			add(fmt.Appendf(nil, `{"type":"progress","data":{"message":%s,"type":"agent_progress"},"uuid":"%s","timestamp":"%s"}`+"\n", a[:len(a)-1], g.uuid(), txTime(p.ts)))
		}
		// A subagent now and then: sidechain lines in their own file.
		if g.r.IntN(6) == 0 {
			if subName == "" {
				subName = project + "/" + id + "/subagents/agent-" + g.id("a") + ".jsonl"
			}
			for range 1 + g.r.IntN(4) {
				s := spec
				s.ts += 1000 + g.r.Int64N(60_000)
				s.side = true
				s.msgID, s.reqID = "msg_01s"+g.id(""), "req_011Cs"+g.id("")
				s.model = "claude-haiku-4-5-20251001"
				s.speed = ""
				g.stream(&sub, s)
			}
			if len(parentMsgs) > 0 && g.r.IntN(2) == 0 {
				// A replay of a parent message under a new request id
				// (blocks count it, daily does not), or with the same
				// one (the parent's non-sidechain line wins).
				r := parentMsgs[g.r.IntN(len(parentMsgs))]
				r.side = true
				r.ts += 30_000
				if g.r.IntN(2) == 0 {
					r.reqID = "req_011Cr" + g.id("")
				}
				r.out += int64(g.r.IntN(3)) * 100
				sub = append(sub, g.assistant(r)...)
			}
		}
	}
	add(fmt.Appendf(nil, `{"type":"cost-state","sessionId":"%s","totalCostUSD":0,"modelUsage":{}}`+"\n", id))
	g.file(project+"/"+id+".jsonl", main)
	if sub != nil {
		g.file(subName, sub)
	}
}

// stream writes a response as Claude Code does: a line per content block,
// the same message and request ids, the final output count on the last.
func (g *txGen) stream(dst *[]byte, s txLineSpec) {
	n := 1 + g.r.IntN(3)
	text := g.snippet(g.r.IntN(g.p.Content + 1))
	for i := range n {
		l := s
		l.text = text
		if i < n-1 {
			l.out = 1 + int64(g.r.IntN(3))
			if l.out > s.out {
				l.out = s.out
			}
			if g.r.IntN(5) == 0 {
				l.speed = "" // a partial line without speed
			}
			l.text = text[:len(text)/2]
		}
		l.ts += int64(i) * int64(g.r.IntN(900))
		*dst = append(*dst, g.assistant(l)...)
	}
}

// edges writes one session of the cases that tell ccusage's readers apart.
func (g *txGen) edges(project string) {
	base := g.p.Start + 2*86_400_000 + 7*3600_000
	var b []byte
	sess := "edge-" + g.uuid()
	l := func(min int64, msg, req string, out int64, mut func(*txLineSpec)) {
		s := txLineSpec{ts: base + min*60_000, session: sess, version: "2.0.31", cwd: "/e", msgID: msg, reqID: req,
			model: "claude-sonnet-4-5-20250929", out: out, cr: 1000, split: true}
		if req == "" {
			s.noReq = true
		}
		if mut != nil {
			mut(&s)
		}
		b = append(b, g.assistant(s)...)
	}
	side := func(s *txLineSpec) { s.side = true }
	// A non-sidechain line beats a sidechain one with more tokens.
	l(0, "mA", "rA", 10, nil)
	l(1, "mA", "rA", 100, side)
	l(2, "mB", "rB", 100, side)
	l(3, "mB", "rB", 10, nil)
	// Sidechain replays with a new request id: two entries, one day entry.
	l(4, "mC", "rC1", 10, nil)
	l(5, "mC", "rC2", 50, side)
	// Ties: a speed wins, else the first.
	l(6, "mE", "rE", 10, nil)
	l(7, "mE", "rE", 10, func(s *txLineSpec) { s.speed = "standard" })
	l(8, "mF", "rF", 10, nil)
	l(130, "mF", "rF", 10, nil)
	// No request id: the entry reader merges, the daily reader does not.
	l(9, "mG", "", 10, nil)
	l(10, "mG", "", 20, nil)
	// No message id: never merged.
	b = append(b, fmt.Appendf(nil, `{"timestamp":"%s","sessionId":"%s","message":{"model":"claude-haiku-4-5-20251001","usage":{"input_tokens":1,"output_tokens":7}},"requestId":"rH"}`+"\n", txTime(base+11*60_000), sess)...)
	b = append(b, fmt.Appendf(nil, `{"timestamp":"%s","sessionId":"%s","message":{"model":"claude-haiku-4-5-20251001","usage":{"input_tokens":1,"output_tokens":7}},"requestId":"rH"}`+"\n", txTime(base+12*60_000), sess)...)
	// The daily reader's index after a replacement.
	l(13, "mM", "rM1", 50, side)
	l(14, "mM", "rM2", 10, nil)
	l(15, "mM", "rM2", 20, nil)
	l(16, "mQ", "rQ1", 100, side)
	l(17, "mQ", "rQ2", 10, nil)
	l(18, "mQ", "rQ3", 20, nil)
	// Equal tokens, different costs: the daily reader keeps the dearer.
	l(19, "mE2", "rE2", 10, func(s *txLineSpec) { s.cost = 0.5 })
	l(20, "mE2", "rE2", 10, func(s *txLineSpec) { s.cost = 1 })
	// Timestamps: with an offset, without milliseconds.
	b = append(b, fmt.Appendf(nil, `{"timestamp":"%s","sessionId":"%s","message":{"id":"mT1","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":1,"output_tokens":3}},"requestId":"rT1"}`+"\n", time.UnixMilli(base+21*60_000).In(time.FixedZone("", 2*3600)).Format("2006-01-02T15:04:05.000-07:00"), sess)...)
	b = append(b, fmt.Appendf(nil, `{"timestamp":"%s","sessionId":"%s","message":{"id":"mT2","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":1,"output_tokens":3}},"requestId":"rT2"}`+"\n", time.UnixMilli(base+22*60_000).UTC().Format("2006-01-02T15:04:05Z"), sess)...)
	b = append(b, fmt.Appendf(nil, `{"timestamp":"%s","sessionId":"%s","message":{"id":"mT3","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":1,"output_tokens":3}},"requestId":"rT3"}`+"\n", time.UnixMilli(base+23*60_000).UTC().Format(time.RFC3339Nano), sess)...)
	// Text only the entry reader accepts (bad UTF-8 or a lone surrogate in
	// a field neither reads; nesting past 127).
	b = append(b, fmt.Appendf(nil, `{"x":"`+"\xff"+`","timestamp":"%s","sessionId":"%s","message":{"id":"mU1","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":1,"output_tokens":5}},"requestId":"rU1"}`+"\n", txTime(base+24*60_000), sess)...)
	b = append(b, fmt.Appendf(nil, `{"x":"\ud800","timestamp":"%s","sessionId":"%s","message":{"id":"mU2","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":1,"output_tokens":5}},"requestId":"rU2"}`+"\n", txTime(base+25*60_000), sess)...)
	deep := ""
	for range 130 {
		deep = "[" + deep + "]"
	}
	b = append(b, fmt.Appendf(nil, `{"x":%s,"timestamp":"%s","sessionId":"%s","message":{"id":"mU3","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":1,"output_tokens":5}},"requestId":"rU3"}`+"\n", deep, txTime(base+26*60_000), sess)...)
	// A null ccusage refuses, inside content; nulls it accepts.
	b = append(b, fmt.Appendf(nil, `{"timestamp":"%s","sessionId":"%s","message":{"id":"mN1","model":"claude-haiku-4-5-20251001","content":[{"type":"tool_use","id":null}],"usage":{"input_tokens":1,"output_tokens":5}},"requestId":"rN1"}`+"\n", txTime(base+27*60_000), sess)...)
	b = append(b, fmt.Appendf(nil, `{"timestamp":"%s","sessionId":"%s","isSidechain":null,"message":{"id":"mN2","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":1,"output_tokens":5,"cache_creation":null,"cache_creation_input_tokens":40}},"requestId":"rN2"}`+"\n", txTime(base+28*60_000), sess)...)
	// Escapes in the fields read.
	b = append(b, fmt.Appendf(nil, `{"timestamp":"%s","sessionId":"%s","message":{"id":"m\u0041","model":"claude-haiku-4-5-2025100\u0031","usage":{"input_tokens":1,"output_tokens":5,"speed":"f\u0061st"}},"requestId":"rA"}`+"\n", txTime(base+29*60_000), sess)...)
	b = append(b, fmt.Appendf(nil, `{"timestamp":"%s","sessionId":"%s","message":{"id":"mA","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":1,"output_tokens":9}},"requestId":"rA"}`+"\n", txTime(base+30*60_000), sess)...)
	// Wrong types and duplicates: refused.
	b = append(b, fmt.Appendf(nil, `{"timestamp":"%s","sessionId":5,"message":{"id":"mW1","model":"m","usage":{"input_tokens":1,"output_tokens":5}}}`+"\n", txTime(base+31*60_000))...)
	b = append(b, fmt.Appendf(nil, `{"timestamp":"%s","message":{"id":"mW2","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":1,"output_tokens":5.0}}}`+"\n", txTime(base+32*60_000))...)
	b = append(b, fmt.Appendf(nil, `{"timestamp":"%s","message":{"id":"mW3","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":1,"output_tokens":5,"speed":"priority"}}}`+"\n", txTime(base+33*60_000))...)
	b = append(b, fmt.Appendf(nil, `{"timestamp":"%s","isApiErrorMessage":"yes","message":{"id":"mW4","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":1,"output_tokens":5}}}`+"\n", txTime(base+34*60_000))...)
	b = append(b, fmt.Appendf(nil, `{"timestamp":"%s","message":{"id":"mW5","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":1,"output_tokens":5}},"message":{"id":"mW5"}}`+"\n", txTime(base+35*60_000))...)
	b = append(b, fmt.Appendf(nil, `{"timestamp":"%s","message":{"id":"mW6","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":-0,"output_tokens":5}}}`+"\n", txTime(base+36*60_000))...)
	// No model: counted, priced at nothing, listed nowhere.
	b = append(b, fmt.Appendf(nil, `{"timestamp":"%s","message":{"id":"mX","usage":{"input_tokens":1000,"output_tokens":5}},"requestId":"rX"}`+"\n", txTime(base+37*60_000))...)
	// Equal times: models in the order of the entries list.
	l(38, "mS1", "rS1", 10, func(s *txLineSpec) { s.model = "claude-opus-4-5-20251101" })
	l(38, "mS2", "rS2", 10, func(s *txLineSpec) { s.model = "claude-haiku-4-5-20251001" })
	g.file(project+"/"+sess+".jsonl", b)
	// Ties across files: the first file in path order wins.
	for i, name := range []string{"zz-tie", "Aa-tie", "a-tie"} {
		b = g.assistant(txLineSpec{ts: base + int64(40+i)*60_000, session: name, version: "2.0.31", cwd: "/t",
			msgID: "mTie", reqID: "rTie", model: "claude-sonnet-4-5-20250929", out: 10, split: true})
		g.file(project+"/"+name+".jsonl", b)
	}
	// A file deeper than a session, and one at the top.
	g.file(project+"/deep/er/file.jsonl", g.assistant(txLineSpec{ts: base + 45*60_000, session: "d", version: "2.0.31",
		cwd: "/d", msgID: "mD", reqID: "rD", model: "claude-haiku-4-5-20251001", out: 10}))
	g.file("top.jsonl", g.assistant(txLineSpec{ts: base + 46*60_000, session: "t", version: "2.0.31",
		cwd: "/d", msgID: "mTop", reqID: "rTop", model: "claude-haiku-4-5-20251001", out: 10}))
}
