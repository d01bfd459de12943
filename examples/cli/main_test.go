package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/configfile"
)

// config is the example config, from this directory.
const config = "../../configfile/testdata/pool.json"

// decoy is a credential in the program's environment: the CLI must not get
// it.
const decoy = "sk-ant-api03-decoy-of-the-environment-0000"

// hash is how the fake claude names a value.
func hash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:8])
}

// buildFakeClaude builds the fake claude of package claude's tests into
// dir, and returns its path.
func buildFakeClaude(t *testing.T, dir string) string {
	t.Helper()
	fixtures, err := filepath.Abs("../../claude/cli/testdata/cli")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "claude")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", bin, "-ldflags=-X 'main.fixtureDir="+fixtures+"'", "../../claude/cli/testdata/fakeclaude")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the fake claude: %v\n%s", err, out)
	}
	return bin
}

// TestRun runs the example against the fake claude, which answers every
// prompt but those on the Max 20x, which has hit its 5-hour limit: the
// clients that land there run again elsewhere, and the Max 20x is limited
// until the reset the CLI named.
func TestRun(t *testing.T) {
	bin := buildFakeClaude(t, t.TempDir())
	f, err := configfile.Load(config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.Config
	creds := map[string]string{} // hash → subscription
	secrets := []string{decoy, cfg.Fallback.Credential.Reveal()}
	for _, s := range cfg.Subscriptions {
		creds[hash(s.Credential.Reveal())] = s.ID
		secrets = append(secrets, s.Credential.Reveal())
	}
	creds[hash(cfg.Fallback.Credential.Reveal())] = authpool.FallbackID
	var limited string
	for _, s := range cfg.Subscriptions {
		if s.Kind == authpool.KindMax20x {
			limited = s.ID
			t.Setenv("FAKECLAUDE_MODES", hash(s.Credential.Reveal())+"=quota")
		}
	}
	t.Setenv("ANTHROPIC_API_KEY", decoy)
	t.Setenv("CLAUDE_CODE_OAUTH_TOKEN", decoy)

	for _, tc := range []struct {
		name   string
		stream bool
		until  string // when the Max 20x is back
	}{
		// The json result says "resets 12:31pm (UTC)": the next 12:31
		// UTC, to the end of the minute.
		{"json", false, `\d{4}-\d\d-\d\d 12:32:00`},
		// The stream's rate_limit_event says 2026-11-26 12:31:29 UTC, now
		// past: the pool holds the Max 20x for claude.MinQuotaPause.
		{"stream-json", true, `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			report := filepath.Join(t.TempDir(), "report.jsonl")
			t.Setenv("FAKECLAUDE_REPORT", report)
			var out, logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			if err := run(context.Background(), &out, logger, options{config: config, claude: bin, stream: tc.stream}); err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			got := out.String()
			t.Log("\n" + got)

			for _, want := range []string{
				"CLIENT  RAN ON", "SUBSCRIPTION  KIND    STATUS",
				"7 runs, 0 failed, $0.002548 in all.", // 7 × the captured run's $0.000364
				limited + " → ", "(after quota on " + limited + ")",
			} {
				if !strings.Contains(got, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			if !regexp.MustCompile(`(?m)^` + limited + ` +max20x +limited until ` + tc.until + ` UTC +\$0\.000000$`).MatchString(got) {
				t.Errorf("the output does not show %s limited until %s UTC", limited, tc.until)
			}
			for _, c := range []string{"alice", "bob", "carol", "dave", "erin"} {
				if !regexp.MustCompile(`(?m)^` + c + ` .* ok +"Hello from fake upstream\."`).MatchString(got) {
					t.Errorf("no successful run of %s", c)
				}
			}
			for _, secret := range secrets {
				for what, text := range map[string]string{"output": got, "log": logs.String()} {
					if strings.Contains(text, secret) {
						t.Errorf("the %s shows the credential %q", what, secret)
					}
				}
			}

			// Every run of the CLI got one of the pool's credentials, in
			// the variable of its kind, and never the environment's.
			data, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			runs := 0
			for sc := bufio.NewScanner(bytes.NewReader(data)); sc.Scan(); runs++ {
				var r struct {
					Claude map[string]string `json:"claude"`
				}
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					t.Fatal(err)
				}
				oauth, key := r.Claude["CLAUDE_CODE_OAUTH_TOKEN"], r.Claude["ANTHROPIC_API_KEY"]
				switch {
				case oauth != "" && key != "":
					t.Errorf("run %d got both CLAUDE_CODE_OAUTH_TOKEN and ANTHROPIC_API_KEY", runs+1)
				case oauth == hash(decoy) || key == hash(decoy):
					t.Errorf("run %d got the environment's credential", runs+1)
				case creds[oauth+key] == "":
					t.Errorf("run %d got no credential of the pool", runs+1)
				case (key != "") != (creds[key] == authpool.FallbackID):
					t.Errorf("run %d got %s's credential in the wrong variable", runs+1, creds[oauth+key])
				}
			}
			if runs < 8 {
				t.Errorf("%d runs of the CLI; want 7 and a retry at least", runs)
			}
		})
	}
}
