package seal_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/authpool/authpool/seal"
)

// keyBytes returns a test key derived from name.
func keyBytes(name string) []byte {
	b := sha256.Sum256([]byte("seal test key " + name))
	return b[:]
}

func key(id string) seal.Key { return seal.Key{ID: id, Bytes: keyBytes(id)} }

func keyring(t testing.TB, keys ...seal.Key) *seal.Keyring {
	t.Helper()
	k, err := seal.NewKeyring(keys...)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return k
}

const plaintext = "sk-ant-oat01-SEALTEST-must-never-leak-7d2e"

func TestNewKeyringRefusesBadKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		keys []seal.Key
		want string // in the error
	}{
		{"none", nil, "no keys"},
		{"empty ID", []seal.Key{{ID: "", Bytes: keyBytes("a")}}, "key 1: id is empty"},
		{"bad ID", []seal.Key{key("a"), {ID: "a b", Bytes: keyBytes("a")}}, `key 2: id "a b": byte 1`},
		{"long ID", []seal.Key{{ID: strings.Repeat("x", 65), Bytes: keyBytes("a")}}, "65 bytes long: at most 64"},
		{"duplicate ID", []seal.Key{key("a"), key("b"), key("a")}, `key 3: id "a" is used by an earlier key`},
		{"short key", []seal.Key{{ID: "a", Bytes: keyBytes("a")[:16]}}, `key 1 (id "a"): 16 bytes long: want 32`},
		{"long key", []seal.Key{{ID: "a", Bytes: append(keyBytes("a"), 1)}}, "33 bytes long: want 32"},
		{"nil key", []seal.Key{{ID: "a"}}, "0 bytes long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := seal.NewKeyring(tt.keys...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewKeyring: %v, want an error containing %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "seal: ") {
				t.Errorf("error %q does not start with the package name", err)
			}
		})
	}
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	a, b := keyBytes("a"), keyBytes("b")
	std := base64.StdEncoding.EncodeToString
	tests := []struct {
		name string
		in   string
		want []seal.Key
	}{
		{"one", "k1:" + std(a), []seal.Key{{"k1", a}}},
		{"two, spaces", "  new : " + std(b) + " ,  old:" + std(a) + " ", []seal.Key{{"new", b}, {"old", a}}},
		{"raw std", "k:" + base64.RawStdEncoding.EncodeToString(a), []seal.Key{{"k", a}}},
		{"url", "k:" + base64.URLEncoding.EncodeToString(a), []seal.Key{{"k", a}}},
		{"raw url", "k:" + base64.RawURLEncoding.EncodeToString(a), []seal.Key{{"k", a}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := seal.ParseKeys(tt.in)
			if err != nil {
				t.Fatalf("ParseKeys: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ParseKeys: %d keys, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i].ID != tt.want[i].ID || !bytes.Equal(got[i].Bytes, tt.want[i].Bytes) {
					t.Errorf("key %d: got ID %q, want %q (or other bytes)", i, got[i].ID, tt.want[i].ID)
				}
			}
		})
	}
}

func TestParseKeysRefusesBadInputWithoutEchoingKeys(t *testing.T) {
	t.Parallel()
	a := base64.StdEncoding.EncodeToString(keyBytes("a"))
	short := base64.StdEncoding.EncodeToString(keyBytes("a")[:31])
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "no keys"},
		{"blank", "   ", "no keys"},
		{"no colon", a, "key 1: no ':'"},
		{"empty entry", "k:" + a + ",", "key 2: empty entry"},
		{"empty ID", ":" + a, "key 1: id is empty"},
		{"bad ID", "k/1:" + a, `key 1: id "k/1"`},
		{"no key", "k:", `key 1 (id "k"): the key is missing`},
		{"not base64", "k:" + a[:20] + "!!" + a[22:], `key 1 (id "k"): not base64`},
		{"short", "k:" + short, `key 1 (id "k"): 31 bytes long: want 32`},
		{"duplicate", "k:" + a + ",k:" + a, `key 2: id "k" is used by an earlier key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := seal.ParseKeys(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseKeys: %v, want an error containing %q", err, tt.want)
			}
			for _, material := range []string{a, short, a[:12], short[:12]} {
				if strings.Contains(err.Error(), material) {
					t.Errorf("error %q shows key material", err)
				}
			}
		})
	}
}

func TestKeyPrintsNoKeyMaterial(t *testing.T) {
	t.Parallel()
	k := key("a")
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("key", "key", k)
	for _, out := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s %x", k, k, k, k, k), logged.String()} {
		if !strings.Contains(out, "REDACTED") || strings.Contains(out, string(k.Bytes)) || strings.Contains(out, fmt.Sprintf("%x", k.Bytes[:8])) ||
			strings.Contains(out, fmt.Sprint(k.Bytes[:4])[1:10]) {
			t.Errorf("key printed as %q", out)
		}
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	k := keyring(t, key("a"))
	for _, pt := range []string{plaintext, "", "x", strings.Repeat("é", 1000)} {
		s1, err := k.Seal(pt, "sub-1")
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		s2, _ := k.Seal(pt, "sub-1")
		if s1 == s2 {
			t.Errorf("sealing twice gave the same value: the nonce is not random")
		}
		if !seal.IsSealed(s1) || (len(pt) >= 8 && strings.Contains(s1, pt)) {
			t.Errorf("Seal = %q", s1)
		}
		if id, err := seal.KeyID(s1); err != nil || id != "a" {
			t.Errorf("KeyID = %q, %v; want \"a\"", id, err)
		}
		got, err := k.Open(s1, "sub-1")
		if err != nil || got != pt {
			t.Errorf("Open = %q, %v; want the plaintext", got, err)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	k := keyring(t, key("a"))
	sealed, err := k.Seal(plaintext, "sub-1")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(sealed, seal.Prefix))
	reencode := func(b []byte) string { return seal.Prefix + base64.RawURLEncoding.EncodeToString(b) }
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return reencode(b)
	}
	// Change the key ID byte for byte: "a" → "b", same length.
	otherID := bytes.Clone(raw)
	otherID[2] = 'b'

	tests := []struct {
		name, sealed, context string
		keyring               *seal.Keyring
		want                  error
		msg                   string
	}{
		{"plain", plaintext, "sub-1", k, seal.ErrNotSealed, ""},
		{"flipped ciphertext", flip(len(raw) - 20), "sub-1", k, seal.ErrAuthentication, `key "a"`},
		{"flipped tag", flip(len(raw) - 1), "sub-1", k, seal.ErrAuthentication, ""},
		{"flipped nonce", flip(4), "sub-1", k, seal.ErrAuthentication, ""},
		{"flipped version", flip(0), "sub-1", k, seal.ErrMalformed, "version"},
		{"truncated", reencode(raw[:20]), "sub-1", k, seal.ErrMalformed, "too short"},
		{"not base64", sealed + "!", "sub-1", k, seal.ErrMalformed, ""},
		{"other context", sealed, "sub-2", k, seal.ErrAuthentication, ""},
		{"context prefix", sealed, "sub-", k, seal.ErrAuthentication, ""},
		{"key ID changed", reencode(otherID), "sub-1", keyring(t, key("a"), seal.Key{ID: "b", Bytes: keyBytes("a")}), seal.ErrAuthentication, ""},
		{"unknown key", sealed, "sub-1", keyring(t, key("b"), key("c")), seal.ErrUnknownKey, `key "a" is not in the keyring (which holds "b", "c")`},
		{"same ID, other bytes", sealed, "sub-1", keyring(t, seal.Key{ID: "a", Bytes: keyBytes("z")}), seal.ErrAuthentication, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.keyring.Open(tt.sealed, tt.context)
			if !errors.Is(err, tt.want) || got != "" {
				t.Fatalf("Open = %q, %v; want %v", got, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			if strings.Contains(err.Error(), plaintext[8:16]) {
				t.Errorf("error %q shows the plaintext", err)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	old := keyring(t, key("a"))
	sealedA, _ := old.Seal(plaintext, "s")
	rotated := keyring(t, key("b"), key("a"))
	if got, err := rotated.Open(sealedA, "s"); err != nil || got != plaintext {
		t.Fatalf("rotated keyring: Open(sealed with a) = %q, %v", got, err)
	}
	sealedB, _ := rotated.Seal(plaintext, "s")
	if id, _ := seal.KeyID(sealedB); id != "b" || rotated.SealingKey() != "b" {
		t.Errorf("rotated keyring sealed with %q, want the first key, b", id)
	}
	if _, err := old.Open(sealedB, "s"); !errors.Is(err, seal.ErrUnknownKey) || !strings.Contains(err.Error(), `"b"`) {
		t.Errorf("old keyring: Open(sealed with b) = %v, want ErrUnknownKey naming b", err)
	}
	if got := rotated.KeyIDs(); fmt.Sprint(got) != "[b a]" {
		t.Errorf("KeyIDs = %v", got)
	}
}

func FuzzOpen(f *testing.F) {
	k := keyring(f, key("a"))
	s, _ := k.Seal(plaintext, "s")
	f.Add(s, "s")
	f.Add(seal.Prefix+"AQFh", "s")
	f.Fuzz(func(t *testing.T, sealed, context string) {
		got, err := k.Open(sealed, context)
		// Only values sealed for "s" (the seed's, in whichever process made
		// it) open; the fuzzer cannot forge one.
		if err == nil && (context != "s" || got != plaintext) {
			t.Fatalf("Open(%q, %q) = %q with no error", sealed, context, got)
		}
	})
}

func TestZeroKeyring(t *testing.T) {
	t.Parallel()
	var k seal.Keyring
	if _, err := k.Seal(plaintext, "s"); err == nil {
		t.Error("the zero Keyring sealed")
	}
	sealed, _ := keyring(t, key("a")).Seal(plaintext, "s")
	if _, err := k.Open(sealed, "s"); !errors.Is(err, seal.ErrUnknownKey) {
		t.Errorf("the zero Keyring: Open = %v, want ErrUnknownKey", err)
	}
	if k.SealingKey() != "" {
		t.Errorf("SealingKey = %q", k.SealingKey())
	}
}
