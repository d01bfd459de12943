package redisstore

import (
	"context"
	"crypto/sha1"
	"embed"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/*.lua
var luaFS embed.FS

// A script is one of the store's atomic primitives: a Lua script that Redis
// runs whole, with no other command in between.
type script struct {
	name string // the Store method it serves, for errors
	src  string // lua/lib.lua followed by the script's own file
	hash string // SHA-1 of src, for EVALSHA
}

// newScript returns the script lua/<file>, with lua/lib.lua before it.
func newScript(name, file string) *script { return newScriptWith(name, "lib.lua", file) }

// newCallerScript returns the script lua/<file>, with lua/lib.lua and
// lua/callerlib.lua before it.
func newCallerScript(name, file string) *script {
	return newScriptWith(name, "lib.lua", "callerlib.lua", file)
}

// newScriptWith returns the files of lua/, one after another, as a script.
func newScriptWith(name string, files ...string) *script {
	parts := make([]string, len(files))
	for i, f := range files {
		b, err := luaFS.ReadFile("lua/" + f)
		if err != nil {
			panic(err) // embedded: cannot happen
		}
		parts[i] = string(b)
	}
	src := strings.Join(parts, "\n")
	sum := sha1.Sum([]byte(src))
	return &script{name: name, src: src, hash: hex.EncodeToString(sum[:])}
}

// The scripts, one per Store method that reads or writes.
var (
	scriptCreate   = newScript("create subscription", "create.lua")
	scriptUpdate   = newScript("update subscription", "update.lua")
	scriptStatus   = newScript("set status", "status.lua")
	scriptLimit    = newScript("set model limit", "limit.lua")
	scriptReported = newScript("set reported", "reported.lua")
	scriptDelete   = newScript("delete subscription", "delete.lua")
	scriptGet      = newScript("subscription", "get.lua")
	scriptList     = newScript("subscriptions", "list.lua")
	scriptTouch    = newScript("touch", "touch.lua")
	scriptAssign   = newScript("assign", "assign.lua")
	scriptRelease  = newScript("release", "release.lua")
	scriptSessions = newScript("sessions", "sessions.lua")
	scriptUsage    = newScript("add usage", "usage.lua")
	scriptClaim    = newScript("claim", "claim.lua")
	scriptIndex    = newScript("index sessions", "index.lua")

	scriptCallerCreate  = newCallerScript("create caller", "caller_create.lua")
	scriptCallerUpdate  = newCallerScript("update caller", "caller_update.lua")
	scriptCallerDelete  = newCallerScript("delete caller", "caller_delete.lua")
	scriptCallerGet     = newCallerScript("callers", "caller_get.lua")
	scriptCallerCharge  = newCallerScript("charge caller", "caller_charge.lua")
	scriptCallerUsage   = newCallerScript("caller usage", "caller_usage.lua")
	scriptCallerAdmit   = newCallerScript("admit caller", "caller_admit.lua")
	scriptCallerRelease = newCallerScript("release caller", "caller_release.lua")
)

// run runs sc in one round trip, with key as KEYS[1] and the key prefix
// followed by args as ARGV, and returns its reply. Errors are translated
// (see fail); a context that has ended before the call changes nothing.
func (s *Store) run(ctx context.Context, sc *script, key string, args ...any) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redisstore: %s: %w", sc.name, err) // nothing sent
	}
	argv := make([]any, 0, len(args)+1)
	argv = append(argv, s.keys.prefix)
	argv = append(argv, args...)
	keys := []string{key}
	var (
		reply any
		err   error
	)
	if s.waitsFor(ctx) {
		reply, err = s.evalUntilDone(ctx, sc, keys, argv)
	} else {
		reply, err = s.eval(ctx, sc, keys, argv)
	}
	if err != nil {
		return nil, fail(ctx, sc.name, err)
	}
	return reply, nil
}

// waitsFor reports whether a call under ctx must wait for the reply in a
// helper goroutine, so as to return when ctx ends: ctx can end, and the
// client does not bound its own I/O by ctx's deadline (go-redis does when
// ContextTimeoutEnabled is set, and then only by the deadline).
func (s *Store) waitsFor(ctx context.Context) bool {
	if ctx.Done() == nil {
		return false
	}
	_, hasDeadline := ctx.Deadline()
	return !(s.clientHonoursDeadlines && hasDeadline)
}

// eval runs sc by its hash, and by its source when the server does not have
// it (a fresh or restarted server, or one whose script cache was flushed);
// EVAL also caches it, so that the next EVALSHA finds it.
func (s *Store) eval(ctx context.Context, sc *script, keys []string, argv []any) (any, error) {
	reply, err := s.client.EvalSha(ctx, sc.hash, keys, argv...).Result()
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		reply, err = s.client.Eval(ctx, sc.src, keys, argv...).Result()
	}
	return reply, err
}

// evalUntilDone runs eval in a goroutine and waits for its reply or for ctx
// to end, whichever comes first. After ctx ends, the goroutine lives on
// until the client gives up on the reply (its ReadTimeout), and the script
// may still run: whole, as every script does.
func (s *Store) evalUntilDone(ctx context.Context, sc *script, keys []string, argv []any) (any, error) {
	type result struct {
		reply any
		err   error
	}
	done := make(chan result, 1)
	go func() {
		reply, err := s.eval(ctx, sc, keys, argv)
		done <- result{reply, err}
	}()
	select {
	case r := <-done:
		return r.reply, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
