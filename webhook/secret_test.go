package webhook

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Tokens some receivers (chat webhooks) put in their URLs: they must not
// reach errors or logs either.
const (
	testPathToken  = "T0PATHTOKEN"
	testQueryToken = "Q0QUERYTOKEN"
)

func TestWebhookSecretNeverSent(t *testing.T) {
	t.Parallel()
	var all []received
	var errs []error
	check := func(name string, respond func(int, http.ResponseWriter, *http.Request), url string) {
		var rc *receiver
		if url == "" {
			rc = newReceiver(t, respond)
			url = rc.srv.URL + "/hook/" + testPathToken + "?key=" + testQueryToken
		}
		n, _ := newTestNotifier(t, url, func(c *Config) { c.MaxAttempts = 3 })
		err := n.Notify(t.Context(), testThresholdEvent())
		if err != nil {
			errs = append(errs, err)
		}
		for _, s := range []string{fmt.Sprint(n), fmt.Sprintf("%v %+v %#v %+v", n, *n, n, n.cfg)} {
			if strings.Contains(s, testWebhookSecret) {
				t.Errorf("%s: the notifier prints its secret: %s", name, s)
			}
		}
		if s := n.String(); strings.Contains(s, testPathToken) || strings.Contains(s, testQueryToken) {
			t.Errorf("%s: String shows the URL's path or query: %s", name, s)
		}
		if rc != nil {
			all = append(all, rc.requests()...)
		}
	}
	check("2xx", nil, "")
	check("404", failFirst(100, 404), "")
	check("500", failFirst(100, 500), "")
	check("429", failFirst(1, 429, "Retry-After", "1"), "")
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	check("refused", nil, closed.URL)

	if len(all) != 7 || len(errs) != 3 {
		t.Fatalf("%d requests, %d errors; the cases did not run as meant", len(all), len(errs))
	}
	for i, r := range all {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s\n", r.method, r.uri)
		_ = r.header.Write(&b)
		b.Write(r.body)
		if strings.Contains(b.String(), testWebhookSecret) {
			t.Errorf("request %d carries the secret:\n%s", i, b.String())
		}
	}
	for _, err := range errs {
		if msg := err.Error(); strings.Contains(msg, testWebhookSecret) ||
			strings.Contains(msg, testPathToken) || strings.Contains(msg, testQueryToken) {
			t.Errorf("error carries the secret or the URL's path or query: %v", err)
		}
	}
}
