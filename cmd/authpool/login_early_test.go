package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestLoginCheckedFirst: what login -server needs besides the login (a
// server URL it can use, an admin token) is checked before the login:
// found wanting after it, the login the user just made is lost.
func TestLoginCheckedFirst(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		vars map[string]string
		code int
		want string
	}{
		{"a server without a scheme", []string{"login", "max-a", "-server", "127.0.0.1:8787"},
			map[string]string{"AUTHPOOL_ADMIN_TOKEN": adminTok}, 2, "-server"},
		{"no admin token", []string{"login", "max-a", "-server", "http://127.0.0.1:1"}, nil, 2, "admin token"},
		{"an admin token file missing", []string{"login", "max-a", "-server", "http://127.0.0.1:1",
			"-admin-token-file", filepath.Join(t.TempDir(), "nope")}, nil, 1, "-admin-token-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, out, errOut := testEnv(strings.NewReader(""), tc.vars)
			code := run(t.Context(), tc.args, env)
			if code != tc.code || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, %s; want %d naming %s", code, errOut, tc.code, tc.want)
			}
			if strings.Contains(out.String(), "Open this URL") {
				t.Errorf("the login was started before the check:\n%s", out)
			}
		})
	}
}
