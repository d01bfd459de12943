package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/oauth"
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

// builtPool is a pool and what came with it.
type builtPool struct {
	pool   *authpool.Pool
	store  store.Store // as kept: credentials sealed with a keyring
	opened store.Store // the same, credentials opened
	oauth  *oauth.Client
	close  func() error // the store's
}

// openPool opens the store and makes the pool of f on it, with the OAuth
// refresher and, with a keyring, sealing.
func openPool(ctx context.Context, f configfile.File, cfg configfile.Server, opts Options, log *slog.Logger, now func() time.Time) (builtPool, error) {
	st := openedStore{Store: opts.Store, close: func() error { return nil }}
	if opts.Store == nil {
		var err error
		if st, err = openStore(cfg.Store, opts.Keyring); err != nil {
			return builtPool{}, err
		}
	}
	oc, err := oauth.New(cfg.OAuth.Config(), oauth.WithHTTPClient(opts.HTTPClient), oauth.WithClock(now))
	var hooks []authpool.Option
	if err == nil {
		hooks, err = f.Options(nil)
	}
	if err != nil {
		_ = st.close()
		return builtPool{}, err
	}
	popts := append(hooks, authpool.WithStore(st.Store), authpool.WithClock(now), authpool.WithLogger(log),
		authpool.WithRefresher(oc.RefreshFunc(), time.Duration(cfg.RefreshBefore)))
	opened := st.Store
	if opts.Keyring != nil {
		popts = append(popts, authpool.WithSealer(opts.Keyring))
		opened = seal.NewStore(st.Store, opts.Keyring)
	}
	p, err := authpool.New(ctx, f.Config, popts...)
	if err != nil {
		_ = st.close()
		return builtPool{}, err
	}
	return builtPool{pool: p, store: st.Store, opened: opened, oauth: oc, close: st.close}, nil
}

// OpenPool opens the store a config file's server section names and makes
// the file's pool on it, as New does (sealing with opts.Keyring, refreshing
// with claude/oauth), without serving it: for a command that changes the
// pool and exits (`authpool login -config`). The returned func closes the
// pool and the store.
func OpenPool(ctx context.Context, f configfile.File, opts Options) (*authpool.Pool, func(context.Context) error, error) {
	if err := f.Server.Validate(); err != nil {
		return nil, nil, err
	}
	log, now := opts.Logger, opts.Clock
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	p, err := openPool(ctx, f, f.Server.WithDefaults(), opts, log, now)
	if err != nil {
		return nil, nil, err
	}
	return p.pool, func(ctx context.Context) error { return errors.Join(p.pool.Close(ctx), p.close()) }, nil
}
