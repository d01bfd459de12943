package e2e_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// redisKeys are the keys of the servers' pool in the test Redis.
type redisKeys struct {
	client *redis.Client
	prefix string // the config's store.prefix
}

// dump returns every key of the pool with its value, as text, for the
// redaction check; it fails the test if there is none.
func (r *redisKeys) dump(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	var b strings.Builder
	keys := 0
	iter := r.client.Scan(ctx, 0, "{"+r.prefix+"}:*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		keys++
		var v any
		var err error
		switch typ := r.client.Type(ctx, key).Val(); typ {
		case "string":
			v, err = r.client.Get(ctx, key).Result()
		case "hash":
			v, err = r.client.HGetAll(ctx, key).Result()
		case "list":
			v, err = r.client.LRange(ctx, key, 0, -1).Result()
		case "set":
			v, err = r.client.SMembers(ctx, key).Result()
		case "zset":
			v, err = r.client.ZRangeWithScores(ctx, key, 0, -1).Result()
		case "stream":
			v, err = r.client.XRange(ctx, key, "-", "+").Result()
		case "none": // gone since the scan
		default:
			t.Errorf("the key %s is a Redis %s, which this test cannot read", key, typ)
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatalf("reading %s: %v", key, err)
		}
		fmt.Fprintf(&b, "%s %v\n", key, v)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if keys == 0 {
		t.Fatalf("the store has no key under {%s}:", r.prefix)
	}
	return b.String()
}
