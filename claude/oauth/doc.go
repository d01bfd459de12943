// Package oauth speaks Claude's OAuth as Claude Code does: it logs a
// Claude subscription (Pro, Max) in, refreshes its tokens and reads its
// usage, so that a pool can hold subscriptions without anyone copying
// tokens out of a CLI's files. docs/oauth.md has the wire format.
//
// # Logging in
//
// A login is the authorization-code flow (RFC 6749 §4.1) of a public
// client, with PKCE (RFC 7636, S256): NewLogin draws a secret code
// verifier and a state; the user opens AuthorizeURL in a browser, logs in,
// and the redirect page shows code#state, which they paste back; Exchange
// checks the state and trades the code and the verifier for a Token at the
// token endpoint.
//
//	c, err := oauth.New(oauth.Config{}) // Claude Code's defaults
//	login, err := c.NewLogin()
//	fmt.Println("Open", login.AuthorizeURL())
//	tok, err := login.Exchange(ctx, pasted) // "code#state"
//
// A Token holds an access token (hours), a refresh token (weeks) and their
// expiries; Refresh trades the refresh token for new ones, Usage reads the
// subscription's 5-hour and weekly windows (Usage.Observation turns them
// into what authpool.Pool.Observe takes), Profile its plan.
// ReadCredentialsFile imports a login from Claude Code's own credentials
// file, and SetupToken takes a token of `claude setup-token`, which lasts a
// year, has no refresh token and cannot read usage.
//
// # One login, one holder
//
// Refresh tokens are single-use: each refresh returns a new refresh token
// and the old one stops working. A login that the pool refreshes must
// therefore not also be used by a person's own Claude Code (or a second
// pool with its own store): whichever refreshes second gets invalid_grant
// (ErrInvalidGrant) and has lost the login. Log the pool in with a login of
// its own, or import a credentials file and stop using it on the machine it
// came from. The caller of Refresh stores the new refresh token in place of
// the old one, in the same step as the new access token.
//
// # Secrets
//
// Tokens are store.Secret values: a Token prints, marshals and logs them as
// [REDACTED]. Errors never quote a token, a code or a verifier; an error
// answer's body is kept scrubbed of them (and of anything that looks like
// a credential) and cut to a few hundred bytes.
//
// A Client takes its http.Client and its clock as options, so tests run
// against a local fake (internal/fakeoauth) on a fixed clock; nothing in
// this module's tests calls Anthropic's endpoints.
package oauth
