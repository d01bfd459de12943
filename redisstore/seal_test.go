package redisstore_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/seal"
)

// TestSealedCredentialsLeaveNothingReadableInRedis writes subscriptions
// through a Pool with a sealer, uses them (clients, usage, limits, a
// credential refresh), then reads every key and value under the pool's
// prefix: no credential, nor any 8-byte piece of one, may appear.
func TestSealedCredentialsLeaveNothingReadableInRedis(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	clk := newPoolClock(poolT0)
	keys := make([]seal.Key, 2)
	for i, id := range []string{"2026-11", "2026-05"} {
		b := sha256.Sum256([]byte("redis seal test " + id))
		keys[i] = seal.Key{ID: id, Bytes: b[:]}
	}
	k, err := seal.NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	creds := map[string]string{
		"max-a":    "sk-ant-oat01-Qm9vZ2xlLWEtc2VjcmV0LXRva2VuLTAwMDE-AAAA",
		"max-b":    "sk-ant-oat01-WmVicmEtYi1zZWNyZXQtdG9rZW4tMDAwMg-BBBB",
		"added":    "sk-ant-api03-QWRkZWQtc3Vic2NyaXB0aW9uLWtleS0wMDA-CCCC",
		"fallback": "sk-ant-api03-RmFsbGJhY2sta2V5LXRoYXQtbXVzdC1oaWRl-DDDD",
		"refresh":  "sk-ant-oat01-UmVmcmVzaGVkLXRva2VuLWZvci1tYXgtYQ-EEEE",
		"renewed":  "sk-ant-oat01-UmVuZXdlZC1ieS10aGUtcmVmcmVzaGVyLWI-FFFF",
		"rt-b":     "sk-ant-ort01-UmVmcmVzaC10b2tlbi1vZi1tYXgtYi0wMDE-GGGG",
		"rt-b2":    "sk-ant-ort01-TmV3LXJlZnJlc2gtdG9rZW4tb2YtbWF4LWI-HHHH",
	}
	cfg := authpool.Config{
		Subscriptions: []authpool.Subscription{
			{ID: "max-a", Kind: authpool.KindMax20x, Credential: authpool.Credential(creds["max-a"]), MaxClients: 2},
			{ID: "max-b", Kind: authpool.KindMax5x, Credential: authpool.Credential(creds["max-b"]), MaxClients: 2,
				CredentialExpiresAt: clk.Now().Add(5 * time.Minute), RefreshToken: authpool.Credential(creds["rt-b"])},
		},
		Fallback: &authpool.Fallback{Credential: authpool.Credential(creds["fallback"]), DailyBudgetUSD: 10},
	}
	renew := func(_ context.Context, id string, current authpool.Token) (authpool.Token, error) {
		if id != "max-b" || current.Access.Reveal() != creds["max-b"] || current.Refresh.Reveal() != creds["rt-b"] {
			return authpool.Token{}, fmt.Errorf("refresh of %s with the wrong tokens", id)
		}
		return authpool.Token{Access: authpool.Credential(creds["renewed"]), Refresh: authpool.Credential(creds["rt-b2"]),
			ExpiresAt: clk.Now().Add(8 * time.Hour)}, nil
	}
	p := newRedisPool(t, c, prefix, cfg, authpool.WithClock(clk.Now), authpool.WithSealer(k), authpool.WithRefresher(renew, 10*time.Minute))
	if err := p.AddSubscription(ctx, authpool.Subscription{ID: "added", Kind: authpool.KindAPI,
		Credential: authpool.Credential(creds["added"]), MaxClients: 2}); err != nil {
		t.Fatal(err)
	}
	for i := range 7 { // more than the subscriptions hold: some land on the fallback
		client := fmt.Sprintf("client-%d", i)
		a, err := p.Allocate(ctx, client)
		if err != nil {
			t.Fatalf("Allocate(%s): %v", client, err)
		}
		if want := creds[a.SubscriptionID]; a.Credential.Reveal() != want {
			t.Errorf("Allocate(%s) on %s: wrong credential", client, a.SubscriptionID)
		}
		if err := p.Record(ctx, client, authpool.Usage{ID: "msg_" + client, Time: clk.Now(), CostUSD: 0.25, Model: "claude-opus-4"}); err != nil {
			t.Fatalf("Record(%s): %v", client, err)
		}
	}
	if err := p.MarkModelLimited(ctx, "max-b", "opus", clk.Now().Add(time.Hour), "weekly opus limit"); err != nil {
		t.Fatal(err)
	}
	if err := p.UpdateCredential(ctx, "max-a", authpool.Token{Access: authpool.Credential(creds["refresh"])}); err != nil {
		t.Fatal(err)
	}
	if a, err := p.Allocate(ctx, "client-0"); err != nil || a.Credential.Reveal() != creds[a.SubscriptionID] && a.Credential.Reveal() != creds["refresh"] {
		t.Fatalf("Allocate after UpdateCredential: %v", err)
	}
	if report, err := p.RefreshCredentials(ctx); err != nil || len(report) != 1 || report[0].Err != nil || report[0].SubscriptionID != "max-b" {
		t.Fatalf("RefreshCredentials = %+v, %v; want max-b refreshed", report, err)
	}
	if list, err := p.Subscriptions(ctx); err != nil || list[2].ID != "max-b" || list[2].Credential.Reveal() != creds["renewed"] ||
		list[2].RefreshToken.Reveal() != creds["rt-b2"] {
		t.Fatalf("after RefreshCredentials: %v; want max-b's renewed credential and refresh token", err)
	}

	// Every 8-byte piece of every credential.
	var pieces []string
	for _, cred := range creds {
		for i := 0; i+8 <= len(cred); i++ {
			pieces = append(pieces, cred[i:i+8])
		}
	}
	check := func(where, s string) {
		for _, piece := range pieces {
			if strings.Contains(s, piece) {
				t.Errorf("%s holds %q, a piece of a credential", where, piece)
				return
			}
		}
	}
	var scanned, sealed int
	iter := c.Scan(ctx, 0, "{"+prefix+"}:*", 100).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		scanned++
		check("key name "+key, key)
		typ, err := c.Type(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		var values []string
		switch typ {
		case "string":
			v, err := c.Get(ctx, key).Result()
			if err != nil {
				t.Fatal(err)
			}
			values = []string{v}
		case "hash":
			m, err := c.HGetAll(ctx, key).Result()
			if err != nil {
				t.Fatal(err)
			}
			for f, v := range m {
				values = append(values, f, v)
				if seal.IsSealed(v) {
					sealed++
				}
			}
		case "set":
			values, err = c.SMembers(ctx, key).Result()
		case "zset":
			values, err = c.ZRange(ctx, key, 0, -1).Result()
		case "list":
			values, err = c.LRange(ctx, key, 0, -1).Result()
		case "none": // expired meanwhile
		default:
			t.Errorf("key %s has type %s, which this test does not read", key, typ)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			check("key "+key, v)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	// Four subscriptions (the fallback too), each with a sealed credential,
	// and max-b's sealed refresh token.
	if scanned < 10 || sealed != 5 {
		t.Errorf("scanned %d keys with %d sealed values; want the pool's keys, with 4 sealed credentials and a refresh token", scanned, sealed)
	}
	t.Logf("scanned %d keys, %d sealed credentials, none readable", scanned, sealed)
}
