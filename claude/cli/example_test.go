package cli_test

import (
	"fmt"
	"time"

	"github.com/authpool/authpool/claude/cli"
)

// A `claude -p --output-format json` run that hit its 5-hour limit: it
// still counts what it cost, and its verdict takes the subscription out
// until the reset its message names.
func ExampleParseResult() {
	out := `{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"api_error":"usage_limit_reached",` +
		`"result":"You've hit your 5-hour limit · resets 12:31pm (UTC)","session_id":"e633","total_cost_usd":0,"modelUsage":{}}`
	r, err := cli.ParseResult([]byte(out))
	if err != nil {
		panic(err)
	}
	v := r.Verdict(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	fmt.Println(r.IsError, r.APIErrorStatus, v.Kind, "until", v.Until.Format("15:04"))
	// Output:
	// true 429 quota until 12:32
}
