package claude

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/authpool/authpool/claude/internal/safetext"
)

// String describes the verdict on one line for logs: the kind, then
// key=value pairs (values from the response quoted where needed), e.g.
//
//	quota status=429 until=2025-11-11T02:00:00Z retry-after=4h33m20s window=7d rejected=5h,7d 5h=100% 7d=100% retry-elsewhere type=rate_limit_error message="..."
func (v Verdict) String() string {
	var b strings.Builder
	b.WriteString(v.Kind.String())
	fmt.Fprintf(&b, " status=%d", v.Status)
	if !v.Until.IsZero() {
		b.WriteString(" until=" + v.Until.UTC().Format(time.RFC3339))
	}
	if v.RetryAfter != 0 {
		b.WriteString(" retry-after=" + v.RetryAfter.String())
	}
	if v.Window != "" {
		b.WriteString(" window=" + logValue(v.Window))
	}
	if v.Family != "" {
		b.WriteString(" family=" + logValue(v.Family))
	}
	if len(v.Rejected) > 0 {
		b.WriteString(" rejected=" + logValue(strings.Join(v.Rejected, ",")))
	}
	for _, name := range [...]string{WindowFiveHour, WindowSevenDay} {
		if w, ok := v.Limits.Unified.Window(name); ok && w.Utilization != nil {
			fmt.Fprintf(&b, " %s=%.0f%%", name, *w.Utilization*100)
		}
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{v.RetryElsewhere, "retry-elsewhere"}, {v.BadCredential, "bad-credential"}, {v.MidStream, "mid-stream"}} {
		if f.on {
			b.WriteString(" " + f.name)
		}
	}
	if v.ErrorType != "" {
		b.WriteString(" type=" + logValue(v.ErrorType))
	}
	if v.ErrorMessage != "" {
		b.WriteString(" message=" + strconv.Quote(safetext.Clip(v.ErrorMessage, 200)))
	}
	if v.RequestID != "" {
		b.WriteString(" request-id=" + logValue(v.RequestID))
	}
	if v.Malformed != nil {
		b.WriteString(" malformed-headers")
	}
	return b.String()
}

// logValue returns s as it is when it is a plain token, else quoted.
func logValue(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.:,-", c) >= 0) {
			return strconv.Quote(s)
		}
	}
	if s == "" {
		return `""`
	}
	return s
}
