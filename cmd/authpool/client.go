package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/authpool/authpool"
)

// requestTimeout bounds a request to a server.
const requestTimeout = 30 * time.Second

// serverClient talks to a running server with a bearer token.
type serverClient struct {
	base  string
	token string
	http  *http.Client
}

func newServerClient(base, token string) (serverClient, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return serverClient{}, usagef("-server %q: want the server's URL, such as http://127.0.0.1:8787", base)
	}
	return serverClient{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: requestTimeout}}, nil
}

// serverError is a server's error answer.
type serverError struct {
	status int
	msg    string
}

func (e *serverError) Error() string {
	return fmt.Sprintf("the server answered %d: %s", e.status, e.msg)
}

// do sends a request with body as JSON (none when nil) and decodes a 2xx
// answer into out (when not nil); another answer is a *serverError with
// the server's message.
func (c serverClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
			msg = e.Error.Message
		}
		if len(msg) > 1024 {
			msg = msg[:1024] + "..."
		}
		return &serverError{status: resp.StatusCode, msg: msg}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// tokenFrom returns a token: the file's (trimmed), else the variable's,
// else fallback; "" when none.
func tokenFrom(file, variable string, env environment, fallback authpool.Credential) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	if v := env.getenv(variable); v != "" {
		return v, nil
	}
	return fallback.Reveal(), nil
}

// storeThroughServer writes the login through a server's admin API: the
// credential of the subscription, or, when the pool lacks it and -kind is
// given, the subscription.
func storeThroughServer(ctx context.Context, o loginOptions, t authpool.Token, env environment) (bool, error) {
	c, err := o.serverClient(env)
	if err != nil {
		return false, err
	}
	// The tokens revealed, to travel: authpool.Token's JSON hides them.
	cred := map[string]any{"access": t.Access.Reveal()}
	if t.Refresh != "" {
		cred["refresh"] = t.Refresh.Reveal()
	}
	if !t.ExpiresAt.IsZero() {
		cred["expiresAt"] = t.ExpiresAt
	}
	path := "/admin/v1/subscriptions/" + url.PathEscape(o.id)
	err = c.do(ctx, http.MethodPut, path+"/credential", cred, nil)
	var se *serverError
	if !errors.As(err, &se) || se.status != http.StatusNotFound {
		return false, loginError(err)
	}
	if o.kind == "" {
		return false, notInPool(o.id)
	}
	sub := map[string]any{"id": o.id, "kind": o.kind, "credential": cred["access"]}
	if o.name != "" {
		sub["name"] = o.name
	}
	if v, ok := cred["refresh"]; ok {
		sub["refreshToken"] = v
	}
	if v, ok := cred["expiresAt"]; ok {
		sub["credentialExpiresAt"] = v
	}
	return true, loginError(c.do(ctx, http.MethodPost, "/admin/v1/subscriptions", sub, nil))
}

// serverClient returns the client of -server with the admin token of
// -admin-token-file, $AUTHPOOL_ADMIN_TOKEN or -config's server.adminToken.
func (o loginOptions) serverClient(env environment) (serverClient, error) {
	var fallback authpool.Credential
	if o.file != nil {
		fallback = o.file.Server.AdminToken
	}
	admin, err := tokenFrom(o.adminTokenFile, "AUTHPOOL_ADMIN_TOKEN", env, fallback)
	if err != nil {
		return serverClient{}, fmt.Errorf("login: -admin-token-file: %w", err)
	}
	if admin == "" {
		return serverClient{}, usagef("login: the server's admin token: -admin-token-file FILE, or AUTHPOOL_ADMIN_TOKEN")
	}
	return newServerClient(o.serverURL, admin)
}

func loginError(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("login: %w", err)
}
