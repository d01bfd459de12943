package redaction_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// transcript collects everything the library said, by where it was said.
type transcript struct {
	mu    sync.Mutex
	parts []part
}

type part struct{ where, text string }

func (tr *transcript) add(where string, format string, args ...any) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.parts = append(tr.parts, part{where, fmt.Sprintf(format, args...)})
}

// err adds an error's text, and its %+v and %#v forms, when it is one.
func (tr *transcript) err(where string, err error) {
	if err == nil {
		return
	}
	tr.add(where, "%v\n%+v\n%#v", err, err, err)
}

// values adds v in every form a host might print it: JSON and %v, %+v, %#v.
func (tr *transcript) values(where string, v any) {
	b, err := json.Marshal(v)
	tr.add(where+" (JSON)", "%s %v", b, err)
	tr.add(where+" (%v)", "%v", v)
	tr.add(where+" (%+v)", "%+v", v)
	tr.add(where+" (%#v)", "%#v", v)
}

// syncBuffer is a log's text, safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// leaks returns the first windowSize bytes of secret found in text (the
// whole secret when it is shorter).
func leaks(text, secret string) (string, bool) {
	if len(secret) <= windowSize {
		return secret, strings.Contains(text, secret)
	}
	for i := 0; i+windowSize <= len(secret); i++ {
		if w := secret[i : i+windowSize]; strings.Contains(text, w) {
			return w, true
		}
	}
	return "", false
}

// excerpt returns the text around the first leak.
func excerpt(text, leak string) string {
	i := strings.Index(text, leak)
	return text[max(0, i-200):min(len(text), i+len(leak)+200)]
}
