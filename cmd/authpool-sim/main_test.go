package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRunTrace(t *testing.T) {
	t.Parallel()
	svg := filepath.Join(t.TempDir(), "out.svg")
	var out bytes.Buffer
	err := run(t.Context(), []string{"-trace", "../../claude/transcript/testdata/transcripts", "-sizes", "1-2",
		"-policies", "default,eager", "-svg", svg}, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"workload ../../claude/transcript/testdata/transcripts:", "default: 1 subscriptions meet every target",
		"eager: 1 subscriptions meet every target", "with 1 subscriptions ($0.00 on the fallback)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if b, err := os.ReadFile(svg); err != nil || !bytes.HasPrefix(b, []byte("<svg ")) {
		t.Errorf("the chart: %v, %.40q", err, b)
	}
}

func TestParseSizes(t *testing.T) {
	t.Parallel()
	got, err := parseSizes("5-7,2,6")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{2, 5, 6, 7}, got); diff != "" {
		t.Errorf("sizes (-want +got):\n%s", diff)
	}
}

func TestBadFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-sizes", "0"}, `-sizes: "0": want numbers from 1 to 1000`},
		{[]string{"-sizes", "8-3"}, `-sizes: "8-3"`},
		{[]string{"-policies", "nope"}, `-policies: unknown policy "nope" (known: default,`},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-trace", t.TempDir()}, "no usage"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := run(t.Context(), tt.args, &out, &out)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one saying %q", tt.args, err, tt.want)
		}
	}
}
