package server

import (
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/redisstore"
	"github.com/authpool/authpool/seal"
	"github.com/authpool/authpool/store"
)

// openedStore is the store a server keeps its pool in, and how to let it go.
type openedStore struct {
	store.Store
	close func() error
}

// ErrNoSealKeys is returned for a Redis store without sealing keys: the
// server keeps credentials in Redis only sealed.
var ErrNoSealKeys = errors.New("server: a Redis store needs sealing keys (AUTHPOOL_SEAL_KEYS=ID:BASE64KEY, 32 bytes each: head -c 32 /dev/urandom | base64)")

// openStore opens the store the server section names: a new memstore for
// "memory", else a redisstore on a go-redis client of the URL (with
// ContextTimeoutEnabled, so that a call ends at its context's deadline)
// under the section's prefix, which needs a keyring to seal credentials
// with (ErrNoSealKeys). Its close closes the Redis client. It does not
// contact Redis.
func openStore(cfg configfile.ServerStore, keyring *seal.Keyring) (openedStore, error) {
	if cfg.URL == "" || cfg.URL == configfile.DefaultStoreURL {
		return openedStore{Store: memstore.New(), close: func() error { return nil }}, nil
	}
	if keyring == nil {
		return openedStore{}, ErrNoSealKeys
	}
	opts, err := redis.ParseURL(cfg.URL) // configfile refuses a URL with a password: its error may quote it
	if err != nil {
		return openedStore{}, fmt.Errorf("server: /server/store/url: %w", err)
	}
	if cfg.Password != "" {
		opts.Password = cfg.Password.Reveal()
	}
	opts.ContextTimeoutEnabled = true
	client := redis.NewClient(opts)
	return openedStore{Store: redisstore.New(client, redisstore.WithPrefix(cfg.Prefix)), close: client.Close}, nil
}
