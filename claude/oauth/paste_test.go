package oauth_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/authpool/authpool/claude/oauth"
	"github.com/authpool/authpool/internal/fakeoauth"
)

// What the user pastes is checked before anything is sent: a paste that
// is not this login's code#state is refused with ErrPasted, and the token
// endpoint never hears of it.
func TestExchangeBadPaste(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fakeoauth.Options{}, oauth.Config{})
	login, err := f.client.NewLogin()
	if err != nil {
		t.Fatal(err)
	}
	st := login.State()
	tests := []struct {
		name, pasted, want string
	}{
		{"empty", "  \n", "it is empty"},
		{"bare code", "abcdefghijklmnopqrstuvwxyz", "it has no '#' and state"},
		{"no code", "#" + st, "its code is empty"},
		{"no state", "abcdef#", "its state is empty"},
		{"other state", "abcdef#" + strings.Repeat("x", 43), "its state is not the one this login sent"},
		{"state of another login, a prefix", "abcdef#" + st[:40], "its state is not the one this login sent"},
		{"two hashes", "abc#def#" + st, "its state has a space, '#'"},
		{"space inside", "abc def#" + st, "its code has a space"},
		{"control", "abc\x00def#" + st, "its code has a space, '#', a control"},
		{"non-ASCII", "abcé#" + st, "its code has a space, '#', a control or a non-ASCII byte at byte 3"},
		{"long", strings.Repeat("a", 9000) + "#" + st, "longer than 8192 bytes"},
		{"URL without code", "https://platform.claude.com/oauth/code/callback?state=" + st, "its code is empty"},
		{"URL of a refusal", "http://localhost:54545/callback?error=access_denied&state=" + st, `refused (error "access_denied")`},
		{"URL of an odd refusal", "http://localhost:1/cb?error=%3Cscript%3E", `refused (error "?")`},
		{"not a URL", "https://exa mple.com/%zz", "starts like a URL but is not one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := login.Exchange(context.Background(), tt.pasted)
			if !errors.Is(err, oauth.ErrPasted) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Exchange(%.40q): %v\nwant ErrPasted with %q", tt.pasted, err, tt.want)
			}
		})
	}
	if n := len(f.fake.Requests()); n != 0 {
		t.Errorf("the fake got %d requests, want none", n)
	}
}
