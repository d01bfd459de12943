package transcript

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTranscriptTinyMaxLine checks that a MaxLine shorter than the usage
// marker skips a long line rather than panicking.
func TestTranscriptTinyMaxLine(t *testing.T) {
	t.Parallel()
	long := `{"message":{"usage":{"input_tokens":1}},"x":"` + strings.Repeat("y", 200) + `"}`
	for _, maxLine := range []int{1, 4, 7, 8} {
		t.Run(fmt.Sprint(maxLine), func(t *testing.T) {
			t.Parallel()
			r := txRead(t, map[string][]string{"p/s.jsonl": {long, "{}"}}, Options{MaxLine: maxLine})
			want := Stats{Files: 1, Bytes: int64(len(long) + 4), Lines: 2, UsageLines: 1, Skipped: 1, LongLines: 1}
			if diff := cmp.Diff(want, r.Stats); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
		})
	}
}
