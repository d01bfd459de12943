package seal_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/authpool/authpool/seal"
)

func Example() {
	// The host supplies the keys, e.g. in AUTHPOOL_SEAL_KEYS; the first seals.
	// (Real keys are 32 random bytes: head -c 32 /dev/urandom | base64.)
	keyA := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("A", 32)))
	keyB := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("B", 32)))
	old, err := seal.ParseKeys("2026-05:" + keyA)
	if err != nil {
		panic(err)
	}
	k, _ := seal.NewKeyring(old...)
	sealed, _ := k.Seal("sk-ant-api03-example", "max-a")
	fmt.Println(strings.HasPrefix(sealed, seal.Prefix), strings.Contains(sealed, "sk-ant"))

	// Rotate: a new key seals, the old one still opens.
	keys, _ := seal.ParseKeys("2026-11:" + keyB + ",2026-05:" + keyA)
	rotated, _ := seal.NewKeyring(keys...)
	cred, err := rotated.Open(sealed, "max-a")
	fmt.Println(cred, err)

	// A sealed value opens only for its context...
	_, err = rotated.Open(sealed, "max-b")
	fmt.Println(errors.Is(err, seal.ErrAuthentication))

	// ... and only with a key the keyring holds.
	newOnly, _ := seal.NewKeyring(keys[0])
	_, err = newOnly.Open(sealed, "max-a")
	fmt.Println(err)
	// Output:
	// true false
	// sk-ant-api03-example <nil>
	// true
	// seal: sealed with an unknown key: key "2026-05" is not in the keyring (which holds "2026-11")
}
