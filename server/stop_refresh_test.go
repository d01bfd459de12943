package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/oauth"
	"github.com/authpool/authpool/internal/fakeanthropic"
	"github.com/authpool/authpool/internal/fakeoauth"
	"github.com/authpool/authpool/memstore"
)

// TestStopDuringRefresh: the server is told to stop while a refresh is at
// the token endpoint, which has already spent the old refresh token and
// issued new tokens. The new tokens must still be stored: the stop must
// not throw away the answer of a refresh that happened, or the login is
// lost (the stored refresh token is spent: invalid_grant).
func TestStopDuringRefresh(t *testing.T) {
	clock := newClock()
	fake := fakeoauth.New(fakeoauth.Options{Now: clock.Now})
	rotated, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	gate := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != fakeoauth.TokenPath {
			fake.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		fake.ServeHTTP(rec, r) // the refresh happens: the old refresh token is spent
		once.Do(func() { close(rotated) })
		select { // the answer is slow to come back
		case <-release:
		case <-r.Context().Done():
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
	oauthTS := httptest.NewServer(gate)
	defer oauthTS.Close()
	upTS := httptest.NewServer(&fakeanthropic.Server{})
	defer upTS.Close()
	f := testFile(t, upTS.URL, oauthTS.URL)
	f.Server.RebalanceEvery = authpool.Duration(time.Second)
	st := memstore.New()
	srv, err := New(t.Context(), f, Options{Store: st, Clock: clock.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	login := fake.Mint(oauth.DefaultScopes()...)
	addLogin(t, srv.Pool(), "max-oauth", login)
	clock.Advance(8*time.Hour - 5*time.Minute) // within refreshBefore
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	select {
	case <-rotated:
	case <-time.After(10 * time.Second):
		t.Fatal("no refresh")
	}
	cancel() // SIGTERM
	time.AfterFunc(200*time.Millisecond, func() { close(release) })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rec, err := st.Subscription(t.Context(), "max-oauth")
	if err != nil {
		t.Fatal(err)
	}
	client, err := oauth.New(oauth.Config{TokenURL: oauthTS.URL + fakeoauth.TokenPath}, oauth.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if rec.RefreshToken.Reveal() == login.RefreshToken {
		t.Errorf("after the stop the store holds the refresh token the refresh spent: the login is lost")
	}
	if _, err := client.Refresh(t.Context(), rec.RefreshToken); err != nil {
		t.Errorf("refreshing with the stored refresh token: %v", err)
	}
}
