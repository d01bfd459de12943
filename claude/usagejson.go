package claude

// This file decodes message bodies (msgBodyJSON) and SSE event data
// (sseEventJSON) in one pass without reflection: it walks the JSON once,
// checking its syntax as encoding/json does, decodes the fields those
// structs have and skips the rest. Where encoding/json would do anything
// but the plain thing, the scanner gives up and its caller calls
// json.Unmarshal, so results and errors are encoding/json's in every case:
//
//   - any syntax error, and text after the value;
//   - a key with escapes or bytes of 0x80 and above in an object it
//     decodes, and a key with upper-case letters that lower-cased is a
//     name it decodes (encoding/json unescapes keys and matches them
//     case-insensitively, with Unicode folding: "\u0069d", "ID", "ſpeed");
//   - a key of a decoded field seen twice in one object (encoding/json
//     takes the last, merging objects);
//   - a value of the wrong type for its field;
//   - a string for a field with escapes or invalid UTF-8;
//   - a number for a field that is not an integer in int64's range
//     (1.5, 1e3, 9223372036854775808);
//   - nesting deeper than ujMaxDepth levels below a decoded object.
//
// Null is decoded as encoding/json does: a nil pointer, an unchanged
// string, and a zero struct for a null top-level value.

// ujMaxDepth is how deep the scanner skips nested arrays and objects before
// it gives up (encoding/json's own limit is 10000).
const ujMaxDepth = 1000

// ujScan is where the scanner is in b. A method that reports false has met
// something it gives up on; s.i is then meaningless.
type ujScan struct {
	b []byte
	i int
}

// decodeFast decodes data into b, which must be zero, as json.Unmarshal
// would. It reports false, leaving b zero, when it gives up: the caller
// then calls json.Unmarshal.
func (b *msgBodyJSON) decodeFast(data []byte) bool {
	s := ujScan{b: data}
	s.ws()
	if s.peek() == 'n' {
		return s.lit("null") && s.end()
	}
	if s.body(b) && s.end() {
		return true
	}
	*b = msgBodyJSON{}
	return false
}

// decodeFast decodes data into ev, which must be zero, as json.Unmarshal
// would. It reports false, leaving ev zero, when it gives up: the caller
// then calls json.Unmarshal.
func (ev *sseEventJSON) decodeFast(data []byte) bool {
	s := ujScan{b: data}
	s.ws()
	if s.peek() == 'n' {
		return s.lit("null") && s.end()
	}
	if s.event(ev) && s.end() {
		return true
	}
	*ev = sseEventJSON{}
	return false
}

// ujUsage holds a decoded usage object and what its pointers point to, so
// that it takes one allocation. The types of cc and st must stay identical
// to those of msgUsageJSON's CacheCreation and ServerToolUse, tags and all
// (the compiler checks).
type ujUsage struct {
	u  msgUsageJSON
	cc struct {
		Ephemeral5m *int64 `json:"ephemeral_5m_input_tokens"`
		Ephemeral1h *int64 `json:"ephemeral_1h_input_tokens"`
	}
	st struct {
		WebSearchRequests *int64 `json:"web_search_requests"`
	}
	n     [7]int64
	speed string
	geo   string
}

// ujMessage holds a decoded message object of an SSE event and its stop
// reason. The type of m must stay identical to that of sseEventJSON's
// Message.
type ujMessage struct {
	m struct {
		ID         string        `json:"id"`
		Model      string        `json:"model"`
		StopReason *string       `json:"stop_reason"`
		Usage      *msgUsageJSON `json:"usage"`
	}
	stop string
}

// ujDelta holds a decoded delta object of an SSE event and its stop reason.
// The type of d must stay identical to that of sseEventJSON's Delta.
type ujDelta struct {
	d struct {
		StopReason *string `json:"stop_reason"`
	}
	stop string
}

// ujOnce marks bit in seen, reporting false if it was already marked: a
// key seen twice.
func ujOnce(seen *uint, bit uint) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

// body decodes a message body object.
func (s *ujScan) body(b *msgBodyJSON) bool {
	if s.peek() != '{' {
		return false
	}
	s.i++
	var seen uint
	for first := true; ; first = false {
		key, done, ok := s.key(first)
		if !ok || done {
			return ok
		}
		switch string(key) {
		case "type":
			ok = ujOnce(&seen, 1<<0) && s.str(&b.Type)
		case "id":
			ok = ujOnce(&seen, 1<<1) && s.str(&b.ID)
		case "model":
			ok = ujOnce(&seen, 1<<2) && s.str(&b.Model)
		case "stop_reason":
			ok = ujOnce(&seen, 1<<3) && s.strPtr(&b.StopReason, nil)
		case "usage":
			ok = ujOnce(&seen, 1<<4) && s.usage(&b.Usage)
		case "error":
			ok = ujOnce(&seen, 1<<5) && s.apiError(&b.Error)
		case "request_id":
			ok = ujOnce(&seen, 1<<6) && s.str(&b.RequestID)
		default:
			ok = s.other(key)
		}
		if !ok {
			return false
		}
	}
}

// event decodes an SSE event's data object.
func (s *ujScan) event(ev *sseEventJSON) bool {
	if s.peek() != '{' {
		return false
	}
	s.i++
	var seen uint
	for first := true; ; first = false {
		key, done, ok := s.key(first)
		if !ok || done {
			return ok
		}
		switch string(key) {
		case "type":
			ok = ujOnce(&seen, 1<<0) && s.str(&ev.Type)
		case "message":
			ok = ujOnce(&seen, 1<<1) && s.message(ev)
		case "delta":
			ok = ujOnce(&seen, 1<<2) && s.delta(ev)
		case "usage":
			ok = ujOnce(&seen, 1<<3) && s.usage(&ev.Usage)
		case "error":
			ok = ujOnce(&seen, 1<<4) && s.apiError(&ev.Error)
		case "request_id":
			ok = ujOnce(&seen, 1<<5) && s.str(&ev.RequestID)
		default:
			ok = s.other(key)
		}
		if !ok {
			return false
		}
	}
}

// object starts a nested object for a pointer field: it reports isNull
// for a null (consumed), and ok false for anything but an object or null.
func (s *ujScan) object() (isNull, ok bool) {
	switch s.peek() {
	case '{':
		s.i++
		return false, true
	case 'n':
		return true, s.lit("null")
	}
	return false, false
}

// message decodes the message object of an SSE event.
func (s *ujScan) message(ev *sseEventJSON) bool {
	if isNull, ok := s.object(); isNull || !ok {
		ev.Message = nil
		return ok
	}
	blk := new(ujMessage)
	m := &blk.m
	ev.Message = m
	var seen uint
	for first := true; ; first = false {
		key, done, ok := s.key(first)
		if !ok || done {
			return ok
		}
		switch string(key) {
		case "id":
			ok = ujOnce(&seen, 1<<0) && s.str(&m.ID)
		case "model":
			ok = ujOnce(&seen, 1<<1) && s.str(&m.Model)
		case "stop_reason":
			ok = ujOnce(&seen, 1<<2) && s.strPtr(&m.StopReason, &blk.stop)
		case "usage":
			ok = ujOnce(&seen, 1<<3) && s.usage(&m.Usage)
		default:
			ok = s.other(key)
		}
		if !ok {
			return false
		}
	}
}

// delta decodes the delta object of an SSE event.
func (s *ujScan) delta(ev *sseEventJSON) bool {
	if isNull, ok := s.object(); isNull || !ok {
		ev.Delta = nil
		return ok
	}
	blk := new(ujDelta)
	d := &blk.d
	ev.Delta = d
	var seen uint
	for first := true; ; first = false {
		key, done, ok := s.key(first)
		if !ok || done {
			return ok
		}
		switch string(key) {
		case "stop_reason":
			ok = ujOnce(&seen, 1<<0) && s.strPtr(&d.StopReason, &blk.stop)
		default:
			ok = s.other(key)
		}
		if !ok {
			return false
		}
	}
}

// apiError decodes an error object.
func (s *ujScan) apiError(dst **msgErrorJSON) bool {
	if isNull, ok := s.object(); isNull || !ok {
		*dst = nil
		return ok
	}
	e := new(msgErrorJSON)
	*dst = e
	var seen uint
	for first := true; ; first = false {
		key, done, ok := s.key(first)
		if !ok || done {
			return ok
		}
		switch string(key) {
		case "type":
			ok = ujOnce(&seen, 1<<0) && s.str(&e.Type)
		case "message":
			ok = ujOnce(&seen, 1<<1) && s.str(&e.Message)
		default:
			ok = s.other(key)
		}
		if !ok {
			return false
		}
	}
}

// usage decodes a usage object.
func (s *ujScan) usage(dst **msgUsageJSON) bool {
	if isNull, ok := s.object(); isNull || !ok {
		*dst = nil
		return ok
	}
	blk := new(ujUsage)
	u := &blk.u
	*dst = u
	var seen uint
	for first := true; ; first = false {
		key, done, ok := s.key(first)
		if !ok || done {
			return ok
		}
		switch string(key) {
		case "input_tokens":
			ok = ujOnce(&seen, 1<<0) && s.intPtr(&u.InputTokens, &blk.n[0])
		case "output_tokens":
			ok = ujOnce(&seen, 1<<1) && s.intPtr(&u.OutputTokens, &blk.n[1])
		case "cache_creation_input_tokens":
			ok = ujOnce(&seen, 1<<2) && s.intPtr(&u.CacheCreationInputTokens, &blk.n[2])
		case "cache_read_input_tokens":
			ok = ujOnce(&seen, 1<<3) && s.intPtr(&u.CacheReadInputTokens, &blk.n[3])
		case "cache_creation":
			ok = ujOnce(&seen, 1<<4) && s.cacheCreation(blk)
		case "server_tool_use":
			ok = ujOnce(&seen, 1<<5) && s.serverToolUse(blk)
		case "speed":
			ok = ujOnce(&seen, 1<<6) && s.strPtr(&u.Speed, &blk.speed)
		case "inference_geo":
			ok = ujOnce(&seen, 1<<7) && s.strPtr(&u.InferenceGeo, &blk.geo)
		default:
			ok = s.other(key)
		}
		if !ok {
			return false
		}
	}
}

// cacheCreation decodes usage.cache_creation.
func (s *ujScan) cacheCreation(blk *ujUsage) bool {
	if isNull, ok := s.object(); isNull || !ok {
		blk.u.CacheCreation = nil
		return ok
	}
	cc := &blk.cc
	blk.u.CacheCreation = cc
	var seen uint
	for first := true; ; first = false {
		key, done, ok := s.key(first)
		if !ok || done {
			return ok
		}
		switch string(key) {
		case "ephemeral_5m_input_tokens":
			ok = ujOnce(&seen, 1<<0) && s.intPtr(&cc.Ephemeral5m, &blk.n[4])
		case "ephemeral_1h_input_tokens":
			ok = ujOnce(&seen, 1<<1) && s.intPtr(&cc.Ephemeral1h, &blk.n[5])
		default:
			ok = s.other(key)
		}
		if !ok {
			return false
		}
	}
}

// serverToolUse decodes usage.server_tool_use.
func (s *ujScan) serverToolUse(blk *ujUsage) bool {
	if isNull, ok := s.object(); isNull || !ok {
		blk.u.ServerToolUse = nil
		return ok
	}
	st := &blk.st
	blk.u.ServerToolUse = st
	var seen uint
	for first := true; ; first = false {
		key, done, ok := s.key(first)
		if !ok || done {
			return ok
		}
		switch string(key) {
		case "web_search_requests":
			ok = ujOnce(&seen, 1<<0) && s.intPtr(&st.WebSearchRequests, &blk.n[6])
		default:
			ok = s.other(key)
		}
		if !ok {
			return false
		}
	}
}
