// Package fakeoauth is a fake of Claude's OAuth server and of its usage and
// profile endpoints, for tests: an http.Handler that speaks what
// docs/oauth.md describes, strictly enough to catch a client that gets it
// wrong, so that no test needs (or ever calls) Anthropic's endpoints.
//
// It serves the authorize page (GET AuthorizePath: checks the request and,
// as the copy-paste page does, answers code#state; a loopback redirect URI
// is redirected to instead), the token endpoint (POST TokenPath: the
// authorization_code grant with its PKCE check, and the refresh_token grant
// with single-use refresh tokens, as JSON), and the usage and profile
// endpoints (GET UsagePath and ProfilePath: bearer token, oauth beta,
// user:profile scope). Tokens it issues start with sk-ant-oat01-fake- and
// sk-ant-ort01-fake-, so a redaction test can look for them.
//
// A test can mint logins without the browser step (Mint, MintSetupToken),
// set each token's usage answer, make the next answer of a path fail
// (FailNext), move the fake's clock (Options.Now) and read what it was
// sent (Requests, Count):
//
//	srv := fakeoauth.New(fakeoauth.Options{Now: clock.Now})
//	ts := httptest.NewServer(srv)
//	defer ts.Close()
//	login := srv.Mint(fakeoauth.ScopeProfile, fakeoauth.ScopeInference)
//	srv.SetUsage(login.AccessToken, []byte(`{"five_hour":{"utilization":42,"resets_at":"2026-12-07T12:00:00Z"}}`))
package fakeoauth
