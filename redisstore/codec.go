package redisstore

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authpool/authpool/store"
)

// Times are stored as 20 decimal digits: the Unix nanoseconds plus 2^63, so
// that every time is positive, and the order of the strings, compared as two
// 10-digit numbers (lua/lib.lua's lt), is the order of the times. The zero
// time is all zeros: before every other. A time the Unix nanoseconds cannot
// hold (after April 2262, before 1678) is kept as the nearest one they hold,
// so it keeps its order: a limit until 2300 stays a limit for centuries.
const zeroTime = "00000000000000000000"

// The times encTime keeps as they are.
var (
	minNanoTime = time.Unix(0, math.MinInt64+1) // MinInt64 would be zeroTime
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// encTime returns t's 20-digit form.
func encTime(t time.Time) string {
	if t.IsZero() {
		return zeroTime
	}
	switch {
	case t.Before(minNanoTime):
		t = minNanoTime
	case t.After(maxNanoTime):
		t = maxNanoTime
	}
	var b [20]byte
	digits := strconv.AppendUint(b[:0], uint64(t.UnixNano())^(1<<63), 10)
	return zeroTime[:20-len(digits)] + string(digits)
}

// encTimeOrNone returns t's 20-digit form, or "" for the zero time: the
// scripts read "" as "not set".
func encTimeOrNone(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return encTime(t)
}

// decTime parses a 20-digit time; nil (a field not set) is the zero time.
func decTime(v any) (time.Time, error) {
	if v == nil {
		return time.Time{}, nil
	}
	s, ok := v.(string)
	if !ok || len(s) != len(zeroTime) {
		return time.Time{}, fmt.Errorf("bad time %v", v)
	}
	u, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %q", s)
	}
	if u == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, int64(u^(1<<63))).UTC(), nil
}

// decInt parses an integer field (a string from a hash, or an integer
// reply); nil is 0.
func decInt(v any) (int64, error) {
	switch v := v.(type) {
	case nil:
		return 0, nil
	case int64:
		return v, nil
	case string:
		return strconv.ParseInt(v, 10, 64)
	}
	return 0, fmt.Errorf("bad integer %v", v)
}

// str returns a string field; nil is "".
func str(v any) string {
	s, _ := v.(string)
	return s
}

// decoder collects the first error of a record's fields.
type decoder struct{ err error }

func (d *decoder) time(v any) time.Time {
	t, err := decTime(v)
	if err != nil && d.err == nil {
		d.err = err
	}
	return t
}

func (d *decoder) int(v any) int64 {
	n, err := decInt(v)
	if err != nil && d.err == nil {
		d.err = err
	}
	return n
}

func (d *decoder) float(v any) float64 {
	if v == nil {
		return 0
	}
	f, err := strconv.ParseFloat(str(v), 64)
	if err != nil && d.err == nil {
		d.err = err
	}
	return f
}

// sessionFields is the length of a session's row: its client ID and the
// fields lua/lib.lua's SESSION lists.
const sessionFields = 13

// decodeSession reads a session's row.
func decodeSession(row []any) (store.Session, error) {
	if len(row) != sessionFields {
		return store.Session{}, fmt.Errorf("bad session %v", row)
	}
	var d decoder
	sess := store.Session{
		ClientID:       str(row[0]),
		SubscriptionID: str(row[1]),
		Created:        d.time(row[2]),
		Assigned:       d.time(row[3]),
		LastActive:     d.time(row[4]),
		Requests:       d.int(row[5]),
		Cost:           store.Nanodollars(d.int(row[6])),
		Tokens:         store.Tokens{Input: d.int(row[7]), Output: d.int(row[8]), CacheWrite: d.int(row[9]), CacheRead: d.int(row[10])},
		Model:          str(row[11]),
		HoldUntil:      d.time(row[12]),
	}
	if d.err != nil {
		return store.Session{}, fmt.Errorf("session of %q: %w", sess.ClientID, d.err)
	}
	return sess, nil
}

// decodeSessions reads session rows, one after another.
func decodeSessions(rows []any) ([]store.Session, error) {
	if len(rows)%sessionFields != 0 {
		return nil, fmt.Errorf("bad session rows: %d values", len(rows))
	}
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]store.Session, 0, len(rows)/sessionFields)
	for i := 0; i < len(rows); i += sessionFields {
		sess, err := decodeSession(rows[i : i+sessionFields])
		if err != nil {
			return nil, err
		}
		out = append(out, sess)
	}
	return out, nil
}

// decodeSubscription reads what lua/lib.lua's subscription returns: the ID,
// the hash (field, value, ...), the client count, the bucket ring and the
// holds.
func decodeSubscription(v any) (store.Subscription, error) {
	parts, ok := v.([]any)
	if !ok || len(parts) != 5 {
		return store.Subscription{}, fmt.Errorf("bad subscription %v", v)
	}
	hash, _ := parts[1].([]any)
	ring, _ := parts[3].([]any)
	held, _ := parts[4].([]any)
	var d decoder
	sub := store.Subscription{ID: str(parts[0]), Clients: int(d.int(parts[2]))}
	for i := 0; i+1 < len(hash); i += 2 {
		field, val := str(hash[i]), hash[i+1]
		switch field {
		case "name":
			sub.Name = str(val)
		case "kind":
			sub.Kind = str(val)
		case "cred":
			sub.Credential = store.Secret(str(val))
		case "cexp":
			sub.CredentialExpiresAt = d.time(val)
		case "rtok":
			sub.RefreshToken = store.Secret(str(val))
		case "max":
			sub.MaxClients = int(d.int(val))
		case "wb":
			sub.WeeklyBudget = store.Nanodollars(d.int(val))
		case "bb":
			sub.BlockBudget = store.Nanodollars(d.int(val))
		case "db":
			sub.DailyBudget = store.Nanodollars(d.int(val))
		case "st":
			sub.Status.State = store.State(d.int(val))
		case "until":
			sub.Status.Until = d.time(val)
		case "reason":
			sub.Status.Reason = str(val)
		case "last":
			sub.LastActive = d.time(val)
		case "block":
			sub.BlockStart = store.HourStart(d.int(val))
		case "rat":
			sub.Reported.At = d.time(val)
		case "rbs":
			sub.Reported.BlockShare = d.float(val)
		case "rbr":
			sub.Reported.BlockReset = d.time(val)
		case "rws":
			sub.Reported.WeekShare = d.float(val)
		case "rwr":
			sub.Reported.WeekReset = d.time(val)
		default:
			if model, ok := strings.CutPrefix(field, "m:"); ok {
				s := str(val)
				if len(s) < len(zeroTime) {
					return store.Subscription{}, fmt.Errorf("subscription %q: bad model limit %q", sub.ID, s)
				}
				sub.ModelLimits = append(sub.ModelLimits, store.ModelLimit{Model: model, Until: d.time(s[:len(zeroTime)]), Reason: s[len(zeroTime):]})
			}
		}
	}
	slices.SortFunc(sub.ModelLimits, func(a, b store.ModelLimit) int { return cmp.Compare(a.Model, b.Model) })
	sub.Usage, sub.Minutes = decodeBuckets(ring, &d)
	sub.Holds = decodeHolds(held, &d)
	if d.err != nil {
		return store.Subscription{}, fmt.Errorf("subscription %q: %w", sub.ID, d.err)
	}
	return sub, nil
}

// decodeBuckets reads a ring of hourly buckets and its ring of minutes (see
// lua/usage.lua): the buckets with requests among the WeekHours hours up to
// the newest, and the minutes that cost something among the BurnMinutes
// minutes up to the newest, each oldest first.
func decodeBuckets(ring []any, d *decoder) ([]store.Bucket, []store.Minute) {
	if len(ring) == 0 {
		return nil, nil
	}
	var (
		slots   [store.WeekHours]store.Bucket
		minutes [store.BurnMinutes]store.Minute
		newest  int64
	)
	for i := 0; i+1 < len(ring); i += 2 {
		field, val := str(ring[i]), ring[i+1]
		if field == "n" {
			newest = d.int(val)
			continue
		}
		if len(field) < 2 {
			continue
		}
		n, err := strconv.Atoi(field[1:])
		if err != nil || n < 0 || n >= store.WeekHours {
			continue
		}
		b := &slots[n]
		switch field[0] {
		case 'h':
			b.Hour = d.int(val)
		case 'c':
			b.Cost = store.Nanodollars(d.int(val))
		case 'r':
			b.Requests = d.int(val)
		case 'i':
			b.Tokens.Input = d.int(val)
		case 'o':
			b.Tokens.Output = d.int(val)
		case 'w':
			b.Tokens.CacheWrite = d.int(val)
		case 'x':
			b.Tokens.CacheRead = d.int(val)
		case 'M', 'C':
			if n >= store.BurnMinutes {
				continue
			}
			if field[0] == 'M' {
				minutes[n].Minute = d.int(val)
			} else {
				minutes[n].Cost = store.Nanodollars(d.int(val))
			}
		}
	}
	var out []store.Bucket
	for _, b := range slots {
		if b.Requests > 0 && b.Hour > newest-store.WeekHours && b.Hour <= newest {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b store.Bucket) int { return cmp.Compare(a.Hour, b.Hour) })
	var last int64
	for _, m := range minutes {
		if m.Cost != 0 {
			last = max(last, m.Minute)
		}
	}
	var recent []store.Minute
	for _, m := range minutes {
		if m.Cost != 0 && m.Minute > last-store.BurnMinutes {
			recent = append(recent, m)
		}
	}
	slices.SortFunc(recent, func(a, b store.Minute) int { return cmp.Compare(a.Minute, b.Minute) })
	return out, recent
}

// decodeHolds reads the members of a subscription's holds (see
// lua/lib.lua): each a hold's 20 digits followed by a client ID. It returns
// the holds ascending (the set orders them by millisecond only).
func decodeHolds(members []any, d *decoder) []time.Time {
	if len(members) == 0 {
		return nil
	}
	out := make([]time.Time, 0, len(members))
	for _, m := range members {
		s := str(m)
		if len(s) < len(zeroTime) {
			if d.err == nil {
				d.err = fmt.Errorf("bad hold %q", s)
			}
			return nil
		}
		out = append(out, d.time(s[:len(zeroTime)]))
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// reply splits a script's reply into its code ("ok" or why not) and the
// rest.
func reply(op string, v any) (string, []any, error) {
	parts, ok := v.([]any)
	if !ok || len(parts) == 0 {
		return "", nil, errReply(op, v)
	}
	code, ok := parts[0].(string)
	if !ok {
		return "", nil, errReply(op, v)
	}
	return code, parts[1:], nil
}
