package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/authpool/authpool/claude/oauth"
	"github.com/authpool/authpool/internal/fakeoauth"
)

// A subscription logs in, its tokens are refreshed, and its usage is read
// for the pool, here against the fake OAuth server instead of Claude's.
func Example_login() {
	now := func() time.Time { return time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC) }
	fake := fakeoauth.New(fakeoauth.Options{Now: now})
	ts := httptest.NewServer(fake)
	defer ts.Close()
	// The zero Config is Claude Code's; only the endpoints move to the fake.
	c, err := oauth.New(oauth.Config{
		AuthorizeURL: ts.URL + fakeoauth.AuthorizePath,
		TokenURL:     ts.URL + fakeoauth.TokenPath,
		UsageURL:     ts.URL + fakeoauth.UsagePath,
	}, oauth.WithClock(now))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	login, err := c.NewLogin()
	if err != nil {
		panic(err)
	}
	// The user opens login.AuthorizeURL() in a browser, logs in, and the
	// page shows code#state to paste back. The fake shows it at once.
	resp, err := http.Get(login.AuthorizeURL())
	if err != nil {
		panic(err)
	}
	pasted, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tok, err := login.Exchange(ctx, string(pasted))
	if err != nil {
		panic(err)
	}
	fmt.Println(tok.CanRefresh(), tok.CanReadUsage(), tok.ExpiresAt, tok.AccountEmail)
	fmt.Printf("%v\n", tok.AccessToken) // tokens never print

	// Refresh tokens are single-use: keep the new one.
	fresh, err := c.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		panic(err)
	}
	_, err = c.Refresh(ctx, tok.RefreshToken)
	fmt.Println("old refresh token:", errors.Is(err, oauth.ErrInvalidGrant))

	u, err := c.Usage(ctx, fresh.AccessToken)
	if err != nil {
		panic(err)
	}
	o := u.Observation() // what authpool.Pool.Observe takes
	fmt.Printf("5h %.0f%% → share %.2f, resets %s\n", u.FiveHour.Utilization, o.Block.Share, o.Block.Reset)
	fmt.Printf("week %.0f%%, opus week %.0f%%\n", u.SevenDay.Utilization, u.SevenDayOpus.Utilization)
	// Output:
	// true true 2026-12-07 17:30:00 +0000 UTC pool@example.com
	// [REDACTED]
	// old refresh token: true
	// 5h 42% → share 0.42, resets 2026-12-07 12:00:00 +0000 UTC
	// week 18%, opus week 3%
}
