package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/authpool/authpool/configfile"
)

// config is the example config, from this directory.
const config = "../../configfile/testdata/pool.json"

// TestRun checks that the day shows each thing the example is meant to show,
// prints no credential, and is the same day on every run.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, config); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"(new)",                            // a first Allocate
		"(moved: limited)",                 // off a subscription the 429 took out
		"(fallback: block budget spent)",   // onto the fallback
		"Rebalance moves idle",             // a move by Rebalance
		"Rebalance releases",               // a stale session released
		"is refused (ErrExhausted)",        // nothing left to serve
		"(Release)",                        // a client leaving
		"max-20x is limited until 12:40",   // the 429
		"Credentials print as [REDACTED].", // and never in the clear
		"Responses recorded twice, counted once: ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	f, err := configfile.Load(config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.Config
	secrets := []string{cfg.Fallback.Credential.Reveal(), "sk-ant"}
	for _, s := range cfg.Subscriptions {
		secrets = append(secrets, s.Credential.Reveal())
	}
	for _, secret := range secrets {
		if strings.Contains(got, secret) {
			t.Errorf("output contains the credential %q", secret)
		}
	}
	var again bytes.Buffer
	if err := run(&again, config); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if again.String() != got {
		t.Error("two runs printed different days: the simulation is not deterministic")
	}
}
