package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/authpool/authpool/configfile"
)

// config is the example config, from this directory.
const config = "../../configfile/testdata/pool.json"

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, config); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()

	for _, want := range []string{
		"SUBSCRIPTION  KIND    CREDENTIAL", // the pool as configured
		"TIME   EVENT",                     // the event log
		"HOUR   max-20x",                   // the hourly health
		"SUBSCRIPTION  REQUESTS  COST",     // the end-of-day summary
		"CLIENT  MODEL",                    // the clients' totals
		"[REDACTED]",                       // credentials show redacted
		"Fallback spend $",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// The day holds each thing the example is meant to show.
	for _, event := range []string{"new", "moved", "fallback", "rebalanced", "stale", "limited", "open", "closed", "exhausted", "left"} {
		if !strings.Contains(got, "  "+event+"  ") {
			t.Errorf("the event log has no %q event", event)
		}
	}

	f, err := configfile.Load(config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.Config
	secrets := []string{cfg.Fallback.Credential.Reveal(), f.Webhooks[0].Secret.Reveal()}
	for _, s := range cfg.Subscriptions {
		secrets = append(secrets, s.Credential.Reveal())
	}
	if !strings.Contains(got, "with a bad signature") || strings.Contains(got, "; 0 events") {
		t.Errorf("the output does not tell what the webhook received")
	}
	for _, secret := range append(secrets, "sk-ant") {
		if strings.Contains(got, secret) {
			t.Errorf("output contains the credential %q", secret)
		}
	}

	for i, line := range strings.Split(got, "\n") {
		if strings.TrimRight(line, " ") != line {
			t.Errorf("line %d ends in spaces: %q", i+1, line)
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
