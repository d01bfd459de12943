package transcript

import (
	"bytes"
)

// This file reads one transcript line the way ccusage 20.0.24 does
// (docs/transcripts.md), without encoding/json: a single pass over the
// line that checks it is JSON and picks out the few fields ccusage reads.
//
// ccusage has two readers, and they disagree on some lines (measured on
// the 20.0.24 binary, see testdata/ccusage/README.md):
//
//   - the entry reader (blocks, session, and ccusage's weekly and monthly)
//     deserializes a line straight into its struct: values of fields it
//     does not know are checked for syntax only;
//   - the daily reader deserializes through serde's buffered "untagged"
//     path: every string must be valid UTF-8 without lone surrogates,
//     nesting is limited to 127 levels, and a line whose direct form fails
//     is tried as an agent "progress" line ({"data":{"message":{...}}}).
//
// Both readers first apply the null rule (transcript_null.go) to a line
// holding "null": it must pass the daily reader's strict reading and more.
// txLine records both verdicts and what the null rule found.

// txUsageMarker is the literal ccusage needs in a line before it reads it.
var txUsageMarker = []byte(`"usage":{`)

// txMaxDepth is the deepest nesting serde's buffered reader accepts.
const txMaxDepth = 127

// txMaxTokens is the most tokens of one kind a line may report; ccusage
// accepts any u64, but a larger count is not a real response and would
// overflow sums, so such a line is refused (and reported).
const txMaxTokens = 1<<32 - 1

// txUsage is message.usage (ccusage's TokenUsageRaw).
type txUsage struct {
	st                    txState
	bad                   bool // a field failed: the struct fails
	input, output, cw, cr txCount
	speed                 txText
	ccSt                  txState // cache_creation
	ccBad                 bool
	eph5m, eph1h          txCount
	keyBuf                []byte
}

func (u *txUsage) reset() {
	*u = txUsage{speed: txText{buf: u.speed.buf[:0]}, keyBuf: u.keyBuf[:0]}
}

// ok reports whether the usage deserializes.
func (u *txUsage) ok() bool {
	if u.st != txSet || u.bad || u.input.st != txSet || u.output.st != txSet || u.ccBad {
		return false
	}
	for _, n := range []txState{u.cw.st, u.cr.st} {
		if n == txNull || n == txBad {
			return false
		}
	}
	switch u.ccSt {
	case txBad:
		return false
	case txSet:
		if u.eph5m.st == txNull || u.eph5m.st == txBad || u.eph1h.st == txNull || u.eph1h.st == txBad {
			return false
		}
	}
	switch u.speed.st {
	case txBad:
		return false
	case txSet:
		return string(u.speed.val) == "standard" || string(u.speed.val) == "fast"
	}
	return true
}

func (s *txScan) usage(u *txUsage) {
	if !u.st.see() {
		s.skip()
		return
	}
	switch s.peek() {
	case '{':
	case 'n':
		s.lit()
		u.st = txBad // usage is required: null fails
		return
	default:
		u.st = txBad
		s.skip()
		return
	}
	u.st = txSet
	s.fields(&u.bad, &u.keyBuf, func(name []byte) {
		switch string(name) {
		case "input_tokens":
			s.count(&u.input)
		case "output_tokens":
			s.count(&u.output)
		case "cache_creation_input_tokens":
			s.count(&u.cw)
		case "cache_read_input_tokens":
			s.count(&u.cr)
		case "speed":
			s.text(&u.speed)
		case "iterations":
			s.null.iterations = true
			s.skip()
			s.null.iterations = false
		case "cache_creation":
			if !u.ccSt.see() {
				s.skip()
				return
			}
			switch s.peek() {
			case '{':
				u.ccSt = txSet
				s.fields(&u.ccBad, &u.keyBuf, func(name []byte) {
					switch string(name) {
					case "ephemeral_5m_input_tokens":
						s.count(&u.eph5m)
					case "ephemeral_1h_input_tokens":
						s.count(&u.eph1h)
					default:
						s.skip()
					}
				})
			case 'n':
				if s.lit() == 'n' {
					u.ccSt = txNull
				}
			default:
				u.ccSt = txBad
				s.skip()
			}
		default:
			s.skip()
		}
	})
}

// txMessage is a line's message (ccusage's UsageMessage).
type txMessage struct {
	st        txState
	bad       bool
	id, model txText
	usage     txUsage
	keyBuf    []byte
}

func (m *txMessage) reset() {
	u := m.usage
	u.reset()
	*m = txMessage{id: txText{buf: m.id.buf[:0]}, model: txText{buf: m.model.buf[:0]}, usage: u, keyBuf: m.keyBuf[:0]}
}

func (m *txMessage) ok() bool {
	return m.st == txSet && !m.bad && m.id.st != txBad && m.model.st != txBad && m.usage.ok()
}

func (s *txScan) message(m *txMessage) {
	if !m.st.see() {
		s.skip()
		return
	}
	if s.peek() != '{' {
		m.st = txBad
		s.skip()
		return
	}
	m.st = txSet
	s.fields(&m.bad, &m.keyBuf, func(name []byte) {
		switch string(name) {
		case "id":
			s.text(&m.id)
		case "model":
			s.text(&m.model)
		case "usage":
			s.usage(&m.usage)
		default:
			s.skip()
		}
	})
}

// txEntry is a usage line's fields: the top level of a direct line, or
// data.message of an agent progress line.
type txEntry struct {
	bad                           bool // a field failed: the struct fails
	timestamp, sessionID, version txText
	requestID                     txText
	costUSD                       txFloat
	apiError, sidechain           txFlag
	message                       txMessage
	keyBuf                        []byte
}

func (e *txEntry) reset() {
	m := e.message
	m.reset()
	*e = txEntry{
		timestamp: txText{buf: e.timestamp.buf[:0]}, sessionID: txText{buf: e.sessionID.buf[:0]},
		version: txText{buf: e.version.buf[:0]}, requestID: txText{buf: e.requestID.buf[:0]},
		message: m, keyBuf: e.keyBuf[:0],
	}
}

// ok reports whether the fields deserialize as ccusage's entry; apiError
// says whether isApiErrorMessage is one of its fields (the entry reader's
// struct has it, the daily reader's does not).
func (e *txEntry) ok(apiError bool) bool {
	if e.bad || e.timestamp.st != txSet || !e.message.ok() || e.costUSD.st == txBad || e.sidechain.st == txBad {
		return false
	}
	for _, t := range []txState{e.sessionID.st, e.version.st, e.requestID.st} {
		if t == txBad {
			return false
		}
	}
	return !apiError || e.apiError.st != txBad
}

// txLine is what a usage line holds for both of ccusage's readers.
type txLine struct {
	s        txScan
	direct   txEntry
	progress txEntry // data.message of an agent progress line
	dataSt   txState // data
	dataBad  bool
	pmSt     txState // data.message
	keyBuf   []byte
}

// parse reads line; it returns false if the line is not a JSON object.
func (l *txLine) parse(line []byte) bool {
	l.s = txScan{b: line, stack: l.s.stack, null: l.s.null}
	l.s.null.reset()
	l.direct.reset()
	l.progress.reset()
	l.dataSt, l.dataBad, l.pmSt = txAbsent, false, txAbsent
	s := &l.s
	s.ws()
	if s.peek() != '{' {
		s.fail("not a JSON object")
		return false
	}
	e := &l.direct
	s.fields(&e.bad, &l.keyBuf, func(name []byte) {
		switch string(name) {
		case "timestamp":
			s.text(&e.timestamp)
		case "sessionId":
			s.text(&e.sessionID)
		case "version":
			s.text(&e.version)
		case "requestId":
			s.text(&e.requestID)
		case "costUSD":
			s.float(&e.costUSD)
		case "isApiErrorMessage":
			s.flag(&e.apiError)
		case "isSidechain":
			s.flag(&e.sidechain)
		case "message":
			s.message(&e.message)
		case "data":
			l.data()
		default:
			s.skip()
		}
	})
	if s.err {
		return false
	}
	s.ws()
	if s.i != len(s.b) {
		s.fail("text after the object")
		return false
	}
	// The rule applies to a line with a null value (the scanner saw it) or
	// "null" in a string.
	s.null.on = s.null.on || bytes.Contains(s.b, txNullMarker)
	return true
}

// data reads the data field of an agent progress line.
func (l *txLine) data() {
	s := &l.s
	if !l.dataSt.see() || s.peek() != '{' {
		l.dataSt = txBad
		s.skip()
		return
	}
	l.dataSt = txSet
	p := &l.progress
	s.fields(&l.dataBad, &l.keyBuf, func(name []byte) {
		if string(name) != "message" {
			s.skip()
			return
		}
		if !l.pmSt.see() || s.peek() != '{' {
			l.pmSt = txBad
			s.skip()
			return
		}
		l.pmSt = txSet
		s.fields(&p.bad, &p.keyBuf, func(name []byte) {
			switch string(name) {
			case "timestamp":
				s.text(&p.timestamp)
			case "requestId":
				s.text(&p.requestID)
			case "costUSD":
				s.float(&p.costUSD)
			case "isSidechain":
				s.flag(&p.sidechain)
			case "message":
				s.message(&p.message)
			default:
				s.skip()
			}
		})
	})
}

// progressOK reports whether the line deserializes as an agent progress
// line (which the daily reader tries when the direct form fails).
func (l *txLine) progressOK() bool {
	return l.dataSt == txSet && !l.dataBad && l.pmSt == txSet && l.progress.ok(false)
}

// nullRule returns why ccusage's null rule (transcript_null.go) drops the
// line from both readers, or "" if it does not.
func (l *txLine) nullRule() string {
	switch c := &l.s.null; {
	case !c.on:
		return ""
	case c.field != "":
		return c.field + " is null (ccusage skips the line)"
	case l.s.strict != "":
		return "the line holds null and " + l.s.strict + " (ccusage skips such a line)"
	case c.repeated:
		return "the line holds null and an object names a member twice (ccusage skips such a line)"
	}
	return ""
}
