package soak

import (
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/webhook"
)

// slowHook is a webhook receiver that takes delay to answer each delivery,
// so that the pools' notification queues fill and drop. It checks each
// delivery's signature and payload, and counts; it keeps nothing per
// delivery, so its memory does not grow with the run.
type slowHook struct {
	secret []byte
	delay  time.Duration

	received atomic.Int64 // deliveries answered 204
	bad      atomic.Int64 // refused: bad signature, bad payload, or the id header not the event's
	canceled atomic.Int64 // the sender gave up while we waited
	byType   [8]atomic.Int64
}

// eventTypes lists the event types in the order of slowHook.byType.
var eventTypes = []authpool.EventType{authpool.EventThreshold, authpool.EventFailover, authpool.EventRotation,
	authpool.EventLimited, authpool.EventRecovered, authpool.EventDisabled, authpool.EventExhausted}

func (h *slowHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || !webhook.Verify(h.secret, body, r.Header.Get("X-Authpool-Signature")) {
		h.bad.Add(1)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil || p.Version != webhook.PayloadVersion ||
		p.Event.ID == "" || p.Event.ID != r.Header.Get("X-Authpool-Delivery") {
		h.bad.Add(1)
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	timer := time.NewTimer(h.delay)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-r.Context().Done():
		h.canceled.Add(1)
		return
	}
	for i, t := range eventTypes {
		if p.Event.Type == t {
			h.byType[i].Add(1)
		}
	}
	h.received.Add(1)
	w.WriteHeader(http.StatusNoContent)
}
