package proxy

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/bounds"
)

// This file makes the request a Transport sends upstream: the caller's,
// with the subscription's credential in place of the caller's, and the
// model its body names.

// outgoing returns the request as sent on a's subscription: a copy (or, in
// place, req itself) with the subscription's credential in place of the
// caller's. A retry, and a Proxy's first attempt, get a fresh body from
// GetBody.
func outgoing(req *http.Request, a authpool.Allocation, clientHeader string, attempt int, inPlace bool) (*http.Request, error) {
	out := req
	if !inPlace {
		out = req.Clone(req.Context())
	}
	// A retry sends the body again, from GetBody. So does a Proxy's first
	// attempt: ReverseProxy wraps the body the Proxy read into memory, and
	// net/http, no longer seeing it in memory, would write the request's
	// headers and its body in two syscalls rather than one.
	if attempt > 0 || inPlace && req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("claude: transport: the body to send again: %w", err)
		}
		out.Body = body
	}
	if clientHeader != "" {
		out.Header.Del(clientHeader)
	}
	// The usage is read on the way through: let the base transport ask for
	// gzip itself, so that it hands over the body decoded.
	out.Header.Del("Accept-Encoding")
	cred := a.Credential.Reveal()
	betas := out.Header.Values("Anthropic-Beta")
	if a.Kind == authpool.KindAPI {
		out.Header.Del("Authorization")
		out.Header.Set("X-Api-Key", cred)
		if slices.ContainsFunc(betas, func(v string) bool { return strings.Contains(v, OAuthBeta) }) {
			// A caller logged in to a subscription asks for the OAuth beta;
			// an API key must not.
			if rest := withoutBeta(betas, OAuthBeta); rest != "" {
				out.Header.Set("Anthropic-Beta", rest)
			} else {
				out.Header.Del("Anthropic-Beta")
			}
		}
		return out, nil
	}
	out.Header.Del("X-Api-Key")
	out.Header.Set("Authorization", "Bearer "+cred)
	if rest := withoutBeta(betas, OAuthBeta); rest != "" {
		out.Header.Set("Anthropic-Beta", rest+","+OAuthBeta)
	} else {
		out.Header.Set("Anthropic-Beta", OAuthBeta)
	}
	return out, nil
}

// withoutBeta returns the anthropic-beta values joined, without beta.
func withoutBeta(values []string, beta string) string {
	var all []string
	for _, v := range values {
		for b := range strings.SplitSeq(v, ",") {
			if b = strings.TrimSpace(b); b != "" && b != beta {
				all = append(all, b)
			}
		}
	}
	return strings.Join(all, ",")
}

// requestModel returns the model a request is for: the top-level "model"
// of its JSON body, read from a copy of the body (GetBody) so that the
// request is untouched; "" when it does not say. The first 16 KiB answer
// for a body that names its model first (Claude Code); one that names it
// after its messages (the Go and Python SDKs) is read whole.
func (t *Transport) requestModel(req *http.Request) string {
	if req.GetBody == nil || req.Body == nil || req.Body == http.NoBody {
		return ""
	}
	body, err := req.GetBody()
	if err != nil {
		return ""
	}
	defer body.Close()
	buf, _ := t.heads.Get().(*[]byte)
	if buf == nil {
		b := make([]byte, 16<<10)
		buf = &b
	}
	defer t.heads.Put(buf)
	n, err := io.ReadFull(body, *buf)
	m, known := topLevelModel((*buf)[:n])
	if known || err != nil {
		return m // found, not there, or the whole body read
	}
	rest, err := io.ReadAll(io.LimitReader(body, DefaultMaxBody))
	if err != nil {
		return ""
	}
	m, _ = topLevelModel(append(slices.Clip((*buf)[:n]), rest...))
	return m
}

// modelField returns the top-level "model" member's string of a JSON
// object's text, "" when it names none (see topLevelModel).
func modelField(b []byte) string {
	m, _ := topLevelModel(b)
	return m
}

// topLevelModel returns the top-level "model" member's string of a JSON
// object's text, skipping the other members' values (a tool's input may
// name a "model" of its own), and whether that is known: false when the
// text ends first. A model that is not a plain string (no escapes) of
// printable UTF-8, at most 256 bytes, as the pool takes a model, or text
// that is not a JSON object, names none. It skips values by their
// brackets and quotes rather than decoding them: on a 125 KB body in the
// SDKs' order, encoding/json's Decoder (each other member decoded into a
// RawMessage) takes 15 times as long, 0.8 ms, eight times the proxy's CPU
// budget for a whole request (BenchmarkRequestModel).
func topLevelModel(b []byte) (string, bool) {
	i := skipSpace(b, 0)
	if i < len(b) && b[i] != '{' {
		return "", true
	}
	for i++; ; i++ { // past '{' or ','
		i = skipSpace(b, i)
		if i < len(b) && b[i] != '"' {
			return "", true // '}', or not JSON
		}
		end := stringEnd(b, i)
		if end < 0 {
			return "", false
		}
		key := b[i+1 : end-1]
		if i = skipSpace(b, end); i < len(b) && b[i] != ':' {
			return "", true
		}
		i = skipSpace(b, i+1)
		if string(key) == "model" {
			if end = stringEnd(b, i); end < 0 {
				return "", i < len(b) && b[i] != '"'
			}
			if v := string(b[i+1 : end-1]); strings.IndexByte(v, '\\') < 0 && bounds.CheckText("model", v, true) == nil {
				return v, true
			}
			return "", true
		}
		if i = skipSpace(b, valueEnd(b, i)); i >= len(b) {
			return "", false
		}
		if b[i] != ',' {
			return "", true
		}
	}
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space (len(b) when there is none).
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string that starts at
// b[i], or -1 when b[i] starts none or b ends first.
func stringEnd(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	for j := i + 1; ; j++ {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		escapes := 0
		for b[j-1-escapes] == '\\' {
			escapes++
		}
		if escapes%2 == 0 {
			return j + 1
		}
	}
}

// valueEnd returns the index just past the JSON value that starts at
// b[i] (for a number, true, false or null: of the ',' or '}' after it),
// or len(b) when b ends first.
func valueEnd(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			if i = stringEnd(b, i); i < 0 {
				return len(b)
			}
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			switch depth--; {
			case depth < 0:
				return i // the end of the object the value is in
			case depth == 0:
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return len(b)
}
