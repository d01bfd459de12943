//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestMain lets the test binary play the children's roles: the load
// generator runs os.Executable, which under go test is this binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == roleFlag {
		if err := serveRole(os.Args[1:], os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "proxyload child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRun runs the whole program briefly and checks that it measured
// something sane: no error, every figure present, positive where it must
// be, and the targets checked.
func TestRun(t *testing.T) {
	t.Parallel()
	for _, flags := range [][]string{nil, {"-cap"}, {"-bare"}} {
		capped, bare := slices.Contains(flags, "-cap"), slices.Contains(flags, "-bare")
		t.Run(strings.Join(append([]string{"default"}, flags...), ""), func(t *testing.T) {
			args := append([]string{"-rounds", "1", "-n", "20", "-c", "4", "-duration", "200ms", "-warmup", "50ms", "-json"}, flags...)
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr); err != nil {
				t.Fatalf("run: %v\nstderr:\n%s", err, &stderr)
			}
			var res Results
			if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
				t.Fatalf("the output is not JSON: %v\n%s", err, &stdout)
			}
			if len(res.Rounds) != 1 || res.Settings.C != 4 || res.Settings.Cap != capped || res.Settings.Bare != bare {
				t.Errorf("rounds %d, settings %+v: want 1 round, c 4, cap %t, bare %t", len(res.Rounds), res.Settings, capped, bare)
			}
			if !strings.HasPrefix(res.Command, "go run ./internal/proxyload -rounds 1") || res.Machine.Cores < 1 || res.Machine.Go == "" {
				t.Errorf("command %q, machine %+v", res.Command, res.Machine)
			}
			for _, kind := range []string{"json", "sse"} {
				for _, name := range []string{
					"c1.direct_p50_us", "c1.proxy_p50_us", "c1.direct_p99_us", "c1.proxy_p99_us",
					"c1.proxy_cpu_us", "c1.upstream_cpu_us", "c1.client_cpu_us",
					"cN.direct_rps", "cN.proxy_rps", "cN.direct_p50_us", "cN.proxy_p50_us", "cN.proxy_p99_us",
					"cN.proxy_cpu_us", "cN.proxy_cores", "cN.upstream_cores", "cN.client_cores",
				} {
					if v, ok := res.Median[kind+"."+name]; !ok || !(v > 0) {
						t.Errorf("%s.%s = %v (present %t), want > 0", kind, name, v, ok)
					}
				}
				if _, ok := res.Median[kind+".c1.added_p50_us"]; !ok {
					t.Errorf("no %s.c1.added_p50_us", kind)
				}
			}
			if rss, hwm := res.Median["proxy_rss_mb"], res.Median["proxy_hwm_mb"]; !(rss > 1 && hwm >= rss && hwm < 1<<10) {
				t.Errorf("proxy RSS %v MiB, peak %v MiB", rss, hwm)
			}
			if len(res.Targets) != len(targets) {
				t.Errorf("%d targets checked, want %d", len(res.Targets), len(targets))
			}
			if !strings.Contains(stderr.String(), "round 1/1:") {
				t.Errorf("no progress on stderr:\n%s\nstdout:\n%.500s", stderr.String(), stdout.String())
			}
		})
	}
}

// TestTable checks the table's layout on made-up figures.
func TestTable(t *testing.T) {
	t.Parallel()
	f := Figures{"json.c1.added_p50_us": 42, "json.cN.proxy_rps": 17250.4, "json.cN.proxy_vs_direct": 0.2345,
		"proxy_rss_mb": 20, "proxy_hwm_mb": 24.25}
	r := &Results{Command: "go run ./internal/proxyload", Machine: thisMachine(), Settings: Settings{C: 64},
		Rounds: []Figures{f}, Median: f, Targets: checkTargets(f)}
	var b bytes.Buffer
	r.writeTable(&b)
	for _, want := range []string{
		"c=1  added p50 (µs)", " 42 ", "17,250", "20.0 / 24.2",
		"json.c1.added_p50_us     ≤ 100", "json.cN.proxy_rps        ≥ 16,800  17,250  met",
		"c=64 requests/s proxy ÷ direct", "0.234", "json.cN.proxy_vs_direct  ≥ 0.200   0.234   met",
		"command: go run ./internal/proxyload\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, &b)
		}
	}
}

// TestParseInt checks the client's integer parsing.
func TestParseInt(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		base int
		want int64
		ok   bool
	}{
		{"448", 10, 448, true}, {"1a2", 16, 0x1a2, true}, {"FF", 16, 255, true}, {"0", 16, 0, true},
		{"", 10, 0, false}, {"12x", 10, 0, false}, {"ff", 10, 0, false}, {"-1", 10, 0, false},
	} {
		got, err := parseInt([]byte(c.in), c.base)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseInt(%q, %d) = %d, %v; want %d, ok %t", c.in, c.base, got, err, c.want, c.ok)
		}
	}
}
