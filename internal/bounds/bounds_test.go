package bounds

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckText(t *testing.T) {
	tests := []struct {
		name     string
		s        string
		optional bool
		ok       bool
	}{
		{"a plain ID", "client-42", false, true},
		{"an ID of 8 printable bytes", "abcdefgh", false, true},
		{"a long printable ID", strings.Repeat("a-b_c.d/", 32), false, true},
		{"an empty required ID", "", false, false},
		{"an empty optional ID", "", true, true},
		{"MaxIDLength bytes", strings.Repeat("x", MaxIDLength), false, true},
		{"MaxIDLength+1 bytes", strings.Repeat("x", MaxIDLength+1), false, false},
		{"a NUL", "abc\x00", false, false},
		{"a tab in a long ID", "abcdefghijklmno\tq", false, false},
		{"DEL", "abc\x7f", false, false},
		{"DEL at the end of a long ID", "abcdefghijk\x7f", false, false},
		{"a C1 control character", "abc\u0085def", false, false},
		{"invalid UTF-8", "abc\xffdef", false, false},
		{"a truncated UTF-8 sequence", "client-\xe2\x82", false, false},
		{"UTF-8 letters", "クライアント", false, true},
		{"an emoji", "client-🦊", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckText("client ID", tt.s, tt.optional)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckText(%q) = %v, want ok=%v", tt.s, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "client ID") {
				t.Errorf("CheckText(%q) = %q, want it to name the field", tt.s, err)
			}
		})
	}
}

// TestPrintableASCIIAgreesWithAByteLoop checks the eight-bytes-at-a-time
// scan against the obvious loop on random strings.
func TestPrintableASCIIAgreesWithAByteLoop(t *testing.T) {
	simple := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] >= 0x7f {
				return false
			}
		}
		return true
	}
	rng := rand.New(rand.NewPCG(2, 3))
	buf := make([]byte, 40)
	for range 20000 {
		n := rng.IntN(len(buf))
		for i := range n {
			// Mostly printable, sometimes one of the edges.
			switch rng.IntN(10) {
			case 0:
				buf[i] = []byte{0x00, 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xff}[rng.IntN(7)]
			default:
				buf[i] = byte(0x20 + rng.IntN(0x5f))
			}
		}
		s := string(buf[:n])
		if got, want := printableASCII(s), simple(s); got != want {
			t.Fatalf("printableASCII(%q) = %v, want %v", s, got, want)
		}
		// And CheckText accepts exactly the valid strings without controls.
		wantOK := utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 })
		if err := CheckText("id", s, true); (err == nil) != wantOK {
			t.Fatalf("CheckText(%q) = %v, want ok=%v", s, err, wantOK)
		}
	}
}

func TestCheckID(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{"alice", ""},
		{"élodie/ci-7", ""},
		{"", "id is empty"},
		{strings.Repeat("x", MaxIDLength), ""},
		{strings.Repeat("x", MaxIDLength+1), "id is 257 bytes long, more than 256"},
		{"a\xffb", `id "a\xffb" is not valid UTF-8 (byte 1)`},
		{"a\nb", `id "a\nb" holds a control character (byte 1)`},
		{"a\u0085b", `id "a\u0085b" holds a control character (byte 1)`},
	} {
		got := ""
		if err := CheckID("id", tc.id); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("CheckID(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}
