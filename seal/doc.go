// Package seal encrypts credentials at rest with AES-256-GCM under keys the
// host supplies, and wraps a store.Store so that every credential it keeps
// is sealed.
//
// A [Keyring] holds one or more 256-bit keys, each under a short ID. The
// first key seals; every key opens, so keys can be rotated: add the new key
// at the end of every process's list (it opens only), then move it to the
// front (it seals), and remove the old key once every record has been
// written again. A value sealed under a key the keyring does not hold fails
// to open with an error matching [ErrUnknownKey] that names the key's ID.
//
// A sealed value is text: "sealed." followed by the base64url (unpadded)
// encoding of a version byte, the key ID's length and the key ID, a random
// 12-byte nonce, and the ciphertext with its GCM tag. The version, the key
// ID and a context string (for a credential, its subscription's ID) are
// authenticated as additional data: a sealed value opens only under the
// context it was sealed for, so it cannot be moved from one record to
// another.
//
// Keys come from the host, typically an environment variable read with
// [ParseKeys]:
//
//	AUTHPOOL_SEAL_KEYS=2026-11:BASE64KEY,2026-05:OLDBASE64KEY
//
// Errors never contain key material or plaintext.
package seal
