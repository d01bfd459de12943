package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/authpool/authpool/claude/internal/safetext"
)

// ErrInvalidGrant matches (errors.Is) an answer whose OAuth error code is
// invalid_grant (RFC 6749 §5.2). From Refresh it means the login is gone:
// the refresh token was used already (by another holder of the same
// login), revoked or expired, and only a new login helps. From Exchange it
// means the code was wrong, used or expired.
var ErrInvalidGrant = errors.New("oauth: invalid_grant: the login is no longer valid")

// HTTPError is an answer other than 2xx. Its texts are safe to log: the
// secrets the request carried, and anything that looks like a credential,
// are taken out, and the body is cut to a few hundred bytes.
type HTTPError struct {
	// Op is what was attempted: "exchange", "refresh", "usage" or
	// "profile".
	Op string
	// Status is the HTTP status.
	Status int
	// Code is the error code the body gave: the OAuth "error" string
	// (invalid_grant, invalid_request, ...) or the type of an Anthropic
	// error object (authentication_error, ...); empty when it gave none.
	Code string
	// Body is the body, scrubbed and bounded.
	Body string
}

// Error says what was attempted, the status, the error code and the
// scrubbed body.
func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "oauth: %s: HTTP %d", e.Op, e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Body != "" {
		fmt.Fprintf(&b, ": %s", e.Body)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalidGrant) true for an invalid_grant
// answer.
func (e *HTTPError) Is(target error) bool {
	return target == ErrInvalidGrant && e.Code == "invalid_grant"
}

// maxCode bounds the error code an HTTPError keeps.
const maxCode = 64

// newHTTPError builds the error of an answer with status and body,
// taking secrets out of the body.
func newHTTPError(op string, status int, body []byte, secrets []string) *HTTPError {
	r := safetext.NewRedactor(secrets...)
	text := r.String(strings.TrimSpace(string(body)))
	return &HTTPError{
		Op:     op,
		Status: status,
		Code:   safetext.Clip(r.String(errorCode(body)), maxCode),
		Body:   safetext.Clip(text, maxErrorText),
	}
}

// errorCode returns the error code of an error body: the string "error"
// of an OAuth error (RFC 6749 §5.2), or error.type of an Anthropic error
// object; "" when the body has neither.
func errorCode(body []byte) string {
	var v struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.Error) == 0 {
		return ""
	}
	var code string
	if json.Unmarshal(v.Error, &code) == nil {
		return codeText(code)
	}
	var obj struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(v.Error, &obj) == nil {
		return codeText(obj.Type)
	}
	return ""
}

// codeText returns code if it looks like an error code (letters, digits,
// '_', '-', '.'), else "".
func codeText(code string) string {
	for _, r := range code {
		ok := r == '_' || r == '-' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !ok {
			return ""
		}
	}
	return code
}
