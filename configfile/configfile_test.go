package configfile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/webhook"
)

// The goldens are rewritten with: go test -run TestLoad -update
// (the update flag is declared in update_flag_test.go).

// TestLoadInvalid loads each testdata/invalid/*.json and
// compares its error with the .golden file next to it.
func TestLoadInvalid(t *testing.T) {
	t.Setenv("AUTHPOOL_TEST_EMPTY_TOKEN", "")
	t.Setenv("AUTHPOOL_TEST_SHORT_TOKEN", "short-token")
	for _, name := range []string{"AUTHPOOL_TEST_UNSET_TOKEN", "AUTHPOOL_TEST_UNSET_SECRET"} {
		t.Setenv(name, "") // restored after the test
		os.Unsetenv(name)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid configs: %v", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	secret, err := os.ReadFile(filepath.Join("testdata", "invalid", "secrets", "a.token"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			cfg, err := Load(file)
			if err == nil {
				t.Fatalf("Load(%s) = %+v, nil; want an error", file, cfg)
			}
			var ce *authpool.ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, authpool.ErrInvalidConfig) || len(ce.Problems) == 0 {
				t.Fatalf("Load(%s) = %v (%T), want a *ConfigError matching ErrInvalidConfig", file, err, err)
			}
			got := err.Error() + "\n"
			for _, leak := range []string{wd, "example-literal", strings.TrimSpace(string(secret))} {
				if strings.Contains(got, leak) {
					t.Errorf("the error holds %q:\n%s", leak, got)
				}
			}
			golden := strings.TrimSuffix(file, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestLoad -update to write it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("Load(%s) error (-%s +got):\n%s", file, golden, diff)
			}
		})
	}
}

// exampleFile is what testdata/pool.json holds.
func exampleFile() File {
	return File{Config: authpool.Config{
		Subscriptions: []authpool.Subscription{
			{ID: "max-20x", Name: "Max 20x", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-example-max-20x", WeeklyBudgetUSD: 1000, BlockBudgetUSD: 140},
			{ID: "max-5x", Name: "Max 5x", Kind: authpool.KindMax5x, Credential: "sk-ant-oat01-example-max-5x", MaxClients: 8, WeeklyBudgetUSD: 250, BlockBudgetUSD: 35},
			{ID: "pro", Name: "Pro", Kind: authpool.KindPro, Credential: "sk-ant-oat01-example-pro", MaxClients: 3, WeeklyBudgetUSD: 50, BlockBudgetUSD: 7},
		},
		Fallback:        &authpool.Fallback{Name: "api-key", Credential: "sk-ant-api03-example-fallback", DailyBudgetUSD: 50},
		MaxClients:      15,
		WeeklyThreshold: 0.85,
		Block:           authpool.BlockPolicy{Hours: 5},
		Sessions:        authpool.SessionPolicy{IdleAfter: authpool.Duration(5 * time.Minute), StaleAfter: authpool.Duration(30 * time.Minute)},
		Rebalance:       authpool.RebalancePolicy{MinGapUSD: 5, MaxMoves: 3},
		Notify:          authpool.NotifyConfig{Thresholds: []float64{0.8, 0.9}, Log: &authpool.LogNotifyConfig{Level: slog.LevelInfo}},
	}, Callers: []proxy.Caller{
		{ID: "alice", Key: "ap-caller-example-alice-0001", CapUSD: 40, CapWindow: authpool.Duration(5 * time.Hour)},
		{ID: "ci", Key: "ap-caller-example-ci-000000002", Sessionless: proxy.SessionlessSpread},
	}, Webhooks: []webhook.Config{{
		URL:         "https://hooks.example.com/authpool",
		Secret:      "whsec-example-webhook-secret",
		Events:      []authpool.EventType{authpool.EventThreshold, authpool.EventFailover, authpool.EventLimited, authpool.EventRecovered, authpool.EventExhausted},
		Timeout:     authpool.Duration(10 * time.Second),
		MaxAttempts: 5,
	}}}
}

func TestLoadExample(t *testing.T) {
	f, err := Load(filepath.Join("testdata", "pool.json"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(exampleFile(), f); diff != "" {
		t.Errorf("Load(pool.json) (-want +got):\n%s", diff)
	}
	opts, err := f.Options(nil)
	if err != nil || len(opts) != len(f.Webhooks) {
		t.Fatalf("Options: %d options, %v; want one per webhook", len(opts), err)
	}
	p, err := authpool.New(context.Background(), f.Config, opts...)
	if err != nil {
		t.Fatalf("New refuses the example config: %v", err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Error(err)
	}
}

// fullFile sets every field of File, each to a valid value other than its
// default.
func fullFile() File {
	hook := func(url string) webhook.Config {
		return webhook.Config{URL: url, Secret: authpool.Credential("whsec-example-hook-" + url[len(url)-1:]),
			Events:  []authpool.EventType{authpool.EventLimited, authpool.EventRecovered},
			Timeout: authpool.Duration(3 * time.Second), MaxAttempts: 7,
			MinBackoff: authpool.Duration(250 * time.Millisecond), MaxBackoff: authpool.Duration(90 * time.Second)}
	}
	return File{Config: authpool.Config{
		Subscriptions: []authpool.Subscription{
			{ID: "max-a", Name: "Max A", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-example-a", MaxClients: 9,
				RefreshToken:        "sk-ant-ort01-example-a",
				CredentialExpiresAt: time.Date(2030, 1, 1, 20, 0, 0, 7, time.UTC), WeeklyBudgetUSD: 1000.5, BlockBudgetUSD: 140.25,
				Status: authpool.Status{State: authpool.Limited, Until: time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC), Reason: "429 from upstream"}},
			{ID: "api.b", Name: "API B", Kind: authpool.KindAPI, Credential: "sk-ant-api03-example-b", MaxClients: 1,
				RefreshToken:        "sk-ant-ort01-example-b",
				CredentialExpiresAt: time.Date(2031, 6, 1, 0, 0, 0, 0, time.UTC), WeeklyBudgetUSD: 1e6, BlockBudgetUSD: 0.01,
				Status: authpool.Status{State: authpool.Disabled, Until: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Reason: "paused"}},
		},
		Fallback:         &authpool.Fallback{Name: "backup key", Credential: "sk-ant-api03-example-fallback", DailyBudgetUSD: 12.5},
		MaxClients:       20,
		WeeklyThreshold:  0.75,
		ForecastMargin:   0.05,
		StrictBudgets:    true,
		FallbackFirst:    true,
		Block:            authpool.BlockPolicy{Fixed: true, Hours: 4},
		Health:           authpool.HealthWeights{Weekly: 40, Block: 20.5, PerClient: 2, Burn: 8, BurnCap: 3, IdleBonus: 1000},
		Sessions:         authpool.SessionPolicy{IdleAfter: authpool.Duration(90 * time.Second), StaleAfter: authpool.Duration(time.Hour + 30*time.Minute)},
		Rebalance:        authpool.RebalancePolicy{MinGapUSD: 2.5, MaxMoves: 10},
		RememberUsageIDs: authpool.Duration(48 * time.Hour),
		UsageIDMemoryMiB: 16,
		RefreshInterval:  authpool.Duration(1500 * time.Millisecond),
		Notify: authpool.NotifyConfig{
			Thresholds: []float64{0.5, 0.75, 1},
			QueueSize:  4096,
			Log:        &authpool.LogNotifyConfig{Level: slog.LevelWarn + 2, Events: []authpool.EventType{authpool.EventFailover, authpool.EventExhausted}},
		},
	}, Callers: []proxy.Caller{
		{ID: "team-a", Key: "caller-key-team-a-0123456789", CapUSD: 40, CapWindow: authpool.Duration(5 * time.Hour), Rate: &proxy.RateLimit{PerSecond: 0.5, Burst: 3}, Sessionless: proxy.SessionlessSticky},
		{ID: "ci", Key: "caller-key-ci-0123456789abcdef", CapUSD: 10, CapWindow: authpool.Duration(24 * time.Hour), Rate: &proxy.RateLimit{PerSecond: 10, Burst: 20}, Sessionless: proxy.SessionlessSpread},
	}, Webhooks: []webhook.Config{hook("https://hooks.example.com/1"), hook("http://127.0.0.1:9/2")},
		PriceFile: filepath.Join("testdata", "prices.json"),
		Server: Server{
			Listen:         "0.0.0.0:8443",
			TLS:            &ServerTLS{CertFile: filepath.Join("testdata", "tls", "cert.pem"), KeyFile: filepath.Join("testdata", "tls", "key.pem")},
			InsecureListen: true,
			AdminToken:     "admin-token-example-0123456789",
			StatusToken:    "status-token-example-012345678",
			PublicStatus:   true,
			Store:          ServerStore{URL: "rediss://pool@redis.example.com:6380/3", Prefix: "team-a", Password: "redis-password-example"},
			Upstream:       "https://api.example.com",
			RebalanceEvery: authpool.Duration(30 * time.Second),
			RefreshBefore:  authpool.Duration(20 * time.Minute),
			ShutdownGrace:  authpool.Duration(45 * time.Second),
			UsagePoll:      UsagePoll{Every: authpool.Duration(10 * time.Minute), Jitter: authpool.Duration(2 * time.Minute), QuietFor: authpool.Duration(15 * time.Minute), Off: true},
			OAuth: OAuth{ClientID: "client-example", AuthorizeURL: "https://auth.example.com/authorize", TokenURL: "https://auth.example.com/token",
				RedirectURI: "http://localhost:54545/callback", Scopes: []string{"user:inference", "user:profile"},
				UsageURL: "https://api.example.com/usage", ProfileURL: "https://api.example.com/profile"},
		}}
}

// zeroFields lists the fields of v, recursively, that hold their zero
// value (or an empty slice).
func zeroFields(v reflect.Value, path string) []string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return []string{path}
		}
		return zeroFields(v.Elem(), path)
	case reflect.Slice:
		if v.Len() == 0 {
			return []string{path}
		}
		var zero []string
		for i := range v.Len() {
			zero = append(zero, zeroFields(v.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return zero
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			break
		}
		var zero []string
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				zero = append(zero, zeroFields(v.Field(i), path+"."+v.Type().Field(i).Name)...)
			}
		}
		return zero
	}
	if v.IsZero() {
		return []string{path}
	}
	return nil
}

// asDocument returns f as a config file's JSON holds it.
func asDocument(f File) document {
	d := document{Config: f.Config, Notify: notifyDocument{NotifyConfig: f.Config.Notify, Webhooks: f.Webhooks}, Callers: f.Callers, Server: f.Server}
	d.Prices.File = f.PriceFile
	return d
}

// secretsAsEnv replaces, in a File's JSON, each credential and webhook
// secret by {"env": NAME}, and sets NAME to its value; and puts back each
// webhook's URL, which the JSON shows redacted.
func secretsAsEnv(t *testing.T, f File) []byte {
	t.Helper()
	cfg := f.Config
	js, err := json.Marshal(asDocument(f))
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := json.Unmarshal(js, &tree); err != nil {
		t.Fatal(err)
	}
	set := func(obj any, key, name string, value authpool.Credential) {
		obj.(map[string]any)[key] = map[string]any{"env": name}
		t.Setenv(name, value.Reveal())
	}
	for i, s := range cfg.Subscriptions {
		set(tree["subscriptions"].([]any)[i], "credential", fmt.Sprintf("AUTHPOOL_TEST_SUB_%d", i), s.Credential)
		if s.RefreshToken != "" {
			set(tree["subscriptions"].([]any)[i], "refreshToken", fmt.Sprintf("AUTHPOOL_TEST_SUB_RT_%d", i), s.RefreshToken)
		}
	}
	if cfg.Fallback != nil {
		set(tree["fallback"], "credential", "AUTHPOOL_TEST_FALLBACK", cfg.Fallback.Credential)
	}
	for i, w := range f.Webhooks {
		hook := tree["notify"].(map[string]any)["webhooks"].([]any)[i]
		set(hook, "secret", fmt.Sprintf("AUTHPOOL_TEST_HOOK_%d", i), w.Secret)
		hook.(map[string]any)["url"] = w.URL
	}
	for i, c := range f.Callers {
		set(tree["callers"].([]any)[i], "key", fmt.Sprintf("AUTHPOOL_TEST_CALLER_%d", i), c.Key)
	}
	if srv, ok := tree["server"].(map[string]any); ok {
		for _, t := range []struct {
			key, env string
			v        authpool.Credential
		}{{"adminToken", "AUTHPOOL_TEST_ADMIN", f.Server.AdminToken}, {"statusToken", "AUTHPOOL_TEST_STATUS", f.Server.StatusToken}} {
			if t.v != "" {
				set(srv, t.key, t.env, t.v)
			}
		}
		if f.Server.Store.Password != "" {
			set(srv["store"], "password", "AUTHPOOL_TEST_STORE_PASSWORD", f.Server.Store.Password)
		}
	}
	out, err := json.MarshalIndent(tree, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("REDACTED")) {
		t.Fatalf("a secret is left redacted in\n%s", out)
	}
	return out
}

func TestConfigRoundTrip(t *testing.T) {
	want := fullFile()
	if zero := zeroFields(reflect.ValueOf(want), "File"); len(zero) > 0 {
		t.Fatalf("fullFile leaves fields unset: %v", zero)
	}
	if errs := want.problems(); len(errs) > 0 {
		t.Fatalf("fullFile is not valid: %v", errs)
	}
	js := secretsAsEnv(t, want)
	got, err := Read(bytes.NewReader(js), "full.json")
	if err != nil {
		t.Fatalf("Read(%s): %v", js, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip through\n%s\n(-want +got):\n%s", js, diff)
	}
}

func TestConfigZeroRoundTrip(t *testing.T) {
	got, err := Read(strings.NewReader("{}"), "empty.json")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(File{}, got); diff != "" {
		t.Errorf("Read({}) (-want +got):\n%s", diff)
	}
}

// TestReadNumbersAndSchemaField: integers may be written as 15.0 or
// 1e1 (JSON does not tell them apart), and "$schema" is for editors.
func TestReadNumbersAndSchemaField(t *testing.T) {
	got, err := Read(strings.NewReader(`{"$schema": "../config.schema.json", "maxClients": 15.0,
		"rebalance": {"maxMoves": 1e1, "minGapUSD": 25e-1}}`), "numbers.json")
	if err != nil {
		t.Fatal(err)
	}
	want := File{Config: authpool.Config{MaxClients: 15, Rebalance: authpool.RebalancePolicy{MaxMoves: 10, MinGapUSD: 2.5}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestReadSyntaxErrorPositions(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "x.json:1:1: unexpected end of JSON input"},
		{"{\n  \"a\": tru\n}", "x.json:2:11: invalid character '\\n' in literal true (expecting 'e')"},
		{"{\"é\": x}", "x.json:1:7: invalid character 'x' looking for beginning of value"},
		{"{} []", "x.json:1:4: invalid character '[' after top-level value"},
	} {
		_, err := Read(strings.NewReader(tc.in), "x.json")
		if err == nil || err.Error() != tc.want {
			t.Errorf("Read(%q) = %v, want %s", tc.in, err, tc.want)
		}
		if !errors.Is(err, authpool.ErrInvalidConfig) {
			t.Errorf("Read(%q) = %v, not ErrInvalidConfig", tc.in, err)
		}
	}
}

// FuzzRead reads arbitrary bytes as a config file, with secrets from
// a fake environment and file system: it never panics, and either returns
// a Config that validates or a *ConfigError with at least one problem,
// none of which holds a secret's value.
//
//	go test -run '^$' -fuzz FuzzRead .
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	more, _ := filepath.Glob(filepath.Join("testdata", "invalid", "*.json"))
	for _, file := range append(files, more...) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	js, err := json.Marshal(asDocument(fullFile()))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bytes.ReplaceAll(js, []byte(`"[REDACTED]"`), []byte(`{"env": "SET"}`)))
	f.Add([]byte(`{"subscriptions":[{"id":"a","kind":"pro","credential":{"env":"SET"}}],"maxClients":1e3,"weeklyThreshold":1e-400}`))
	const envValue, fileValue = "env-secret-value-f00d", "file-secret-value-beef"
	secrets := secretSource{
		lookupEnv: func(name string) (string, bool) {
			switch name {
			case "SET":
				return envValue, true
			case "EMPTY":
				return "", true
			}
			return "", false
		},
		readFile: func(path string) ([]byte, error) {
			if strings.HasSuffix(path, ".token") {
				return []byte(fileValue + "\n"), nil
			}
			return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
		},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		f, err := read(bytes.NewReader(data), "fuzz.json", secrets)
		if err == nil {
			if errs := f.problems(); len(errs) > 0 {
				t.Fatalf("Read(%q) returned a file that does not validate: %v", data, errs)
			}
			return
		}
		var ce *authpool.ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, authpool.ErrInvalidConfig) || len(ce.Problems) == 0 {
			t.Fatalf("Read(%q) = %v (%T), want a *ConfigError with problems", data, err, err)
		}
		msg := err.Error()
		for _, v := range []string{envValue, fileValue} {
			if strings.Contains(msg, v) && !bytes.Contains(data, []byte(v)) {
				t.Fatalf("Read(%q) reveals a secret:\n%s", data, msg)
			}
		}
	})
}

func ExampleLoad() {
	f, err := Load("testdata/pool.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range f.Config.Subscriptions {
		fmt.Println(s.ID, s.Kind, s.Credential, s.WeeklyBudgetUSD)
	}
	fmt.Println("fallback:", f.Config.Fallback)
	fmt.Println("webhooks:", len(f.Webhooks))

	_, err = Read(strings.NewReader(`{"subscriptions": [{"id": "max-a", "kind": "max20x",
		"credential": {"env": "AUTHPOOL_EXAMPLE_MAX_A_TOKEN"}, "maxClient": 10}], "block": {"fixed": "yes"}}`), "pool.json")
	fmt.Println(err)
	// Output:
	// max-20x max20x [REDACTED] 1000
	// max-5x max5x [REDACTED] 250
	// pro pro [REDACTED] 50
	// fallback: {Name:api-key Credential:[REDACTED] DailyBudgetUSD:50}
	// webhooks: 1
	// pool.json: /block/fixed: must be true or false, not a string
	// pool.json: /subscriptions/0/credential: subscription "max-a": environment variable AUTHPOOL_EXAMPLE_MAX_A_TOKEN is not set
	// pool.json: /subscriptions/0/maxClient: unknown field (did you mean "maxClients"?)
}
