package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/seal"
	"github.com/authpool/authpool/server"
)

// TestLoginConfigRedis: login -config writes the login into the config's
// Redis store, sealed with AUTHPOOL_SEAL_KEYS, where a server of the same
// config finds it.
func TestLoginConfigRedis(t *testing.T) {
	opts := redistest.Options(t)
	client := redistest.Client(t)
	prefix := redistest.Prefix(t, client)
	const keys = "k1:Q0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0M="
	store := `, "store": {"url": "redis://` + opts.Addr + "/" + strconv.Itoa(opts.DB) + `", "prefix": "` + prefix + `"}`
	if opts.Password != "" {
		t.Skip("the test Redis has a password")
	}
	path := writeConfig(t, "http://127.0.0.1:1", store)
	file := filepath.Join(t.TempDir(), ".credentials.json")
	creds, _ := json.Marshal(map[string]any{"claudeAiOauth": map[string]any{
		"accessToken": "sk-ant-oat01-imported-0123456789", "refreshToken": "sk-ant-ort01-imported-0123456789"}})
	if err := os.WriteFile(file, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	env, _, errOut := testEnv(nil, map[string]string{seal.EnvKeys: keys})
	if code := run(t.Context(), []string{"login", "max-redis", "-kind", "pro", "-import", file, "-config", path}, env); code != 0 {
		t.Fatalf("login: exit %d, %s", code, errOut)
	}
	env, _, errOut = testEnv(nil, nil)
	if code := run(t.Context(), []string{"login", "max-redis", "-import", file, "-config", path}, env); code != 1 ||
		!strings.Contains(errOut.String(), "needs sealing keys") {
		t.Errorf("login without AUTHPOOL_SEAL_KEYS: exit %d, %s", code, errOut)
	}
	f, err := configfile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := seal.ParseKeys(keys)
	ring, _ := seal.NewKeyring(parsed...)
	pool, closePool, err := server.OpenPool(t.Context(), f, server.Options{Keyring: ring})
	if err != nil {
		t.Fatal(err)
	}
	defer closePool(t.Context())
	subs, err := pool.Subscriptions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range subs {
		found = found || s.ID == "max-redis" && s.Credential.Reveal() == "sk-ant-oat01-imported-0123456789"
	}
	if !found {
		t.Errorf("the store holds %v, not the login", subs)
	}
}
