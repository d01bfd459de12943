package redisstore

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// luaLess is lua/lib.lua's lt: two 20-digit times compared as two 10-digit
// numbers.
func luaLess(a, b string) bool {
	x, _ := strconv.ParseUint(a[:10], 10, 64)
	y, _ := strconv.ParseUint(b[:10], 10, 64)
	if x != y {
		return x < y
	}
	x, _ = strconv.ParseUint(a[10:], 10, 64)
	y, _ = strconv.ParseUint(b[10:], 10, 64)
	return x < y
}

// TestTimeEncoding checks that times survive encoding to the nanosecond and
// that the encodings, compared as the scripts compare them, keep the times'
// order, the zero time first.
func TestTimeEncoding(t *testing.T) {
	base := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	times := []time.Time{
		{},
		time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(-1, 0),
		time.Unix(0, -1),
		time.Unix(0, 0),
		time.Unix(0, 1),
		base.Add(-time.Nanosecond),
		base,
		base.Add(time.Nanosecond),
		base.Add(time.Second - time.Nanosecond),
		base.Add(time.Second),
		time.Date(2200, 1, 1, 0, 0, 0, 0, time.FixedZone("east", 3600)),
	}
	for i, tm := range times {
		enc := encTime(tm)
		if len(enc) != len(zeroTime) {
			t.Fatalf("encTime(%v) = %q, want %d digits", tm, enc, len(zeroTime))
		}
		got, err := decTime(enc)
		if err != nil || !got.Equal(tm) {
			t.Errorf("decTime(encTime(%v)) = %v, %v", tm, got, err)
		}
		for j, other := range times {
			if got, want := luaLess(enc, encTime(other)), i < j; got != want {
				t.Errorf("lt(%v, %v) = %v, want %v", tm, other, got, want)
			}
		}
	}
	if encTimeOrNone(time.Time{}) != "" || encTimeOrNone(base) != encTime(base) {
		t.Errorf("encTimeOrNone: zero is %q, base is %q", encTimeOrNone(time.Time{}), encTimeOrNone(base))
	}
	for _, bad := range []any{"123", "x0000000000000000000", int64(5)} {
		if _, err := decTime(bad); err == nil {
			t.Errorf("decTime(%v) accepted it", bad)
		}
	}
}

// redisReply is an error reply from the server.
type redisReply string

func (e redisReply) Error() string { return string(e) }
func (redisReply) RedisError()     {}

// TestUnavailable checks which errors make ErrUnavailable: those without a
// reply (network, pool, closed client) and the replies of a server that
// cannot serve now, but not other replies.
func TestUnavailable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true},
		{io.EOF, true},
		{redis.ErrClosed, true},
		{fmt.Errorf("wrapped: %w", io.ErrUnexpectedEOF), true},
		{redisReply("LOADING Redis is loading the dataset in memory"), true},
		{redisReply("BUSY Redis is busy running a script"), true},
		{redisReply("CLUSTERDOWN The cluster is down"), true},
		{redisReply("READONLY You can't write against a read only replica."), true},
		{redisReply("ERR Error running script: bad"), false},
		{redisReply("OOM command not allowed when used memory > 'maxmemory'"), false},
		{redis.Nil, false},
	} {
		if got := unavailable(tc.err); got != tc.want {
			t.Errorf("unavailable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestHonoursDeadlines checks that a go-redis client is known to bound its
// I/O by a context's deadline exactly when it was made with
// ContextTimeoutEnabled.
func TestHonoursDeadlines(t *testing.T) {
	for _, on := range []bool{false, true} {
		clients := []Client{
			redis.NewClient(&redis.Options{ContextTimeoutEnabled: on}),
			redis.NewClusterClient(&redis.ClusterOptions{ContextTimeoutEnabled: on}),
			redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}, ContextTimeoutEnabled: on}),
		}
		for _, c := range clients {
			if got := honoursDeadlines(c); got != on {
				t.Errorf("honoursDeadlines(%T with ContextTimeoutEnabled %v) = %v", c, on, got)
			}
			_ = c.(io.Closer).Close()
		}
	}
}

// TestScriptsLoad checks that every script is embedded with the library
// before it, and that no script lists or scans keys.
func TestScriptsLoad(t *testing.T) {
	all := []*script{scriptCreate, scriptUpdate, scriptStatus, scriptLimit, scriptReported, scriptDelete, scriptGet,
		scriptList, scriptTouch, scriptAssign, scriptRelease, scriptSessions, scriptUsage, scriptClaim}
	var hashes []string
	for _, sc := range all {
		if len(sc.hash) != 40 || len(sc.src) == 0 {
			t.Errorf("script %s: hash %q, %d bytes of source", sc.name, sc.hash, len(sc.src))
		}
		src := strings.ToLower(sc.src)
		for _, banned := range []string{"'keys'", "'scan'", `"keys"`, `"scan"`} {
			if strings.Contains(src, banned) {
				t.Errorf("script %s calls %s", sc.name, banned)
			}
		}
		hashes = append(hashes, sc.hash)
	}
	slices.Sort(hashes)
	if len(slices.Compact(hashes)) != len(all) {
		t.Errorf("two scripts have the same source")
	}
}
