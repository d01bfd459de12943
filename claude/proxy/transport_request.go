package proxy

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/authpool/authpool"
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

// requestModel returns the model a request is for: the "model" of its JSON
// body, read from a copy of the body (GetBody) so that the request is
// untouched; "" when it does not say.
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
	n, _ := io.ReadFull(body, *buf)
	return modelField((*buf)[:n])
}

// modelField finds the "model" member's string in a JSON object's text
// (the SDKs and Claude Code write it before the messages). An escaped
// "model" inside a string is not a member.
func modelField(b []byte) string {
	const key = `"model"`
	for from := 0; ; {
		i := bytes.Index(b[from:], []byte(key))
		if i < 0 {
			return ""
		}
		i += from
		from = i + len(key)
		if i > 0 && b[i-1] == '\\' {
			continue
		}
		rest := bytes.TrimLeft(b[from:], " \t\r\n")
		if len(rest) == 0 || rest[0] != ':' {
			continue
		}
		rest = bytes.TrimLeft(rest[1:], " \t\r\n")
		if len(rest) == 0 || rest[0] != '"' {
			continue
		}
		end := bytes.IndexByte(rest[1:], '"')
		if end < 0 || end > 256 {
			return ""
		}
		return string(rest[1 : 1+end])
	}
}
