package transcript

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"hash/maphash"
	"strconv"
	"sync"

	"github.com/authpool/authpool/claude"
	"github.com/authpool/authpool/internal/bounds"
)

// This file turns a line into records for the merger: the usage lines of
// docs/transcripts.md, read by txLine, checked as ccusage's two readers
// check them (the null rule first, for both), priced and keyed for
// de-duplication.

// txModel is a model name and its price.
type txModel struct {
	name      string
	display   string // "" for <synthetic>, which ccusage lists nowhere
	price     claude.Price
	priced    bool   // the table prices it
	estimated bool   // at an estimate (Resolution.Estimate)
	pricedAs  string // Resolution.PricedAs
}

// txDefaultPrices is the table transcripts are priced with by default;
// nobody can change it.
var txDefaultPrices = sync.OnceValue(claude.DefaultPrices)

// txModels interns model names for all workers.
type txModels struct {
	mu     sync.RWMutex
	ids    map[string]int32
	list   []txModel
	prices *claude.Prices
}

func (m *txModels) id(name []byte) (int32, txModel) {
	m.mu.RLock()
	id, ok := m.ids[string(name)]
	var md txModel
	if ok {
		md = m.list[id]
	}
	m.mu.RUnlock()
	if ok {
		return id, md
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if id, ok := m.ids[string(name)]; ok {
		return id, m.list[id]
	}
	md = txModel{name: string(name), display: string(name)}
	if md.name == "<synthetic>" {
		md.display = ""
	}
	// Fast mode is the line's usage.speed, as ccusage reads it; an id's
	// -fast (Resolution.Fast) is not. Claude Code's <synthetic> messages
	// are its own, not the API's: they cost nothing, whatever the table.
	if price, res, err := m.prices.PriceOf(md.name); err == nil && md.display != "" {
		md.price, md.priced, md.estimated, md.pricedAs = price, true, res.Estimate(), res.PricedAs()
	}
	id = int32(len(m.list))
	m.ids[md.name] = id
	m.list = append(m.list, md)
	return id, md
}

// text handles one line.
func (w *txWorker) text(b []byte) {
	w.lineNo++
	first := 0
	for first < len(b) && (b[first] == ' ' || b[first] == '\t' || b[first] == '\r') {
		first++
	}
	if first == len(b) {
		return
	}
	w.batch.stats.Lines++
	if !bytes.Contains(b, txUsageMarker) {
		last := len(b) - 1
		for b[last] == ' ' || b[last] == '\t' || b[last] == '\r' {
			last--
		}
		if b[first] != '{' || b[last] != '}' {
			w.batch.stats.Malformed++
			w.problem(w.lineNo, "not a JSON object")
		}
		return
	}
	w.batch.stats.UsageLines++
	if why := w.usage(b); why != "" {
		w.batch.stats.Skipped++
		w.problem(w.lineNo, why)
	}
	if len(w.batch.recs) >= txBatchSize {
		w.send()
	}
}

// usage reads a line holding usage; it returns why neither reader took it.
func (w *txWorker) usage(b []byte) string {
	l := &w.line
	if !l.parse(b) {
		return "not JSON: " + l.s.where
	}
	// The null rule decides for both readers at once (transcript_null.go).
	if why := l.nullRule(); why != "" {
		return why
	}
	// The entry reader takes the direct form only; the daily reader takes
	// the direct form if it deserializes (checking it no further), else the
	// progress form.
	strict := l.s.strict == ""
	forEntries := l.direct.ok(true)
	dailyDirect := l.direct.ok(false) && strict
	progress := !dailyDirect && strict && l.progressOK()
	why := ""
	if forEntries || dailyDirect {
		var flags uint16
		if forEntries {
			flags |= txForEntries
		}
		if dailyDirect {
			flags |= txForDaily
		}
		why = w.entry(&l.direct, flags, b)
		if why == "" && !progress {
			return ""
		}
	}
	if progress {
		w2 := w.entry(&l.progress, txForDaily, b)
		if w2 == "" || (forEntries && why == "") {
			return ""
		}
		if why == "" {
			why = w2
		}
	}
	if why == "" {
		why = "not a usage entry: a field is missing, null, given twice or of the wrong type"
	}
	return why
}

// entry checks an entry as ccusage's readers do and adds its record; it
// returns why it is refused.
func (w *txWorker) entry(e *txEntry, flags uint16, line []byte) string {
	ts, why := txCheck(e)
	if why != "" {
		return why
	}
	r := txRec{model: -1, file: w.fi, ts: ts, flags: flags}
	if why := r.setTokens(&e.message.usage); why != "" {
		return why
	}
	if e.sidechain.st == txSet && e.sidechain.val {
		r.flags |= txSide
	}
	var md txModel
	if e.message.model.st == txSet {
		r.model, md = w.run.models.id(e.message.model.val)
	}
	r.price(e, &md, w.run.opts.Mode)
	w.keys(&r, e)
	if e.apiError.st == txSet && e.apiError.val {
		if t, ok := txResetTime(line); ok {
			r.flags |= txHasReset
			r.reset = t
		}
	}
	if flags&txForEntries != 0 && ts >= w.run.recentFrom && ts <= w.run.recentTo {
		r.id = w.poolID(e)
	}
	w.batch.recs = append(w.batch.recs, r)
	return ""
}

// txCheck returns an entry's time (Unix milliseconds), or why ccusage
// refuses the entry: a time it does not read, a version that does not
// start with d.d.d, or an id or model given empty.
func txCheck(e *txEntry) (int64, string) {
	ts, ok := txTimestamp(e.timestamp.val)
	switch {
	case !ok:
		return 0, fmt.Sprintf("timestamp %q is not one ccusage reads", txClip(e.timestamp.val))
	case e.version.st == txSet && !txSemver(e.version.val):
		return 0, fmt.Sprintf("version %q does not start with d.d.d", txClip(e.version.val))
	case e.sessionID.st == txSet && len(e.sessionID.val) == 0:
		return 0, "sessionId is empty"
	case e.requestID.st == txSet && len(e.requestID.val) == 0:
		return 0, "requestId is empty"
	case e.message.id.st == txSet && len(e.message.id.val) == 0:
		return 0, "message.id is empty"
	case e.message.model.st == txSet && len(e.message.model.val) == 0:
		return 0, "message.model is empty"
	}
	return ts, ""
}

// setTokens copies the usage's token counts and speed into r; it returns
// why the line is refused when a count is past what one response can hold.
func (r *txRec) setTokens(u *txUsage) string {
	c5, c1 := u.cw.val, uint64(0)
	if u.ccSt == txSet {
		c5, c1 = u.eph5m.val, u.eph1h.val
	}
	toks := [5]uint64{u.input.val, u.output.val, c5, c1, u.cr.val}
	for i, n := range toks {
		if n > txMaxTokens {
			return fmt.Sprintf("a token count of %d is past what one response can hold", n)
		}
		r.tok[i] = uint32(n)
	}
	if u.speed.st == txSet {
		r.flags |= txHasSpeed
		if string(u.speed.val) == "fast" {
			r.flags |= txFast
		}
	}
	return ""
}

// price sets r's cost as mode says: the line's costUSD, or r's tokens at
// md's price, flagging tokens the table does not price or prices at an
// estimate.
func (r *txRec) price(e *txEntry, md *txModel, mode CostMode) {
	switch {
	case mode == CostDisplay:
		r.cost = e.costUSD.val // 0 when absent
	case mode == CostAuto && e.costUSD.st == txSet:
		r.cost = e.costUSD.val
	default:
		r.cost = r.calc(md)
		if r.model >= 0 && md.display != "" && r.total() > 0 {
			switch {
			case !md.priced:
				r.flags |= txMissing
			case md.estimated:
				r.flags |= txEstimated
			}
		}
	}
}

// calc is the cost of r's tokens at md's price: 0 without a priced model.
func (r *txRec) calc(md *txModel) float64 {
	if r.model < 0 || !md.priced {
		return 0
	}
	return md.price.Cost(claude.Counts{Input: int64(r.tok[0]), Output: int64(r.tok[1]), CacheWrite5m: int64(r.tok[2]),
		CacheWrite1h: int64(r.tok[3]), CacheRead: int64(r.tok[4]), Fast: r.flags&txFast != 0}, claude.PerKind)
}

// keys sets r's de-duplication keys from the entry's message id and
// request id (without a request id, the daily reader's key adds the time).
func (w *txWorker) keys(r *txRec, e *txEntry) {
	if e.message.id.st == txSet {
		r.flags |= txHasMsg
		r.kMsg.a = maphash.Bytes(w.run.seedA, e.message.id.val)
		r.kMsg.b = maphash.Bytes(w.run.seedB, e.message.id.val)
		r.kExact = w.exact(e.message.id.val, e.requestID.st == txSet, e.requestID.val, 0)
		r.kDay = r.kExact
		if e.requestID.st != txSet {
			r.kDay = w.exact(e.message.id.val, false, nil, r.ts)
		}
	}
	if e.requestID.st == txSet {
		r.flags |= txHasReq
	}
}

// exact hashes a message id and request id (or its absence, and a time).
func (w *txWorker) exact(msg []byte, hasReq bool, req []byte, ts int64) txKey {
	var k txKey
	for i, seed := range [2]maphash.Seed{w.run.seedA, w.run.seedB} {
		w.hash.SetSeed(seed)
		w.hash.WriteString(strconv.Itoa(len(msg)))
		w.hash.WriteByte(':')
		w.hash.Write(msg)
		if hasReq {
			w.hash.WriteByte(1)
			w.hash.Write(req)
		} else {
			w.hash.WriteByte(0)
			if ts != 0 {
				w.hash.WriteString(strconv.FormatInt(ts, 10))
			}
		}
		if i == 0 {
			k.a = w.hash.Sum64()
		} else {
			k.b = w.hash.Sum64()
		}
	}
	return k
}

// poolID is the usage ID of an entry for the pool: its message id, or a
// digest of the file and line.
func (w *txWorker) poolID(e *txEntry) string {
	if id := e.message.id.val; e.message.id.st == txSet && len(id) <= bounds.MaxIDLength && txPrintable(id) {
		return string(id)
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s:%d", w.run.files[w.fi].full, w.lineNo)
	return fmt.Sprintf("claude-transcript:%016x", h.Sum64())
}

func txPrintable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// txClip shortens a value quoted in a problem.
func txClip(b []byte) string {
	const most = 40
	if len(b) > most {
		return string(b[:most]) + "…"
	}
	return string(b)
}
