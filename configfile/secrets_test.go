package configfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadSecrets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AUTHPOOL_TEST_ENV_TOKEN", "sk-ant-oat01-example-env \n")
	write("keys/file.token", "sk-ant-oat01-example-file\r\n\n")
	write("hook.secret", "whsec-example-hook-secret")
	write("pool.json", `{
		"subscriptions": [
			{"id": "env", "kind": "pro", "credential": {"env": "AUTHPOOL_TEST_ENV_TOKEN"}},
			{"id": "file", "kind": "pro", "credential": {"file": "keys/file.token"}}
		],
		"fallback": {"credential": {"file": "`+filepath.ToSlash(filepath.Join(dir, "keys", "file.token"))+`"}, "dailyBudgetUSD": 5},
		"notify": {"webhooks": [{"url": "https://hooks.example.com/x", "secret": {"file": "hook.secret"}}]}
	}`)
	cfg, err := Load(filepath.Join(dir, "pool.json"))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{cfg.Config.Subscriptions[0].Credential.Reveal(), cfg.Config.Subscriptions[1].Credential.Reveal(),
		cfg.Config.Fallback.Credential.Reveal(), cfg.Webhooks[0].Secret.Reveal()}
	want := []string{"sk-ant-oat01-example-env", "sk-ant-oat01-example-file", "sk-ant-oat01-example-file", "whsec-example-hook-secret"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resolved secrets (-want +got):\n%s", diff)
	}

	t.Run("Read reads files relative to the working directory", func(t *testing.T) {
		cfg, err := Read(strings.NewReader(`{"subscriptions": [
			{"id": "pro", "kind": "pro", "credential": {"file": "testdata/secrets/pro.token"}}]}`), "inline.json")
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Config.Subscriptions[0].Credential.Reveal(); got != "sk-ant-oat01-example-pro" {
			t.Errorf("credential %q, want the file's", got)
		}
		_, err = Read(strings.NewReader(`{"subscriptions": [
			{"id": "pro", "kind": "pro", "credential": {"file": "keys/file.token"}}]}`), "inline.json")
		want := `inline.json: /subscriptions/0/credential: subscription "pro": secret file "keys/file.token" does not exist`
		if err == nil || err.Error() != want {
			t.Errorf("error %v, want %s", err, want)
		}
	})

	t.Run("literals when allowed", func(t *testing.T) {
		cfg, err := Read(strings.NewReader(`{"allowLiteralCredentials": true,
			"subscriptions": [{"id": "pro", "kind": "pro", "credential": "sk-ant-oat01-example-literal"}]}`), "inline.json")
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Config.Subscriptions[0].Credential.Reveal(); got != "sk-ant-oat01-example-literal" {
			t.Errorf("credential %q, want the literal", got)
		}
	})

	t.Run("a secret's value is never in an error", func(t *testing.T) {
		const value = "sk-ant-oat01-example-two\nlines"
		write("two-lines.token", value)
		t.Setenv("AUTHPOOL_TEST_TWO_LINES", value)
		_, err := Load(filepath.Join(dir, "bad.json"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Load of a missing file: %v, want fs.ErrNotExist", err)
		}
		write("bad.json", `{"subscriptions": [
			{"id": "a", "kind": "pro", "credential": {"file": "two-lines.token"}},
			{"id": "b", "kind": "pro", "credential": {"env": "AUTHPOOL_TEST_TWO_LINES"}, "maxClients": -1}]}`)
		_, err = Load(filepath.Join(dir, "bad.json"))
		want := `bad.json: /subscriptions/0/credential: subscription "a": secret file "two-lines.token" holds a control character or a line break: a credential is one line of text
bad.json: /subscriptions/1/credential: subscription "b": environment variable AUTHPOOL_TEST_TWO_LINES holds a control character or a line break: a credential is one line of text
bad.json: /subscriptions/1/maxClients: must be >= 0`
		if err == nil || err.Error() != want {
			t.Errorf("error:\n%v\nwant:\n%s", err, want)
		}
	})
}

// TestLoadPrices checks that a config's price file is read relative
// to the config file's directory, checked, and returned resolved.
func TestLoadPrices(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(dir, "conf"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "conf", "prices.json"), []byte(`{"claude-x": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}}`), 0o644))
	must(os.WriteFile(filepath.Join(dir, "conf", "pool.json"), []byte(`{"prices": {"file": "prices.json"}}`), 0o644))
	cfg, err := Load(filepath.Join(dir, "conf", "pool.json"))
	must(err)
	if want := filepath.Join(dir, "conf", "prices.json"); cfg.PriceFile != want {
		t.Errorf("price file %q, want the file at %s", cfg.PriceFile, want)
	}
	abs := filepath.Join(dir, "conf", "prices.json")
	must(os.WriteFile(filepath.Join(dir, "abs.json"), []byte(`{"prices": {"file": `+strconv.Quote(abs)+`}}`), 0o644))
	if f, err := Load(filepath.Join(dir, "abs.json")); err != nil || f.PriceFile != abs {
		t.Errorf("an absolute path: %q, %v", f.PriceFile, err)
	}
}
