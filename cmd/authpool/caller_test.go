package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/authpool/authpool/internal/fakeanthropic"
)

// callerServer runs a server of writeConfig, its upstream a fake, and
// returns its URL and the file holding its admin token.
func callerServer(t *testing.T) (string, string) {
	t.Helper()
	up := httptest.NewServer(&fakeanthropic.Server{})
	t.Cleanup(up.Close)
	path := writeConfig(t, "http://127.0.0.1:1", `, "upstream": "`+up.URL+`"`)
	return runServer(t, path).srv.URL(), filepath.Join(filepath.Dir(path), "admin.token")
}

// runOK runs a command that must succeed and returns its output.
func runOK(t *testing.T, args ...string) (string, string) {
	t.Helper()
	env, out, errOut := testEnv(nil, nil)
	if code := run(t.Context(), args, env); code != 0 {
		t.Fatalf("%q: exit %d: %s", args, code, errOut)
	}
	return out.String(), errOut.String()
}

// TestCallerCommands: add prints the new caller's key alone on standard
// output, once; list, usage and status show the caller and its spending
// (never its key); remove removes it.
func TestCallerCommands(t *testing.T) {
	url, tokenFile := callerServer(t)
	srv := []string{"-server", url, "-admin-token-file", tokenFile}
	out, errOut := runOK(t, append([]string{"caller", "add", "ci", "-cap", "20", "-window", "8h", "-rate", "2", "-burst", "5",
		"-sessionless", "spread"}, srv...)...)
	key := strings.TrimSpace(out)
	if !regexp.MustCompile(`^apk-[A-Za-z0-9_-]{43}$`).MatchString(key) || strings.Count(out, "\n") != 1 {
		t.Fatalf("caller add printed %q; want the key alone", out)
	}
	if !strings.Contains(errOut, "caller ci added (cap $20.00 over 8h)") || !strings.Contains(errOut, "shown this once") ||
		strings.Contains(errOut, key) {
		t.Errorf("caller add said %q", errOut)
	}

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/v1/messages",
		strings.NewReader(`{"model": "claude-sonnet-4-5-20250929", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("X-Claude-Code-Session-Id", "s-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("a request with the new key: %d", resp.StatusCode)
	}

	var outputs []string
	out, _ = runOK(t, append([]string{"caller", "list"}, srv...)...)
	outputs = append(outputs, out)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "CALLER  CAP") ||
		!regexp.MustCompile(`^ci +\$20\.00/8h +2/s, burst 5 +spread +2026-`).MatchString(lines[1]) ||
		lines[2] != "1 callers in the store (the config file's are not listed)" {
		t.Errorf("caller list printed:\n%s", out)
	}
	out, _ = runOK(t, append([]string{"caller", "usage", "ci"}, srv...)...)
	outputs = append(outputs, out)
	for _, want := range []string{"caller ci at ", "of its $20.00 cap over 8h used", "WINDOW  START", "\ncap ", "\nweek ",
		"\ns-1 ", "1 sessions this week"} {
		if !strings.Contains(out, want) {
			t.Errorf("caller usage printed no %q:\n%s", want, out)
		}
	}
	out, _ = runOK(t, append([]string{"caller", "usage", "ci", "-json"}, srv...)...)
	outputs = append(outputs, out)
	if !strings.Contains(out, `"id": "ci"`) || !strings.Contains(out, `"requests": 1`) {
		t.Errorf("caller usage -json printed:\n%s", out)
	}
	env, statusOut, errOut2 := testEnv(nil, map[string]string{"AUTHPOOL_STATUS_TOKEN": adminTok})
	if code := run(t.Context(), []string{"status", "-server", url}, env); code != 0 {
		t.Fatalf("status: exit %d: %s", code, errOut2)
	}
	outputs = append(outputs, statusOut.String())
	if !regexp.MustCompile(`\nCALLER +CAP +USED +5H +DAY +WEEK +SESSIONS +LAST ACTIVE +REFUSED\nci +\$20\.00/8h +0% +\$0\.\d+ \(1\) .* 1 +0s ago +0\n1 callers in the store`).
		MatchString(statusOut.String()) {
		t.Errorf("status printed:\n%s", statusOut)
	}
	for _, o := range outputs {
		if strings.Contains(o, key) {
			t.Errorf("an output shows the caller's key:\n%s", o)
		}
	}

	out, _ = runOK(t, append([]string{"caller", "remove", "ci"}, srv...)...)
	if !strings.HasPrefix(out, "caller ci removed") {
		t.Errorf("caller remove printed %q", out)
	}
	out, _ = runOK(t, append([]string{"caller", "list"}, srv...)...)
	if !strings.Contains(out, "0 callers in the store") {
		t.Errorf("caller list after remove printed:\n%s", out)
	}
}

// TestCallerCommandErrors: a wrong command line exits 2 before calling
// the server; what the server refuses exits 1 with its words.
func TestCallerCommandErrors(t *testing.T) {
	url, tokenFile := callerServer(t)
	srv := []string{"-server", url, "-admin-token-file", tokenFile}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"caller"}, 2, "caller: say add, list, remove or usage"},
		{[]string{"caller", "rename"}, 2, `caller: unknown command "rename"`},
		{[]string{"caller", "add"}, 2, "caller add: the caller's id is required"},
		{[]string{"caller", "add", "a", "b", "-server", url}, 2, `one caller at a time: unexpected argument "b"`},
		{[]string{"caller", "add", "a"}, 2, "caller add: -server is required"},
		{[]string{"caller", "list", "a", "-server", url}, 2, `caller list: unexpected argument "a"`},
		{[]string{"caller", "usage", "-server", url}, 2, "caller usage: the caller's id is required"},
		{[]string{"caller", "remove", "a", "-server", url}, 2, "the server's admin token"},
		{[]string{"caller", "list", "-server", "127.0.0.1:8787", "-admin-token-file", tokenFile}, 2, "want the server's URL"},
		{[]string{"caller", "add", "a", "-cap", "lots", "-server", url}, 2, `invalid value "lots" for flag -cap`},
		{append([]string{"caller", "add", "a", "-cap", "-1"}, srv...), 1, "the server answered 400: /capUSD: -1: must be in 0..1e+06"},
		{append([]string{"caller", "add", "a", "-window", "90m"}, srv...), 1, "/capWindow: 1h30m0s: must be whole hours, up to a week"},
		{append([]string{"caller", "add", "a", "-rate", "2"}, srv...), 1, "/rate/burst: 0: must be at least 1"},
		{append([]string{"caller", "add", "alice"}, srv...), 1, "the server answered 409"},
		{append([]string{"caller", "remove", "nope"}, srv...), 1, `the server answered 404: no caller "nope" in the store`},
		{append([]string{"caller", "usage", "nope"}, srv...), 1, "404"},
		{[]string{"caller", "list", "-server", url, "-admin-token-file", filepath.Join(t.TempDir(), "none")}, 1, "-admin-token-file"},
	} {
		env, out, errOut := testEnv(nil, nil)
		if code := run(t.Context(), tc.args, env); code != tc.code || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%q: exit %d, %s; want %d with %q", tc.args, code, errOut, tc.code, tc.want)
		}
		if out.String() != "" {
			t.Errorf("%q printed %q on standard output", tc.args, out)
		}
	}
	wrong := filepath.Join(t.TempDir(), "wrong.token")
	if err := os.WriteFile(wrong, []byte("not-the-admin-token-0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	env, _, errOut := testEnv(nil, nil)
	if code := run(t.Context(), []string{"caller", "list", "-server", url, "-admin-token-file", wrong}, env); code != 1 ||
		!strings.Contains(errOut.String(), "401") {
		t.Errorf("a wrong admin token: exit %d, %s", code, errOut)
	}
}
