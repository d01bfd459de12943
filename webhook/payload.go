package webhook

import "github.com/authpool/authpool"

// This file is what a webhook POST carries: its body and its headers.

// PayloadVersion is the Version of the Payload this package
// sends. It changes only if a field changes meaning or goes away; new
// fields may be added to an event without changing it.
const PayloadVersion = 1

// Payload is the body of every webhook POST, as JSON:
//
//	{"version":1,"event":{"id":"evt_…","type":"threshold","time":"2025-…Z",…}}
//
// Event is an Event in its JSON form: "id", "type" and "time" are always
// present; "subscriptionId" and "clientId" when the event concerns one; and
// the one detail its type carries: "threshold" (EventThreshold), "move"
// (EventFailover, EventRotation), "limit" (EventLimited, EventRecovered,
// EventDisabled), "exhausted" (EventExhausted), "credential"
// (EventRefreshFailed) or "unpriced" (EventUnpricedModel). Times
// are RFC 3339 in UTC. A payload never holds a credential.
//
// Each POST carries these headers:
//
//	Content-Type: application/json
//	User-Agent: authpool-webhook/1
//	X-Authpool-Event: <the event's type>
//	X-Authpool-Delivery: <the event's id, the same on every retry>
//	X-Authpool-Signature: sha256=<lowercase hex HMAC-SHA256 of the body>
//
// The signature is keyed by the webhook's secret and computed over the exact
// bytes of the body: a receiver checks it (with Verify, in
// Go) before parsing the body, and de-duplicates by X-Authpool-Delivery,
// since an event whose response was lost is sent again.
type Payload struct {
	Version int            `json:"version"`
	Event   authpool.Event `json:"event"`
}

// The headers of a webhook POST.
const (
	webhookUserAgent       = "authpool-webhook/1"
	webhookEventHeader     = "X-Authpool-Event"
	webhookDeliveryHeader  = "X-Authpool-Delivery"
	webhookSignatureHeader = "X-Authpool-Signature"
	webhookSignaturePrefix = "sha256="
	// webhookDrainLimit bounds how much of a response body is read (and
	// discarded) so that the connection can be reused.
	webhookDrainLimit = 64 << 10
)

// eventInUTC returns a copy of e with its times in UTC, whatever the
// clock's location, and without monotonic readings; e is not changed.
func eventInUTC(e authpool.Event) authpool.Event {
	e.Time = e.Time.UTC()
	if d := e.Threshold; d != nil {
		c := *d
		c.Start, c.End, c.ExhaustsAt = c.Start.UTC(), c.End.UTC(), c.ExhaustsAt.UTC()
		e.Threshold = &c
	}
	if d := e.Limit; d != nil {
		c := *d
		c.Until = c.Until.UTC()
		e.Limit = &c
	}
	if d := e.Exhausted; d != nil {
		c := *d
		c.RetryAt = c.RetryAt.UTC()
		e.Exhausted = &c
	}
	if d := e.Credential; d != nil {
		c := *d
		c.ExpiresAt, c.NewExpiresAt, c.RetryAt = c.ExpiresAt.UTC(), c.NewExpiresAt.UTC(), c.RetryAt.UTC()
		e.Credential = &c
	}
	if d := e.Unpriced; d != nil {
		c := *d
		c.Time = c.Time.UTC()
		e.Unpriced = &c
	}
	return e
}
