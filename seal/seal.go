package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// EnvKeys is the environment variable the authpool documentation suggests
// for a keyring, in the form ParseKeys reads.
const EnvKeys = "AUTHPOOL_SEAL_KEYS"

// KeySize is the length of a key in bytes: AES-256.
const KeySize = 32

// MaxIDLength is the longest key ID, in bytes.
const MaxIDLength = 64

// Prefix starts every sealed value.
const Prefix = "sealed."

const (
	version   = 1
	nonceSize = 12
)

// The errors of Open. Test for them with errors.Is.
var (
	// ErrNotSealed: the value is not a sealed value (no Prefix): it was
	// stored in plain text.
	ErrNotSealed = errors.New("seal: value is not sealed")
	// ErrMalformed: the value has the Prefix but cannot be decoded, or has
	// an unknown version.
	ErrMalformed = errors.New("seal: malformed sealed value")
	// ErrUnknownKey: the value was sealed with a key the keyring does not
	// hold.
	ErrUnknownKey = errors.New("seal: sealed with an unknown key")
	// ErrAuthentication: the value does not authenticate: it was altered,
	// sealed for another context, or sealed with other key material under
	// the same ID.
	ErrAuthentication = errors.New("seal: sealed value does not authenticate")
)

// Key is one key of a keyring: 32 bytes under an ID. Its fmt and slog forms
// show the ID only.
type Key struct {
	// ID names the key in sealed values: 1 to MaxIDLength letters, digits,
	// '.', '_' or '-'. It is not secret.
	ID string
	// Bytes is the key: KeySize bytes.
	Bytes []byte
}

// String returns the key's ID with its bytes redacted.
func (k Key) String() string { return fmt.Sprintf("seal.Key{ID: %q, Bytes: [REDACTED]}", k.ID) }

// GoString returns the same as String, so %#v does not show the bytes.
func (k Key) GoString() string { return k.String() }

// Format writes the redacted form for every fmt verb.
func (k Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue makes log/slog print the key's ID only.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// Keyring seals with its first key and opens with any of its keys. It is
// safe for concurrent use by multiple goroutines. The zero Keyring holds no
// key: make one with NewKeyring.
type Keyring struct {
	ids   []string
	aeads map[string]cipher.AEAD
}

// NewKeyring returns a keyring of keys, the first of which seals. It
// refuses no keys, a key ID that is empty, too long, holds a byte other than
// a letter, digit, '.', '_' or '-', or is repeated, and a key that is not
// KeySize bytes long, naming the key by its position and ID. It copies the
// keys' bytes.
func NewKeyring(keys ...Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("seal: no keys: a keyring needs at least one")
	}
	k := &Keyring{aeads: make(map[string]cipher.AEAD, len(keys))}
	for i, key := range keys {
		if err := checkID(key.ID); err != nil {
			return nil, fmt.Errorf("seal: key %d: id %w", i+1, err)
		}
		if _, dup := k.aeads[key.ID]; dup {
			return nil, fmt.Errorf("seal: key %d: id %q is used by an earlier key", i+1, key.ID)
		}
		if len(key.Bytes) != KeySize {
			return nil, fmt.Errorf("seal: key %d (id %q): %d bytes long: want %d (AES-256)", i+1, key.ID, len(key.Bytes), KeySize)
		}
		block, err := aes.NewCipher(key.Bytes) // copies the key
		if err != nil {
			return nil, fmt.Errorf("seal: key %d (id %q): %w", i+1, key.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("seal: key %d (id %q): %w", i+1, key.ID, err)
		}
		k.ids = append(k.ids, key.ID)
		k.aeads[key.ID] = aead
	}
	return k, nil
}

func checkID(id string) error {
	switch {
	case id == "":
		return errors.New("is empty")
	case len(id) > MaxIDLength:
		return fmt.Errorf("is %d bytes long: at most %d", len(id), MaxIDLength)
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("%q: byte %d is not a letter, digit, '.', '_' or '-'", id, i)
		}
	}
	return nil
}

// ParseKeys parses a list of keys written "ID:BASE64KEY,ID:BASE64KEY,...",
// the first of which seals: the form of the EnvKeys variable. Each key is
// KeySize bytes in standard or URL-safe base64, padded or not. Spaces
// around entries are ignored. An error names the entry (by position, and by
// ID once it is known) and what is wrong with it, never the key.
func ParseKeys(s string) ([]Key, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("seal: no keys: want ID:BASE64KEY[,ID:BASE64KEY...]")
	}
	entries := strings.Split(s, ",")
	keys := make([]Key, 0, len(entries))
	for i, e := range entries {
		e = strings.TrimSpace(e)
		id, b64, ok := strings.Cut(e, ":")
		switch {
		case e == "":
			return nil, fmt.Errorf("seal: key %d: empty entry: want ID:BASE64KEY", i+1)
		case !ok:
			return nil, fmt.Errorf("seal: key %d: no ':' between the ID and the key: want ID:BASE64KEY", i+1)
		}
		id, b64 = strings.TrimSpace(id), strings.TrimSpace(b64)
		if err := checkID(id); err != nil {
			return nil, fmt.Errorf("seal: key %d: id %w", i+1, err)
		}
		if b64 == "" {
			return nil, fmt.Errorf("seal: key %d (id %q): the key is missing after ':'", i+1, id)
		}
		b, err := decodeKey(b64)
		if err != nil {
			return nil, fmt.Errorf("seal: key %d (id %q): not base64 (standard or URL-safe)", i+1, id)
		}
		keys = append(keys, Key{ID: id, Bytes: b})
	}
	if _, err := NewKeyring(keys...); err != nil {
		return nil, err
	}
	return keys, nil
}

// decodeKey decodes standard or URL-safe base64, padded or not.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// SealingKey returns the ID of the key that seals ("" for the zero Keyring).
func (k *Keyring) SealingKey() string {
	if len(k.ids) == 0 {
		return ""
	}
	return k.ids[0]
}

// KeyIDs returns the keyring's key IDs, the sealing key first.
func (k *Keyring) KeyIDs() []string { return append([]string(nil), k.ids...) }

// Seal encrypts plaintext for context (e.g. the ID of the record that keeps
// it) with the keyring's first key and returns the sealed value. Sealing
// the same plaintext twice gives different values.
func (k *Keyring) Seal(plaintext, context string) (string, error) {
	if len(k.ids) == 0 {
		return "", errors.New("seal: the keyring holds no key: make it with NewKeyring")
	}
	id := k.ids[0]
	aead := k.aeads[id]
	header := make([]byte, 0, 2+len(id)+nonceSize+len(plaintext)+aead.Overhead())
	header = append(header, version, byte(len(id)))
	header = append(header, id...)
	n := len(header)
	blob := header[:n+nonceSize]
	if _, err := rand.Read(blob[n:]); err != nil {
		return "", fmt.Errorf("seal: read a nonce: %w", err)
	}
	blob = aead.Seal(blob, blob[n:n+nonceSize], []byte(plaintext), additionalData(blob[:n], context))
	return Prefix + base64.RawURLEncoding.EncodeToString(blob), nil
}

// additionalData is what GCM authenticates besides the ciphertext: the
// header (version and key ID, length-prefixed) and the context.
func additionalData(header []byte, context string) []byte {
	ad := make([]byte, 0, len(header)+len(context))
	return append(append(ad, header...), context...)
}

// IsSealed reports whether s looks like a sealed value (has the Prefix).
func IsSealed(s string) bool { return strings.HasPrefix(s, Prefix) }

// KeyID returns the ID of the key a sealed value was sealed with.
func KeyID(sealed string) (string, error) {
	_, id, _, err := parse(sealed)
	return id, err
}

// parse splits a sealed value into its header, key ID and the rest (nonce,
// ciphertext and tag).
func parse(sealed string) (header []byte, id string, rest []byte, err error) {
	b64, ok := strings.CutPrefix(sealed, Prefix)
	if !ok {
		return nil, "", nil, ErrNotSealed
	}
	blob, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		return nil, "", nil, fmt.Errorf("%w: not base64url", ErrMalformed)
	}
	if len(blob) < 2 || blob[0] != version {
		return nil, "", nil, fmt.Errorf("%w: unknown version", ErrMalformed)
	}
	n := 2 + int(blob[1])
	if blob[1] == 0 || len(blob) < n+nonceSize+16 {
		return nil, "", nil, fmt.Errorf("%w: too short", ErrMalformed)
	}
	id = string(blob[2:n])
	if checkID(id) != nil {
		return nil, "", nil, fmt.Errorf("%w: bad key ID", ErrMalformed)
	}
	return blob[:n], id, blob[n:], nil
}

// Open decrypts a value Seal returned for the same context. It returns an
// error matching ErrNotSealed, ErrMalformed, ErrUnknownKey (naming the key
// ID) or ErrAuthentication.
func (k *Keyring) Open(sealed, context string) (string, error) {
	header, id, rest, err := parse(sealed)
	if err != nil {
		return "", err
	}
	aead, ok := k.aeads[id] // nil map of the zero Keyring: not found
	if !ok {
		return "", fmt.Errorf("%w: key %q is not in the keyring (which holds %s)", ErrUnknownKey, id, strings.Join(quote(k.ids), ", "))
	}
	out, err := aead.Open(nil, rest[:nonceSize], rest[nonceSize:], additionalData(header, context))
	if err != nil {
		return "", fmt.Errorf("%w (key %q)", ErrAuthentication, id)
	}
	return string(out), nil
}

func quote(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
