package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/seal"
	"github.com/authpool/authpool/server"
)

// TestLoginConfigWarning: a login -config of a subscription the file lists
// warns that a server's next start may write the file's credential over
// it. The warning must state the rule the pool applies (the stored login
// is kept only when it expires later than the file's credential), not the
// reverse: here the file's credential has no expiry, the next start takes
// it, and the login is gone.
func TestLoginConfigWarning(t *testing.T) {
	opts := redistest.Options(t)
	client := redistest.Client(t)
	prefix := redistest.Prefix(t, client)
	if opts.Password != "" {
		t.Skip("the test Redis has a password")
	}
	const keys = "k1:Q0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0M="
	store := `, "store": {"url": "redis://` + opts.Addr + "/" + strconv.Itoa(opts.DB) + `", "prefix": "` + prefix + `"}`
	path := writeConfig(t, "http://127.0.0.1:1", store)
	file := filepath.Join(t.TempDir(), ".credentials.json")
	const access = "sk-ant-oat01-warned-0123456789"
	creds, _ := json.Marshal(map[string]any{"claudeAiOauth": map[string]any{
		"accessToken": access, "refreshToken": "sk-ant-ort01-warned-0123456789",
		"expiresAt": time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC).UnixMilli()}})
	if err := os.WriteFile(file, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	env, _, errOut := testEnv(nil, map[string]string{seal.EnvKeys: keys})
	if code := run(t.Context(), []string{"login", "max-a", "-import", file, "-config", path}, env); code != 0 {
		t.Fatalf("login: exit %d, %s", code, errOut)
	}
	warning := errOut.String()
	// A server's next start.
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
	for _, s := range subs {
		if s.ID == "max-a" && s.Credential.Reveal() == access {
			t.Fatalf("the login survived the next start: the scenario does not hold")
		}
	}
	if strings.Contains(warning, "unless the file's expires later") {
		t.Errorf("the warning says the file's credential is written unless the file's expires later; "+
			"the pool keeps the login only when the login expires later (and never against a file credential without an expiry):\n%s", warning)
	}
}
