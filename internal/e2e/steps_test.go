package e2e_test

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/authpool/authpool/internal/fakeanthropic"
	"github.com/authpool/authpool/internal/fakeoauth"
)

// statusJSON is what the test reads of /status?format=json.
type statusJSON struct {
	Subscriptions []struct {
		ID     string
		Status struct{ State string }
		Week   struct {
			Requests int64
			CostUSD  float64
		}
	}
	Sessions []struct{ ClientID, SubscriptionID string }
}

// observe: every server's status (HTML and JSON) and metrics show max-a
// with the requests of all the servers sharing the store, and its request
// log has a line for each request it served, with caller, subscription,
// status, tokens and cost.
func (s *scenario) observe(t *testing.T) {
	want := int64(s.w.up.Count())  // every request so far was answered 200
	sessions := 2 * len(s.servers) // alice's and bob's on each
	metric := fmt.Sprintf(`authpool_subscription_requests{subscription="max-a",window="week"} %d`, want)
	for _, p := range s.servers {
		code, html := s.w.get(t, p.url+"/status", statusToken)
		if code != 200 || !strings.Contains(html, "<html") || !strings.Contains(html, "max-a") {
			t.Errorf("%s: /status: %d, want the HTML page with max-a", p.name, code)
		}
		var st statusJSON
		ok := poll(eventually, func() bool {
			st = statusJSON{}
			s.w.getJSON(t, p.url+"/status?format=json", statusToken, 200, &st)
			return len(st.Subscriptions) == 1 && st.Subscriptions[0].Week.Requests == want && len(st.Sessions) == sessions
		})
		if !ok || st.Subscriptions[0].ID != "max-a" || st.Subscriptions[0].Status.State != "active" || st.Subscriptions[0].Week.CostUSD <= 0 {
			t.Errorf("%s: /status?format=json: %+v, want max-a active with %d requests this week and %d sessions", p.name, st, want, sessions)
		}
		var metrics string
		if !poll(eventually, func() bool {
			var code int
			code, metrics = s.w.get(t, p.url+"/metrics", statusToken)
			return code == 200 && strings.Contains(metrics, metric)
		}) {
			t.Errorf("%s: /metrics has no %q:\n%s", p.name, metric, metrics)
		}
		if code, _ := s.w.get(t, p.url+"/metrics", adminToken); code != 200 {
			t.Errorf("%s: /metrics with the admin token: %d", p.name, code)
		}
		s.checkRequestLog(t, p)
	}
}

// requestLine is what the test reads of a request log line.
type requestLine struct {
	Msg, Path, Caller, Session, Subscription, Model string
	Status                                          int
	Tokens                                          struct{ Output int64 }
	CostUSD                                         float64
}

// requestLines returns the request log lines of a server's standard error.
func requestLines(t *testing.T, p *proc) []requestLine {
	t.Helper()
	var out []requestLine
	for line := range strings.Lines(p.stderr.String()) {
		var l requestLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("%s logged a line that is not JSON: %q", p.name, line)
		}
		if l.Msg == "request" {
			out = append(out, l)
		}
	}
	return out
}

// checkRequestLog: the server logged each message it answered: alice's
// two (priced), bob's turn as Claude Code, all on max-a.
func (s *scenario) checkRequestLog(t *testing.T, p *proc) {
	t.Helper()
	count := func() map[string]int {
		n := map[string]int{}
		for _, l := range requestLines(t, p) {
			if l.Status == 200 && l.Path == "/v1/messages" && l.Subscription == "max-a" && l.Session != "" &&
				l.Tokens.Output == fakeanthropic.DefaultUsage.Output && (l.CostUSD > 0 || l.Caller != "alice") {
				n[l.Caller]++
			}
		}
		return n
	}
	if !poll(eventually, func() bool { n := count(); return n["alice"] == 2 && n["bob"] == 1 }) {
		t.Errorf("%s's request log has, by caller, %v lines of answered messages, want alice 2 and bob 1", p.name, count())
	}
}

// refresh: the imported token, about to expire, is refreshed once across
// the servers (one refresh grant at the fake, with the imported refresh
// token); every server serves with the new token, before and after the
// old one's expiry.
func (s *scenario) refresh(t *testing.T) {
	if !poll(time.Until(s.expiresAt)+eventually, func() bool { return s.w.oauth.Count("refresh") >= 1 }) {
		t.Fatal("the expiring token was not refreshed")
	}
	s.refreshedAt = time.Now()
	old := map[string]bool{s.pkce: true, s.expiring.AccessToken: true}
	for i, p := range s.servers {
		alice := sdk(p, keyAlice, fmt.Sprintf("session-refresh-%d", i))
		var cred string
		if !poll(eventually, func() bool {
			_, err := alice.Messages.New(t.Context(), params)
			cred = s.w.lastUpstream(t)
			return err == nil && !old[cred]
		}) {
			t.Fatalf("%s does not serve with a new token", p.name)
		}
		if s.refreshed == "" {
			s.refreshed = cred
		} else if cred != s.refreshed {
			t.Errorf("%s serves with another token than %s", p.name, s.servers[0].name)
		}
	}
	if !strings.HasPrefix(s.refreshed, "sk-ant-oat01-fake-") || !s.w.live(t, s.refreshed) {
		t.Errorf("the servers serve with a token the fake did not issue")
	}
	var grants []string
	for _, r := range s.w.oauth.Requests() {
		var body struct {
			GrantType    string `json:"grant_type"`
			RefreshToken string `json:"refresh_token"`
		}
		if r.Path == fakeoauth.TokenPath && json.Unmarshal(r.Body, &body) == nil && body.GrantType == "refresh_token" {
			grants = append(grants, body.RefreshToken)
		}
	}
	if len(grants) != 1 || grants[0] != s.expiring.RefreshToken {
		t.Errorf("%d refresh grants, want one with the imported refresh token", len(grants))
	}
	// The old token's expiry passes, and two more rebalances of each
	// server: nothing to wait for but time, to see that no other refresh
	// happens.
	time.Sleep(time.Until(later(s.expiresAt, s.refreshedAt.Add(2*rebalanceEvery)).Add(500 * time.Millisecond)))
	if n := s.w.oauth.Count("refresh"); n != 1 {
		t.Errorf("refreshed %d times, want once across the servers", n)
	}
	for _, p := range s.servers {
		c := sdk(p, keyAlice, "session-after-expiry")
		if _, err := c.Messages.New(t.Context(), params); err != nil {
			t.Errorf("%s after the old token's expiry: %v", p.name, err)
		} else if s.w.lastUpstream(t) != s.refreshed {
			t.Errorf("%s after the old token's expiry: not the refreshed token", p.name)
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// sigterm: SIGTERM while a stream is held upstream before message_stop:
// the server stops accepting, the stream completes, the process exits 0
// within the grace; the other servers go on serving, and stop as cleanly.
func (s *scenario) sigterm(t *testing.T) {
	p := s.last()
	hold := fakeanthropic.NewHold("message_stop")
	s.w.up.SetDefault(fakeanthropic.Response{Usage: fakeanthropic.DefaultUsage, BeforeEvent: hold.Wait})
	t.Cleanup(func() { hold.Release(); s.w.up.SetDefault(fakeanthropic.OK(fakeanthropic.DefaultUsage)) })
	done := make(chan streamed, 1)
	go func() { done <- stream(t, sdk(p, keyAlice, "session-sigterm")) }()
	select {
	case <-hold.Reached():
	case <-time.After(eventually):
		t.Fatal("the stream did not reach message_stop upstream")
	}
	signaled := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, "server: stopping", eventually)
	addr := strings.TrimPrefix(p.url, "http://")
	if !poll(eventually, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	}) {
		t.Errorf("%s still accepts connections after SIGTERM", p.name)
	}
	select {
	case <-p.done:
		t.Fatalf("%s exited with a stream in flight", p.name)
	default:
	}
	hold.Release()
	select {
	case st := <-done:
		if !st.complete() {
			t.Errorf("the stream across SIGTERM: events %v, %v; want it complete to message_stop", st.events, st.err)
		}
	case <-time.After(shutdownGrace):
		t.Fatal("the stream did not end")
	}
	if code := p.wait(t, shutdownGrace); code != 0 {
		t.Errorf("%s exited %d, want 0", p.name, code)
	}
	if took := time.Since(signaled); took > shutdownGrace || strings.Contains(p.stderr.String(), "shutdown grace passed") ||
		!strings.Contains(p.stderr.String(), "server: stopped") {
		t.Errorf("%s took %v to stop, over the grace or without saying it stopped", p.name, took)
	}
	s.w.up.SetDefault(fakeanthropic.OK(fakeanthropic.DefaultUsage))
	for _, q := range s.servers[:len(s.servers)-1] {
		c := sdk(q, keyBob, "session-after-stop")
		if _, err := c.Messages.New(t.Context(), params); err != nil {
			t.Errorf("%s, once %s stopped: %v", q.name, p.name, err)
		}
		q.stop(t, exitTimeout)
	}
}

// redaction: no secret in what the servers and the logins printed or
// logged, in the answers of the server's own endpoints, or in the store.
func (s *scenario) redaction(t *testing.T) {
	texts := map[string]string{"the answers of /status, /metrics, the probes and the admin API": s.w.answers.String()}
	for _, p := range s.servers {
		texts[p.name+"'s output"] = p.output()
	}
	for i, p := range s.w.logins {
		texts[fmt.Sprintf("login %d's output", i+1)] = p.output()
	}
	if s.store != nil {
		texts["the Redis store"] = s.store.dump(t)
	}
	for what, text := range texts {
		if text == "" {
			t.Errorf("%s is empty: nothing to look at", what)
		}
		for _, secret := range append(secrets, s.keys...) {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows the secret %q", what, secret)
			}
		}
		if strings.Contains(text, "DATA RACE") {
			t.Errorf("%s reports a data race", what)
		}
	}
}
