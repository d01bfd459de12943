package e2e_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// addedCaller is the admin API's answer to POST /admin/v1/callers: the
// caller, and its key, shown this once.
type addedCaller struct {
	Caller struct {
		ID     string
		CapUSD float64
	}
	Key string
}

// usageReport is what the test reads of a caller's usage report.
type usageReport struct {
	ID  string
	Cap *struct {
		USD, UsedUSD float64
	}
	Windows []struct {
		Name     string
		Requests int64
		CostUSD  float64
	}
	SessionCount int
}

// week returns the report's window named week.
func (r usageReport) week() (requests int64, cost float64) {
	for _, w := range r.Windows {
		if w.Name == "week" {
			return w.Requests, w.CostUSD
		}
	}
	return -1, -1
}

// addCaller adds a caller through a server's admin API with the body
// given, and returns it with its key (a secret from then on).
func (s *scenario) addCaller(t *testing.T, p *proc, body string) addedCaller {
	t.Helper()
	// Not kept in w.answers: the answer shows the key.
	code, answer := post(t, p.url+"/admin/v1/callers", adminToken, body)
	var added addedCaller
	if code != http.StatusCreated || json.Unmarshal([]byte(answer), &added) != nil || !strings.HasPrefix(added.Key, "apk-") {
		t.Fatalf("POST /admin/v1/callers %s: %d, want 201 with the caller and its key", body, code)
	}
	s.keys = append(s.keys, added.Key)
	return added
}

// usage reads a caller's usage report from a server.
func (s *scenario) usage(t *testing.T, p *proc, id string) usageReport {
	t.Helper()
	var r usageReport
	s.w.getJSON(t, p.url+"/admin/v1/callers/"+id+"/usage", adminToken, http.StatusOK, &r)
	return r
}

// callers: a caller added through the first server's admin API sends
// through every server; each server's usage report, metrics and list show
// its requests, and never its key.
func (s *scenario) callers(t *testing.T) {
	carol := s.addCaller(t, s.servers[0], `{"id": "carol", "capUSD": 100, "capWindow": "5h"}`)
	for i, p := range s.servers {
		c := sdk(p, carol.Key, fmt.Sprintf("session-carol-%d", i))
		if !poll(eventually, func() bool { _, err := c.Messages.New(t.Context(), params); return err == nil }) {
			t.Fatalf("%s does not take carol's key", p.name)
		}
	}
	n := int64(len(s.servers))
	metric := fmt.Sprintf(`authpool_caller_requests{caller="carol",window="week"} %d`, n)
	for _, p := range s.servers {
		var r usageReport
		if !poll(eventually, func() bool { r = s.usage(t, p, "carol"); req, _ := r.week(); return req == n }) {
			t.Errorf("%s: carol's usage report %+v, want %d requests this week", p.name, r, n)
		}
		if _, cost := r.week(); r.ID != "carol" || r.Cap == nil || r.Cap.USD != 100 || cost <= 0 || r.SessionCount != len(s.servers) {
			t.Errorf("%s: carol's usage report %+v", p.name, r)
		}
		if code, metrics := s.w.get(t, p.url+"/metrics", statusToken); code != 200 || !strings.Contains(metrics, metric) {
			t.Errorf("%s: /metrics has no %q", p.name, metric)
		}
		var list struct{ Callers []struct{ ID string } }
		s.w.getJSON(t, p.url+"/admin/v1/callers", adminToken, http.StatusOK, &list)
		if len(list.Callers) != 1 || list.Callers[0].ID != "carol" {
			t.Errorf("%s: the callers are %+v, want carol (the config file's are not listed)", p.name, list.Callers)
		}
		s.w.getJSON(t, p.url+"/status?format=json", statusToken, http.StatusOK, &list)
		if len(list.Callers) != 1 || list.Callers[0].ID != "carol" {
			t.Errorf("%s: the status shows the callers %+v, want carol", p.name, list.Callers)
		}
	}
	s.capAcrossServers(t, s.costOf(t, "carol", n))
}

// costOf returns the cost of one of a caller's n requests, all alike.
func (s *scenario) costOf(t *testing.T, id string, n int64) float64 {
	t.Helper()
	_, cost := s.usage(t, s.servers[0], id).week()
	return cost / float64(n)
}

// capAcrossServers: four clients on each server send for a caller whose
// cap is 8.5 requests' cost, until each is refused for the cap: what the
// upstream answered costs at most one request more than the cap (and at
// least the cap less one request), as each server's usage report says.
func (s *scenario) capAcrossServers(t *testing.T, each float64) {
	limit := 8.5 * each
	dave := s.addCaller(t, s.servers[0], fmt.Sprintf(`{"id": "dave", "capUSD": %.9f, "sessionless": "spread"}`, limit))
	from := s.w.up.Count()
	errs := make(chan error, 4*len(s.servers))
	var wg sync.WaitGroup
	for _, p := range s.servers {
		for range 4 {
			wg.Go(func() { errs <- sendUntilCapped(t, p, dave.Key) })
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	served := s.w.up.Count() - from
	spent := float64(served) * each
	t.Logf("%d clients on %d servers: %d requests sent, $%.6f for a cap of $%.6f ($%.6f a request)",
		4*len(s.servers), len(s.servers), served, spent, limit, each)
	if spent > limit+each+1e-9 || spent < limit-each {
		t.Errorf("the servers sent %d requests ($%.6f) for a cap of $%.6f, $%.6f a request: want the cap give or take one",
			served, spent, limit, each)
	}
	for _, p := range s.servers {
		r := s.usage(t, p, "dave")
		if req, cost := r.week(); req != int64(served) || math.Abs(cost-spent) > 1e-6 || r.Cap == nil || math.Abs(r.Cap.UsedUSD-spent) > 1e-6 {
			t.Errorf("%s: dave's usage report %+v, want %d requests costing $%.6f", p.name, r, served, spent)
		}
	}
}

// sendUntilCapped sends messages with key through a server until it is
// refused for the caller's cap (429 billing_error), sending again after a
// refusal for requests in flight near the cap (429 rate_limit_error).
func sendUntilCapped(t *testing.T, p *proc, key string) error {
	deadline := time.Now().Add(eventually)
	for time.Now().Before(deadline) {
		code, typ, err := message(t, p, key)
		switch {
		case err != nil:
			return err
		case code == http.StatusOK:
		case code == http.StatusTooManyRequests && typ == "billing_error":
			return nil
		case code == http.StatusTooManyRequests && typ == "rate_limit_error":
			time.Sleep(20 * time.Millisecond) // another client's request near the cap ends soon
		default:
			return fmt.Errorf("%s answered %d %s", p.name, code, typ)
		}
	}
	return fmt.Errorf("%s did not refuse the capped caller within %v", p.name, eventually)
}
