package authpool

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool/internal/bounds"
	"github.com/google/go-cmp/cmp"
)

func TestZeroConfigGetsTheDocumentedDefaults(t *testing.T) {
	want := Config{
		MaxClients:       15,
		WeeklyThreshold:  0.85,
		ForecastMargin:   0.02,
		Block:            BlockPolicy{Hours: 5},
		Health:           HealthWeights{Weekly: 50, Block: 30, PerClient: 5, Burn: 10, BurnCap: 2, IdleBonus: 10},
		Sessions:         SessionPolicy{IdleAfter: Duration(5 * time.Minute), StaleAfter: Duration(30 * time.Minute)},
		Rebalance:        RebalancePolicy{MinGapUSD: 5, MaxMoves: 3},
		RememberUsageIDs: Duration(168 * time.Hour),
		UsageIDMemoryMiB: 64,
		RefreshInterval:  Duration(time.Second),
		Notify:           NotifyConfig{Thresholds: []float64{0.8, 0.9}, QueueSize: 1024},
	}
	got := Config{}.withDefaults()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Config{}.withDefaults() (-want +got):\n%s", diff)
	}
	if err := got.validate(); err != nil {
		t.Errorf("the default config is not valid: %v", err)
	}
}

// A staleAfter left out follows an idleAfter set past its default, rather
// than refusing the config for a field the user never wrote.
func TestStaleAfterDefaultsToAtLeastIdleAfter(t *testing.T) {
	for _, tt := range []struct{ idle, want time.Duration }{
		{time.Minute, 30 * time.Minute},
		{time.Hour, time.Hour},
	} {
		got := Config{Sessions: SessionPolicy{IdleAfter: Duration(tt.idle)}}.withDefaults()
		if time.Duration(got.Sessions.StaleAfter) != tt.want {
			t.Errorf("idleAfter %v: staleAfter %v, want %v", tt.idle, time.Duration(got.Sessions.StaleAfter), tt.want)
		}
		if err := got.validate(); err != nil {
			t.Errorf("idleAfter %v: %v", tt.idle, err)
		}
	}
}

func TestSetConfigFieldsKeepTheirValues(t *testing.T) {
	c := Config{
		MaxClients:       3,
		WeeklyThreshold:  0.5,
		ForecastMargin:   -1,
		StrictBudgets:    true,
		FallbackFirst:    true,
		Block:            BlockPolicy{Fixed: true, Hours: 4},
		Health:           HealthWeights{Weekly: 1, Block: 2, PerClient: 3, Burn: 4, BurnCap: 5, IdleBonus: 6},
		Sessions:         SessionPolicy{IdleAfter: Duration(time.Minute), StaleAfter: Duration(time.Hour)},
		Rebalance:        RebalancePolicy{MinGapUSD: 0.5, MaxMoves: 10},
		RememberUsageIDs: Duration(time.Hour),
		UsageIDMemoryMiB: 1,
		RefreshInterval:  Duration(time.Millisecond),
		Notify:           NotifyConfig{Thresholds: []float64{0.5, 0.75, 1}, QueueSize: 7, Log: &LogNotifyConfig{Level: slog.LevelWarn, Events: []EventType{EventFailover}}},
	}
	if diff := cmp.Diff(c, c.withDefaults()); diff != "" {
		t.Errorf("withDefaults changed set fields (-set +got):\n%s", diff)
	}
	off := HealthWeights{Weekly: -1, Block: -2, PerClient: -3, Burn: -4, BurnCap: -5, IdleBonus: -6}
	neg := Config{Health: off}.withDefaults()
	if diff := cmp.Diff(off, neg.Health); diff != "" {
		t.Errorf("negative weights (off) are not kept (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(neg, neg.withDefaults()); diff != "" {
		t.Errorf("applying the defaults twice changed the config (-once +twice):\n%s", diff)
	}
}

// problemFields returns the JSON pointer each problem of err names.
func problemFields(t *testing.T, err error) []string {
	t.Helper()
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *ConfigError", err)
	}
	if !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("error %v does not match ErrInvalidConfig", err)
	}
	var fields []string
	for _, p := range ce.Problems {
		field, _, ok := strings.Cut(p.Error(), ": ")
		if !ok {
			t.Errorf("problem %q does not start with a field", p)
		}
		fields = append(fields, field)
	}
	return fields
}

func TestValidateReportsEveryProblemByJSONPointer(t *testing.T) {
	good := Subscription{ID: "max-a", Kind: KindMax20x, Credential: "sk-a"}
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"a valid config has no problem", Config{Subscriptions: []Subscription{good}}, nil},
		{"max clients below 1", Config{MaxClients: -1}, []string{"/maxClients"}},
		{"max clients past a billion", Config{MaxClients: 1<<30 + 1}, []string{"/maxClients"}},
		{"a weekly threshold above 1", Config{WeeklyThreshold: 1.5}, []string{"/weeklyThreshold"}},
		{"a negative weekly threshold", Config{WeeklyThreshold: -0.1}, []string{"/weeklyThreshold"}},
		{"a NaN weekly threshold", Config{WeeklyThreshold: math.NaN()}, []string{"/weeklyThreshold"}},
		{"a forecast margin above 1", Config{ForecastMargin: 1.01}, []string{"/forecastMargin"}},
		{"a NaN forecast margin", Config{ForecastMargin: math.NaN()}, []string{"/forecastMargin"}},
		{"an infinite forecast margin", Config{ForecastMargin: math.Inf(-1)}, []string{"/forecastMargin"}},
		{"a forecast margin of 1 is valid", Config{ForecastMargin: 1}, nil},
		{"a negative forecast margin switches the forecast off", Config{ForecastMargin: -1}, nil},
		{"blocks longer than a day", Config{Block: BlockPolicy{Hours: 25}}, []string{"/block/hours"}},
		{"blocks of negative hours", Config{Block: BlockPolicy{Hours: -5}}, []string{"/block/hours"}},
		{"a NaN health weight", Config{Health: HealthWeights{Weekly: math.NaN()}}, []string{"/health/weekly"}},
		{"an infinite health weight", Config{Health: HealthWeights{IdleBonus: math.Inf(1)}}, []string{"/health/idleBonus"}},
		{"a health weight above 1000", Config{Health: HealthWeights{BurnCap: 1001}}, []string{"/health/burnCap"}},
		{"a negative idle time", Config{Sessions: SessionPolicy{IdleAfter: Duration(-time.Minute)}}, []string{"/sessions/idleAfter"}},
		{"stale before idle", Config{Sessions: SessionPolicy{IdleAfter: Duration(time.Hour), StaleAfter: Duration(time.Minute)}}, []string{"/sessions/staleAfter"}},
		{"a negative rebalance gap", Config{Rebalance: RebalancePolicy{MinGapUSD: -1}}, []string{"/rebalance/minGapUSD"}},
		{"negative rebalance moves", Config{Rebalance: RebalancePolicy{MaxMoves: -1}}, []string{"/rebalance/maxMoves"}},
		{"a negative usage ID remembrance", Config{RememberUsageIDs: Duration(-1)}, []string{"/rememberUsageIds"}},
		{"a negative usage ID memory", Config{UsageIDMemoryMiB: -1}, []string{"/usageIdMemoryMiB"}},
		{"a usage ID memory past a billion MiB", Config{UsageIDMemoryMiB: 1<<30 + 1}, []string{"/usageIdMemoryMiB"}},
		{"a negative refresh interval", Config{RefreshInterval: Duration(-1)}, []string{"/refreshInterval"}},
		{"a subscription's problems are each named", Config{Subscriptions: []Subscription{good, {
			ID: "max b", Name: "bad\x00name", Kind: "ultra", MaxClients: -1, WeeklyBudgetUSD: -1, BlockBudgetUSD: math.NaN(),
			Status: Status{State: Limited},
		}}}, []string{
			"/subscriptions/1/id", "/subscriptions/1/name", "/subscriptions/1/kind", "/subscriptions/1/credential",
			"/subscriptions/1/maxClients", "/subscriptions/1/weeklyBudgetUSD", "/subscriptions/1/blockBudgetUSD",
			"/subscriptions/1/status/until",
		}},
		{"a missing ID and kind", Config{Subscriptions: []Subscription{{Credential: "sk"}}},
			[]string{"/subscriptions/0/id", "/subscriptions/0/kind"}},
		{"an ID longer than 64 bytes", Config{Subscriptions: []Subscription{{ID: strings.Repeat("a", 65), Kind: KindPro, Credential: "sk"}}},
			[]string{"/subscriptions/0/id"}},
		{"an unknown state", Config{Subscriptions: []Subscription{{ID: "a", Kind: KindPro, Credential: "sk", Status: Status{State: 7}}}},
			[]string{"/subscriptions/0/status/state"}},
		{"a budget above MaxUSD", Config{Subscriptions: []Subscription{{ID: "a", Kind: KindPro, Credential: "sk", WeeklyBudgetUSD: 2e6}}},
			[]string{"/subscriptions/0/weeklyBudgetUSD"}},
		{"duplicate IDs", Config{Subscriptions: []Subscription{good, {ID: "b", Kind: KindPro, Credential: "sk"}, good}},
			[]string{"/subscriptions/2/id"}},
		{"the reserved fallback ID", Config{Subscriptions: []Subscription{{ID: FallbackID, Kind: KindAPI, Credential: "sk"}}},
			[]string{"/subscriptions/0/id"}},
		{"alert thresholds out of order, and out of range", Config{Notify: NotifyConfig{Thresholds: []float64{0.9, 0.8, 1.5}}},
			[]string{"/notify/thresholds/1", "/notify/thresholds/2"}},
		{"a negative queue", Config{Notify: NotifyConfig{QueueSize: -1}}, []string{"/notify/queueSize"}},
		{"an unknown event type for the log", Config{Notify: NotifyConfig{Log: &LogNotifyConfig{Events: []EventType{"oops"}}}},
			[]string{"/notify/log/events"}},
		{"a credential with a line break, a reason too long", Config{Subscriptions: []Subscription{{ID: "a", Kind: KindPro,
			Credential: "sk-ant\r\nX-Injected: 1", Status: Status{State: Disabled, Reason: strings.Repeat("x", bounds.MaxReasonLength+1)}}}},
			[]string{"/subscriptions/0/credential", "/subscriptions/0/status/reason"}},
		{"a fallback credential with a control character", Config{Fallback: &Fallback{Credential: "sk\x00", DailyBudgetUSD: 1}},
			[]string{"/fallback/credential"}},
		{"a fallback without credential or cap", Config{Fallback: &Fallback{}},
			[]string{"/fallback/credential", "/fallback/dailyBudgetUSD"}},
		{"a fallback with a negative cap", Config{Fallback: &Fallback{Credential: "sk", DailyBudgetUSD: -1}},
			[]string{"/fallback/dailyBudgetUSD"}},
		{"a fallback with a bad name", Config{Fallback: &Fallback{Credential: "sk", DailyBudgetUSD: 5, Name: "a\nb"}},
			[]string{"/fallback/name"}},
		{"every problem at once", Config{
			MaxClients: -2, WeeklyThreshold: 2, Block: BlockPolicy{Hours: 30},
			Subscriptions: []Subscription{{ID: FallbackID, Kind: KindAPI, Credential: "sk"}, {ID: "x", Kind: KindPro}},
			Fallback:      &Fallback{Credential: "sk"},
		}, []string{
			"/maxClients", "/weeklyThreshold", "/block/hours", "/subscriptions/0/id", "/subscriptions/1/credential",
			"/fallback/dailyBudgetUSD",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.withDefaults().validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("validate() = nil, want problems at %v", tt.want)
			}
			if diff := cmp.Diff(tt.want, problemFields(t, err)); diff != "" {
				t.Errorf("validate() = %v\nfields (-want +got):\n%s", err, diff)
			}
		})
	}
}

func TestConfigErrorMessage(t *testing.T) {
	one := &ConfigError{Source: "config", Problems: []error{errors.New("/maxClients: -1: must be >= 1")}}
	if got, want := one.Error(), "config: /maxClients: -1: must be >= 1"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	two := &ConfigError{Source: "config", Problems: []error{errors.New("/a: x"), errors.New("/b: y")}}
	if got, want := two.Error(), "config: /a: x\nconfig: /b: y"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestNewRefusesAnInvalidConfigWithEveryProblem(t *testing.T) {
	_, err := New(context.Background(), Config{
		MaxClients:    -1,
		Subscriptions: []Subscription{{ID: "a", Kind: KindPro, Credential: "sk", MaxClients: -3}},
	})
	if diff := cmp.Diff([]string{"/maxClients", "/subscriptions/0/maxClients"}, problemFields(t, err)); diff != "" {
		t.Errorf("New() = %v\nfields (-want +got):\n%s", err, diff)
	}
}

func TestConfigReadsFromJSON(t *testing.T) {
	const doc = `{
		"subscriptions": [
			{"id": "max-a", "kind": "max20x", "credential": "sk-a", "weeklyBudgetUSD": 1000, "blockBudgetUSD": 140},
			{"id": "pro-b", "name": "Pro B", "kind": "pro", "credential": "sk-b", "maxClients": 4,
			 "status": {"state": "limited", "until": "2026-11-27T00:00:00Z", "reason": "429"}}
		],
		"fallback": {"credential": "sk-fb", "dailyBudgetUSD": 50},
		"maxClients": 10,
		"block": {"fixed": true},
		"sessions": {"idleAfter": "2m", "staleAfter": "1h"},
		"rememberUsageIds": "12h"
	}`
	var cfg Config
	if err := json.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	want := Config{
		Subscriptions: []Subscription{
			{ID: "max-a", Kind: KindMax20x, Credential: "sk-a", WeeklyBudgetUSD: 1000, BlockBudgetUSD: 140},
			{ID: "pro-b", Name: "Pro B", Kind: KindPro, Credential: "sk-b", MaxClients: 4,
				Status: Status{State: Limited, Until: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), Reason: "429"}},
		},
		Fallback:         &Fallback{Credential: "sk-fb", DailyBudgetUSD: 50},
		MaxClients:       10,
		Block:            BlockPolicy{Fixed: true},
		Sessions:         SessionPolicy{IdleAfter: Duration(2 * time.Minute), StaleAfter: Duration(time.Hour)},
		RememberUsageIDs: Duration(12 * time.Hour),
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("Unmarshal (-want +got):\n%s", diff)
	}
	if err := cfg.withDefaults().validate(); err != nil {
		t.Errorf("validate() = %v", err)
	}
	var d Duration
	if err := json.Unmarshal([]byte(`"five minutes"`), &d); err == nil {
		t.Error(`Duration accepted "five minutes"`)
	}
	if b, _ := json.Marshal(Duration(90 * time.Second)); string(b) != `"1m30s"` {
		t.Errorf("Duration(90s) marshals to %s, want \"1m30s\"", b)
	}
}

func TestCheckEventTypes(t *testing.T) {
	for _, tc := range []struct {
		types []EventType
		want  string
	}{
		{nil, ""},
		{eventTypes, ""},
		{[]EventType{EventFailover, EventExhausted}, ""},
		{[]EventType{"failover", "nope"}, `"nope" is not an event type (want one of `},
		{[]EventType{"failover", "failover"}, `"failover" is listed twice`},
	} {
		got := ""
		if err := CheckEventTypes(tc.types); err != nil {
			got = err.Error()
		}
		if tc.want == "" && got != "" || !strings.HasPrefix(got, tc.want) {
			t.Errorf("CheckEventTypes(%q) = %q, want %q", tc.types, got, tc.want)
		}
	}
}
