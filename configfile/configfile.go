// Package configfile reads a pool's config file: JSON in the form of
// authpool.Config, with the callers of a proxy in front of the pool
// (callers, each a proxy.Caller), checked against a JSON schema
// (config.schema.json, which editors can use too) and then by
// authpool.Config.Validate and proxy.ValidateCallers, with its secrets read
// from the environment or from files, and the webhooks it names
// (notify.webhooks) built as notifiers, and the section of `authpool serve`
// (server, a Server). docs/configuration.md describes the file.
//
// The rules of a Config are authpool's (Config.WithDefaults,
// Config.Validate), package webhook's (Config.WithDefaults,
// Config.Validate) and package proxy's (ValidateCallers); the schema
// repeats their bounds and defaults so that an editor can show them, and
// this package's tests fail when it disagrees with them.
package configfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/webhook"
)

const (
	maxConfigSize = 16 << 20 // bytes of a config file
	maxSecretSize = 64 << 10 // bytes of a secret file
)

// File is a config file, read and checked.
type File struct {
	// Config is the pool's policy and subscriptions as written: fields left
	// out stay zero, which authpool.New reads as their defaults. It holds
	// the resolved secrets.
	Config authpool.Config
	// Webhooks are the file's notify.webhooks, as written, their secrets
	// resolved. Options builds their notifiers.
	Webhooks []webhook.Config
	// Callers are the file's callers, the callers of a proxy in front of
	// the pool (proxy.New), as written, their keys resolved: each with the
	// key it sends and, optionally, a cap on what it may spend and its own
	// rate limit.
	Callers []proxy.Caller
	// PriceFile is the file's prices.file, resolved relative to the config
	// file's directory and checked: a price file whose entries replace the
	// built-in prices of the same models (claude.PricesWithFile). "" when
	// the file names none.
	PriceFile string
	// Server is the file's server section as written (Server.WithDefaults
	// fills what it leaves out), its secrets resolved and its TLS files'
	// paths resolved relative to the config file's directory: what
	// `authpool serve` (package server) runs with.
	Server Server
}

// Options returns the options that give a pool what the file names besides
// its Config: a webhook.Notifier for each of Webhooks, posting with client
// (nil: a new http.Client), through authpool.WithNotifier. A File that Load
// or Read returned gives no error; one built otherwise may (a
// *authpool.ConfigError naming the webhook by JSON pointer).
func (f File) Options(client *http.Client) ([]authpool.Option, error) {
	opts := make([]authpool.Option, 0, len(f.Webhooks))
	for i, w := range f.Webhooks {
		n, err := webhook.New(w, client)
		if err != nil {
			return nil, fmt.Errorf("configfile: /notify/webhooks/%d: %w", i, err)
		}
		opts = append(opts, authpool.WithNotifier(n))
	}
	return opts, nil
}

// document is a config file's JSON: a Config, with the webhooks the root
// package cannot build, the proxy's callers and the switch only a file has.
type document struct {
	authpool.Config
	Notify  notifyDocument `json:"notify,omitzero"` // in place of Config.Notify
	Callers []proxy.Caller `json:"callers,omitempty"`
	// Prices names a price file for package claude.
	Prices struct {
		File string `json:"file"`
	} `json:"prices,omitzero"`
	// AllowLiteralCredentials lets the file write a credential, a webhook
	// secret or a caller key as a plain string instead of {"env": NAME} or
	// {"file": PATH}. The default value is false: secrets stay out of files.
	AllowLiteralCredentials bool `json:"allowLiteralCredentials,omitempty"`
	// Server configures `authpool serve`.
	Server Server `json:"server,omitzero"`
}

// notifyDocument is a config file's notify: a NotifyConfig and webhooks.
type notifyDocument struct {
	authpool.NotifyConfig
	Webhooks []webhook.Config `json:"webhooks,omitempty"`
}

// file returns what the document says, as a File.
func (d document) file() File {
	cfg := d.Config
	cfg.Notify = d.Notify.NotifyConfig
	return File{Config: cfg, Webhooks: d.Notify.Webhooks, Callers: d.Callers, PriceFile: d.Prices.File, Server: d.Server}
}

// problems returns every problem authpool.Config.Validate,
// webhook.Config.Validate and proxy.ValidateCallers find in f, each naming
// its field by JSON pointer, sorted by pointer as the schema's are.
func (f File) problems() []error {
	var errs []error
	var ce *authpool.ConfigError
	if err := f.Config.Validate(); errors.As(err, &ce) {
		errs = append(errs, ce.Problems...)
	}
	for i, w := range f.Webhooks {
		if err := w.Validate(); errors.As(err, &ce) {
			for _, p := range ce.Problems {
				errs = append(errs, fmt.Errorf("/notify/webhooks/%d%w", i, p))
			}
		}
	}
	if err := proxy.ValidateCallers(f.Callers); errors.As(err, &ce) {
		errs = append(errs, ce.Problems...)
	}
	errs = append(errs, f.Server.WithDefaults().problems()...)
	errs = append(errs, f.tokenClashes()...)
	slices.SortStableFunc(errs, func(a, b error) int {
		pa, _, _ := strings.Cut(a.Error(), ":")
		pb, _, _ := strings.Cut(b.Error(), ":")
		return comparePointers(pa, pb)
	})
	return errs
}

// Load reads the config file at path: JSON in the form of authpool.Config
// (with notify.webhooks, each a webhook.Config, and callers, each a
// proxy.Caller), validated against the
// package's JSON schema (config.schema.json), with credentials, webhook
// secrets and caller keys written as {"env": NAME} (an environment
// variable) or {"file": PATH} (a file, relative to the config file's
// directory), trailing whitespace trimmed. A plain string is refused unless
// the file sets "allowLiteralCredentials": true.
//
// A config that is not valid gives a *authpool.ConfigError (matching
// authpool.ErrInvalidConfig) that lists every problem at once, each line
// naming the file and the field by JSON pointer:
//
//	pool.json: /subscriptions/1/maxClients: must be >= 0
//	pool.json: /subscriptions/2/maxClient: unknown field (did you mean "maxClients"?)
//
// A file that is not JSON gives the line and column instead:
// "pool.json:3:14: invalid character ...". Problems that need a well-formed
// config (duplicate IDs, thresholds out of order, a webhook on plain http)
// are reported once the schema's are fixed.
func Load(path string) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return File{}, fmt.Errorf("configfile: %w", err)
	}
	defer f.Close()
	return read(f, filepath.Base(path), osSecrets(filepath.Dir(path)))
}

// Read reads a config as Load does, from r. Name stands for the config in
// errors; a {"file": PATH} secret is read relative to the working
// directory.
func Read(r io.Reader, name string) (File, error) {
	return read(r, name, osSecrets(""))
}

// read reads a config file in stages, each reporting all its problems:
// JSON syntax (by line and column); then the schema, duplicate keys and the
// secrets (by JSON pointer); then, on a well-formed config, the Go checks
// (File.problems).
func read(r io.Reader, name string, secrets secretSource) (File, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigSize+1))
	if err != nil {
		return File{}, fmt.Errorf("configfile: read %s: %w", name, err)
	}
	if len(data) > maxConfigSize {
		return File{}, &authpool.ConfigError{Source: name, Problems: []error{fmt.Errorf("larger than %d MiB", maxConfigSize>>20)}}
	}
	tree, probs, err := parseConfigJSON(data, name)
	if err != nil {
		return File{}, err
	}
	if slices.ContainsFunc(probs, func(p problem) bool { return p.stop }) {
		return File{}, configProblems(name, probs)
	}
	schema, err := configSchema()
	if err != nil {
		return File{}, err
	}
	schemaProbs, err := schema.check(tree)
	if err != nil {
		return File{}, fmt.Errorf("configfile: %s: %w", name, err)
	}
	probs = append(probs, schemaProbs...)
	probs = append(probs, resolveSecrets(tree, secrets, schemaProbs)...)
	probs = append(probs, resolvePrices(tree, secrets, schemaProbs)...)
	probs = append(probs, resolveServerFiles(tree, secrets, schemaProbs)...)
	if len(probs) > 0 {
		return File{}, configProblems(name, probs)
	}
	doc, err := decode(tree)
	if err != nil {
		// The schema should have caught it: say what Go could not decode.
		return File{}, &authpool.ConfigError{Source: name, Problems: []error{fmt.Errorf("cannot decode: %w", err)}}
	}
	f := doc.file()
	if errs := f.problems(); len(errs) > 0 {
		return File{}, &authpool.ConfigError{Source: name, Problems: errs}
	}
	return f, nil
}

// decode decodes a config file's tree, without its "$schema", refusing
// fields Go does not know.
func decode(tree any) (document, error) {
	top, _ := tree.(map[string]any) // the schema says so
	delete(top, "$schema")
	js, err := json.Marshal(top)
	if err != nil {
		return document{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var doc document
	err = dec.Decode(&doc)
	return doc, err
}
