package fakeanthropic

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Request is what the server received: one request, as Requests and
// Server.SetRespond see it. Header, Beta and Body are shared with the
// server's record: do not modify them.
type Request struct {
	// Seq numbers requests by arrival, from 1 (not reset by Reset).
	Seq int
	// Method, Path and RawQuery are the request's (the Claude Code CLI
	// sends /v1/messages?beta=true), Host its Host header.
	Method   string
	Path     string
	RawQuery string
	Host     string
	// ContentLength is the request's Content-Length, -1 when it had none
	// (a chunked body). net/http keeps it out of Header.
	ContentLength int64
	// Header is every other header received.
	Header http.Header
	// APIKey is the x-api-key header, and Bearer the token of an
	// Authorization: Bearer header; either may be empty. Check both to
	// see that a caller's credential was replaced.
	APIKey string
	Bearer string
	// Beta lists the anthropic-beta values, every header line split at
	// commas.
	Beta []string
	// Body is the request body.
	Body []byte
	// Model and Stream are the body's model and stream fields.
	Model  string
	Stream bool
	// RequestID is the request-id the server answered with: req_0001,
	// req_0002, ... by Seq, unless the Response set its own.
	RequestID string
	// Status is the status it answered, and MessageID the message id (empty
	// for anything but a message); both are zero while the server is still
	// deciding.
	Status    int
	MessageID string
}

// Credential returns the credential the request carried: APIKey if set,
// else Bearer.
func (r *Request) Credential() string {
	if r.APIKey != "" {
		return r.APIKey
	}
	return r.Bearer
}

// Server is a fake Anthropic upstream, an http.Handler. Each request is
// recorded, then answered with the Response that SetRespond's hook returns,
// else the one Set for its x-api-key, else the one Set for its bearer
// token, else the default (SetDefault; OK(DefaultUsage) until set). Requests
// that are not POST to MessagesPath or CountTokensPath get 405 or 404, and
// bodies that are not a JSON object with a model get 400, all in Anthropic's
// error shape and without consulting the hook or the table.
//
// The zero Server is ready to use. A Server is safe for concurrent use; its
// settings may change while it serves.
type Server struct {
	mu      sync.Mutex
	respond func(*Request) Response
	byCred  map[string]Response
	def     *Response
	reqs    []*Request
	seq     int
	msgs    int
}

// SetDefault sets the response to requests that neither the hook nor the
// table answers.
func (s *Server) SetDefault(r Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.def = &r
}

// Set sets the response to requests carrying credential (as x-api-key or
// as a bearer token).
func (s *Server) Set(credential string, r Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byCred == nil {
		s.byCred = make(map[string]Response)
	}
	s.byCred[credential] = r
}

// SetRespond sets a hook that chooses every response, ahead of the table;
// nil removes it. The hook is called concurrently, without the server's lock
// held, with the request as recorded (Status and MessageID not yet set); it
// must not modify it.
func (s *Server) SetRespond(f func(*Request) Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.respond = f
}

// Requests returns a copy of the requests received since the last Reset, in
// arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.reqs))
	for i, r := range s.reqs {
		out[i] = *r
	}
	return out
}

// Count returns how many requests were received since the last Reset.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// Reset forgets the requests received. The numbering of requests and
// messages goes on (ids are never reused), and the responses set stay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = nil
}

// requestBody is what the server reads of a request body.
type requestBody struct {
	Model  string `json:"model"`
	Stream bool   `json:"stream"`
}

// ServeHTTP records the request and answers it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec, resp := newRequest(r)
	planned := s.enter(rec)
	if resp == nil {
		p := planned()
		resp = &p
	}
	status := s.settle(rec, resp)
	reply(w, r, rec, resp, status)
}

// newRequest records r and reads its body; it returns the failure to
// answer with when the API would refuse the request, else nil.
func newRequest(r *http.Request) (*Request, *Response) {
	body, readErr := io.ReadAll(r.Body)
	rec := &Request{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Host: r.Host, ContentLength: r.ContentLength,
		Header: r.Header.Clone(), Body: body,
		APIKey: r.Header.Get("X-Api-Key"), Bearer: bearer(r.Header), Beta: betas(r.Header),
	}
	var rb requestBody
	jsonErr := json.Unmarshal(body, &rb)
	rec.Model, rec.Stream = rb.Model, rb.Stream

	var resp Response
	switch {
	case r.URL.Path != MessagesPath && r.URL.Path != CountTokensPath:
		resp = failure(http.StatusNotFound, "not_found_error", "Not found: "+r.URL.Path)
	case r.Method != http.MethodPost:
		resp = failure(http.StatusMethodNotAllowed, "invalid_request_error", "Method not allowed: "+r.Method)
	case readErr != nil:
		resp = failure(http.StatusBadRequest, "invalid_request_error", "Could not read the request body: "+readErr.Error())
	case jsonErr != nil:
		resp = failure(http.StatusBadRequest, "invalid_request_error", "The request body is not valid JSON: "+jsonErr.Error())
	case rb.Model == "":
		resp = failure(http.StatusBadRequest, "invalid_request_error", "model: Field required")
	default:
		return rec, nil
	}
	return rec, &resp
}

// enter numbers rec and adds it to the requests received; it returns the
// response planned for it (SetRespond's hook, called without the lock;
// else the credential's, the default or OK with DefaultUsage), as set now.
func (s *Server) enter(rec *Request) func() Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	rec.Seq = s.seq
	rec.RequestID = fmt.Sprintf("req_%04d", rec.Seq)
	s.reqs = append(s.reqs, rec)
	respond, def := s.respond, s.def
	byCred, ok := s.byCred[rec.APIKey]
	if !ok || rec.APIKey == "" {
		byCred, ok = s.byCred[rec.Bearer]
		ok = ok && rec.Bearer != ""
	}
	return func() Response {
		switch {
		case respond != nil:
			return respond(rec)
		case ok:
			return byCred
		case def != nil:
			return *def
		}
		return OK(DefaultUsage)
	}
}

// settle records the response's status and request id in rec, and gives a
// message its id (numbered, unless the response names one); it returns the
// status to send.
func (s *Server) settle(rec *Request, resp *Response) int {
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	message := resp.Body == nil && resp.Error == nil && status < 400 && rec.Path == MessagesPath
	s.mu.Lock()
	defer s.mu.Unlock()
	rec.Status = status
	if id := resp.Header.Get("Request-Id"); id != "" {
		rec.RequestID = id
	}
	if message {
		if resp.ID == "" {
			s.msgs++
			resp.ID = fmt.Sprintf("msg_%04d", s.msgs)
		}
		rec.MessageID = resp.ID
	}
	return status
}

// reply writes the response: its headers, then its body, an error, a
// token count, or a message, streamed if the request asked.
func reply(w http.ResponseWriter, r *http.Request, rec *Request, resp *Response, status int) {
	h := w.Header()
	for k, vs := range resp.Header {
		h[textproto.CanonicalMIMEHeaderKey(k)] = slices.Clone(vs)
	}
	h.Set("Request-Id", rec.RequestID)
	switch {
	case resp.Body != nil:
		writeJSON(w, status, resp.Body)
	case resp.Error != nil || status >= 400:
		e := resp.Error
		if e == nil {
			e = &Error{Type: errorType(status), Message: http.StatusText(status)}
		}
		writeJSON(w, status, errorBody(e, rec.RequestID))
	case r.URL.Path == CountTokensPath:
		writeJSON(w, status, mustJSON(struct {
			InputTokens int64 `json:"input_tokens"`
		}{resp.Usage.TotalInput()}))
	case rec.Stream:
		writeStream(r.Context(), w, status, resp, rec.Model)
	default:
		writeJSON(w, status, messageBody(resp, rec.Model))
	}
}

// failure is a Response with an error body.
func failure(status int, typ, msg string) Response {
	return Response{Status: status, Error: &Error{Type: typ, Message: msg}}
}

// bearer is the token of an Authorization: Bearer header, or "".
func bearer(h http.Header) string {
	a := h.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// betas splits every anthropic-beta header at commas.
func betas(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Anthropic-Beta") {
		for b := range strings.SplitSeq(v, ",") {
			if b = strings.TrimSpace(b); b != "" {
				out = append(out, b)
			}
		}
	}
	return out
}

// errorType is the error type that goes with an HTTP status (docs/formats.md
// §2.3).
func errorType(status int) string {
	switch status {
	case 400:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 402:
		return "billing_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 413:
		return "request_too_large"
	case 429:
		return "rate_limit_error"
	case 504:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	if status < 500 {
		return "invalid_request_error"
	}
	return "api_error"
}

// writeJSON writes a whole body, application/json unless the headers say
// otherwise, with its Content-Length.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeStream writes resp as an SSE stream, flushing the headers and then
// every event, calling resp.BeforeEvent before each.
func writeStream(ctx context.Context, w http.ResponseWriter, status int, resp *Response, model string) {
	h := w.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
	}
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	for _, ev := range streamEvents(resp, model) {
		if resp.BeforeEvent != nil {
			resp.BeforeEvent(ctx, ev.name)
		}
		if ctx.Err() != nil {
			return
		}
		if _, err := w.Write(ev.bytes()); err != nil {
			return
		}
		if err := rc.Flush(); err != nil && err != http.ErrNotSupported {
			return
		}
	}
}
