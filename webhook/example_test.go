package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/webhook"
)

// A webhook receiver checks each request's signature over the exact body
// bytes before it trusts them, then de-duplicates by X-Authpool-Delivery.
func ExampleVerify() {
	secret := []byte("the webhook's shared secret") // in real life, from the environment

	seen := map[string]bool{} // delivery ids already handled
	receiver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		if !webhook.Verify(secret, body, r.Header.Get("X-Authpool-Signature")) {
			fmt.Println("refused: bad signature")
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		id := r.Header.Get("X-Authpool-Delivery")
		if seen[id] {
			w.WriteHeader(http.StatusOK) // a retry of an event already handled
			return
		}
		seen[id] = true
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil || p.Version != webhook.PayloadVersion {
			http.Error(w, "unknown payload", http.StatusBadRequest)
			return
		}
		fmt.Printf("event %s on %s: %.0f%% of the %s budget\n",
			p.Event.Type, p.Event.SubscriptionID, p.Event.Threshold.Percent, p.Event.Threshold.Window)
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(receiver) // a loopback URL: plain http is allowed
	defer srv.Close()

	// The pool's side, as a pool configured with this webhook sends events.
	hook, err := webhook.New(webhook.Config{
		URL:    srv.URL,
		Secret: authpool.Credential(secret),
	}, srv.Client())
	if err != nil {
		panic(err)
	}
	e := authpool.Event{
		ID:             "evt_5f0c2a9e4b7d4e11a3c8d2f6b9e01a74",
		Type:           authpool.EventThreshold,
		Time:           time.Date(2025, 3, 10, 14, 5, 0, 0, time.UTC),
		SubscriptionID: "max-a",
		Threshold: &authpool.ThresholdDetail{
			Window: "block", Threshold: 0.8, UsedUSD: 112.5, BudgetUSD: 140, Percent: 80.36,
		},
	}
	if err := hook.Notify(context.Background(), e); err != nil {
		panic(err)
	}

	// A forged request, signed with another secret, is refused.
	body := []byte(`{"version":1,"event":{"id":"evt_forged","type":"exhausted"}}`)
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("X-Authpool-Signature", "sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	rec := httptest.NewRecorder()
	receiver.ServeHTTP(rec, req)
	fmt.Println("forged request:", rec.Code)

	// Output:
	// event threshold on max-a: 80% of the block budget
	// refused: bad signature
	// forged request: 401
}
