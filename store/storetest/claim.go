package storetest

import (
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

func testClaim(t *testing.T, s store.Store) {
	claim := func(key string, now, until time.Time) bool {
		t.Helper()
		ok, err := s.Claim(t.Context(), key, now, until)
		if err != nil {
			t.Fatalf("Claim(%q, %v, %v): %v", key, now, until, err)
		}
		return ok
	}
	steps := []struct {
		what       string
		key        string
		now, until time.Time
		want       bool
	}{
		{"the first claim is made", "k", t0, at(time.Hour), true},
		{"a second claim while the first lives is not", "k", at(time.Minute), at(2 * time.Hour), false},
		{"another key is its own claim", "k2", at(time.Minute), at(time.Hour), true},
		{"the claim still lives a nanosecond before its end", "k", at(time.Hour - time.Nanosecond), at(3 * time.Hour), false},
		{"at its end the key can be claimed again", "k", at(time.Hour), at(2 * time.Hour), true},
		{"and that claim lives until its own end", "k", at(2*time.Hour - time.Nanosecond), at(5 * time.Hour), false},
		{"keys are compared whole", "k/1", t0, at(time.Hour), true},
	}
	for _, step := range steps {
		if got := claim(step.key, step.now, step.until); got != step.want {
			t.Errorf("%s: Claim(%q) = %v, want %v", step.what, step.key, got, step.want)
		}
	}
}
