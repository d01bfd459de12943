// Package configfile reads a pool's config file: JSON in the form of
// authpool.Config, checked against a JSON schema (config.schema.json, which
// editors can use too) and then by authpool.Config.Validate, with its
// secrets read from the environment or from files, and the webhooks it
// names (notify.webhooks) built as notifiers. docs/configuration.md
// describes the file.
//
// The rules of a Config are authpool's (Config.WithDefaults,
// Config.Validate) and package webhook's (Config.WithDefaults,
// Config.Validate); the schema repeats their bounds and defaults so that an
// editor can show them, and this package's tests fail when it disagrees
// with them.
package configfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/internal/pricefile"
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
// package cannot build and the switch only a file has.
type document struct {
	authpool.Config
	Notify notifyDocument `json:"notify,omitzero"` // in place of Config.Notify
	// AllowLiteralCredentials lets the file write a credential, a webhook
	// secret or a caller key as a plain string instead of {"env": NAME} or
	// {"file": PATH}. The default value is false: secrets stay out of files.
	AllowLiteralCredentials bool `json:"allowLiteralCredentials,omitempty"`
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
	return File{Config: cfg, Webhooks: d.Notify.Webhooks}
}

// problems returns every problem authpool.Config.Validate and
// webhook.Config.Validate find in f, each naming its field by JSON pointer,
// sorted by pointer as the schema's are.
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
	slices.SortStableFunc(errs, func(a, b error) int {
		pa, _, _ := strings.Cut(a.Error(), ":")
		pb, _, _ := strings.Cut(b.Error(), ":")
		return comparePointers(pa, pb)
	})
	return errs
}

// Load reads the config file at path: JSON in the form of authpool.Config
// (with notify.webhooks, each a webhook.Config), validated against the
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

// secretSource reads the environment variables and files secrets refer to.
type secretSource struct {
	lookupEnv func(name string) (string, bool)
	// readFile returns at most maxSecretSize+1 bytes of the file at path, as
	// the config wrote it.
	readFile func(path string) ([]byte, error)
	// openFile opens a file the config names that is not a secret (the
	// price file), returning its path as resolved.
	openFile func(path string) (string, io.ReadCloser, error)
}

// osSecrets reads the process's environment, and files relative to dir.
func osSecrets(dir string) secretSource {
	resolve := func(path string) string {
		if dir != "" && !filepath.IsAbs(path) {
			return filepath.Join(dir, path)
		}
		return path
	}
	return secretSource{
		lookupEnv: os.LookupEnv,
		openFile: func(path string) (string, io.ReadCloser, error) {
			path = resolve(path)
			f, err := os.Open(path)
			return path, f, err
		},
		readFile: func(path string) ([]byte, error) {
			if dir != "" && !filepath.IsAbs(path) {
				path = filepath.Join(dir, path)
			}
			f, err := os.Open(path)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			return io.ReadAll(io.LimitReader(f, maxSecretSize+1))
		},
	}
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

// resolveSecrets replaces each {"env": NAME} and {"file": PATH} secret in
// tree by its value, and reports literal secrets the file does not allow.
// Secrets the schema already found wrong are left alone. No problem holds a
// secret's value.
func resolveSecrets(tree any, src secretSource, schemaProbs []problem) []problem {
	top, _ := tree.(map[string]any)
	if top == nil {
		return nil
	}
	allowLiteral := top["allowLiteralCredentials"] == true
	var probs []problem
	resolve := func(obj any, key, at, who, what string) {
		m, _ := obj.(map[string]any)
		if m == nil || slices.ContainsFunc(schemaProbs, func(p problem) bool { return p.at == at || strings.HasPrefix(p.at, at+"/") }) {
			return
		}
		v, msg := resolveSecret(m[key], src, allowLiteral, what)
		switch {
		case msg != "":
			if who != "" {
				msg = who + ": " + msg
			}
			probs = append(probs, problem{at: at, msg: msg})
		case v != "":
			m[key] = v
		}
	}
	subs, _ := top["subscriptions"].([]any)
	for i, s := range subs {
		who := fmt.Sprintf("subscription %d", i)
		if m, _ := s.(map[string]any); m != nil {
			if id, _ := m["id"].(string); id != "" && len(id) <= 64 {
				who = fmt.Sprintf("subscription %q", id)
			}
		}
		resolve(s, "credential", fmt.Sprintf("/subscriptions/%d/credential", i), who, "credential")
	}
	resolve(top["fallback"], "credential", "/fallback/credential", "the fallback", "credential")
	notify, _ := top["notify"].(map[string]any)
	hooks, _ := notify["webhooks"].([]any)
	for i, h := range hooks {
		who := fmt.Sprintf("webhook %d", i)
		if m, _ := h.(map[string]any); m != nil {
			if raw, _ := m["url"].(string); raw != "" {
				if u, err := url.Parse(raw); err == nil && u.Host != "" {
					who = "webhook to " + u.Host // not the path: some receivers keep a token there
				}
			}
		}
		resolve(h, "secret", fmt.Sprintf("/notify/webhooks/%d/secret", i), who, "secret")
	}
	callers, _ := top["callers"].([]any)
	for i, c := range callers {
		who := fmt.Sprintf("caller %d", i)
		if m, _ := c.(map[string]any); m != nil {
			if id, _ := m["id"].(string); id != "" && len(id) <= 64 {
				who = fmt.Sprintf("caller %q", id)
			}
		}
		resolve(c, "key", fmt.Sprintf("/callers/%d/key", i), who, "key")
	}
	return probs
}

// resolveSecret returns a secret's value, or "" and what is wrong with it.
// A value the schema refuses resolves to "" without a message.
func resolveSecret(v any, src secretSource, allowLiteral bool, what string) (string, string) {
	var env, file string
	switch v := v.(type) {
	case string:
		if v == "" || allowLiteral {
			return "", ""
		}
		return "", fmt.Sprintf(`a literal %s is not allowed here: use {"env": NAME} or {"file": PATH}, or set allowLiteralCredentials`, what)
	case map[string]any:
		if len(v) != 1 {
			return "", ""
		}
		env, _ = v["env"].(string)
		file, _ = v["file"].(string)
	}
	var value, source string
	switch {
	case env != "":
		source = "environment variable " + env
		val, ok := src.lookupEnv(env)
		if !ok {
			return "", source + " is not set"
		}
		value = val
	case file != "":
		source = fmt.Sprintf("secret file %q", file)
		b, err := src.readFile(file)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return "", source + " does not exist"
		case errors.Is(err, fs.ErrPermission):
			return "", source + " cannot be read: permission denied"
		case err != nil:
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // without the path, which may be this machine's
			}
			return "", fmt.Sprintf("%s cannot be read: %v", source, err)
		case len(b) > maxSecretSize:
			return "", fmt.Sprintf("%s is larger than %d KiB", source, maxSecretSize>>10)
		}
		value = string(b)
	default:
		return "", ""
	}
	value = strings.TrimRightFunc(value, unicode.IsSpace)
	switch {
	case value == "":
		return "", source + " is empty"
	case strings.ContainsFunc(value, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", source + " holds a control character or a line break: a " + what + " is one line of text"
	}
	return value, ""
}

// resolvePrices reads and checks the price file a config names, and
// rewrites its path as resolved (relative to the config file's directory).
// A problem names the file as the config wrote it, not as resolved, which
// may be this machine's path.
func resolvePrices(tree any, src secretSource, schemaProbs []problem) []problem {
	const at = "/prices/file"
	top, _ := tree.(map[string]any)
	prices, _ := top["prices"].(map[string]any)
	file, _ := prices["file"].(string)
	if file == "" || slices.ContainsFunc(schemaProbs, func(p problem) bool { return p.at == at || p.at == "/prices" }) {
		return nil
	}
	bad := func(format string, args ...any) []problem {
		return []problem{{at: at, msg: fmt.Sprintf("price file %q ", file) + fmt.Sprintf(format, args...)}}
	}
	if src.openFile == nil {
		return bad("cannot be read here")
	}
	path, f, err := src.openFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return bad("does not exist")
	case errors.Is(err, fs.ErrPermission):
		return bad("cannot be read: permission denied")
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // without the path, which may be this machine's
		}
		return bad("cannot be read: %v", err)
	}
	defer f.Close()
	if _, err := pricefile.Parse(f); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return []problem{{at: at, msg: fmt.Sprintf("price file %q: %v", file, err)}}
	}
	prices["file"] = path
	return nil
}
