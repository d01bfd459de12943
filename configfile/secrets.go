package configfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/authpool/authpool/internal/pricefile"
)

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
		if m, _ := s.(map[string]any); m != nil && m["refreshToken"] != nil {
			resolve(s, "refreshToken", fmt.Sprintf("/subscriptions/%d/refreshToken", i), who, "refresh token")
		}
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
	if srv, _ := top["server"].(map[string]any); srv != nil {
		for _, t := range []struct{ key, what string }{{"adminToken", "admin token"}, {"statusToken", "status token"}} {
			if srv[t.key] != nil {
				resolve(srv, t.key, "/server/"+t.key, "", t.what)
			}
		}
		if st, _ := srv["store"].(map[string]any); st != nil && st["password"] != nil {
			resolve(st, "password", "/server/store/password", "", "password")
		}
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

// resolveServerFiles checks that the TLS certificate and key files the
// server section names can be opened, and rewrites their paths as resolved
// (relative to the config file's directory). A problem names a file as the
// config wrote it.
func resolveServerFiles(tree any, src secretSource, schemaProbs []problem) []problem {
	top, _ := tree.(map[string]any)
	srv, _ := top["server"].(map[string]any)
	tlsSection, _ := srv["tls"].(map[string]any)
	if tlsSection == nil {
		return nil
	}
	var probs []problem
	for _, key := range []string{"certFile", "keyFile"} {
		at := "/server/tls/" + key
		file, _ := tlsSection[key].(string)
		if file == "" || slices.ContainsFunc(schemaProbs, func(p problem) bool { return p.at == at || p.at == "/server/tls" }) {
			continue
		}
		path, msg := openable(src, file)
		if msg != "" {
			probs = append(probs, problem{at: at, msg: fmt.Sprintf("file %q %s", file, msg)})
			continue
		}
		tlsSection[key] = path
	}
	return probs
}

// openable opens and closes the file a config names, returning its path as
// resolved, or what is wrong (without the resolved path, which may be this
// machine's).
func openable(src secretSource, file string) (string, string) {
	if src.openFile == nil {
		return "", "cannot be read here"
	}
	path, f, err := src.openFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", "does not exist"
	case errors.Is(err, fs.ErrPermission):
		return "", "cannot be read: permission denied"
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Sprintf("cannot be read: %v", err)
	}
	f.Close()
	return path, ""
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
