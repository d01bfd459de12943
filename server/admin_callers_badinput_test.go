package server

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool/memstore"
	"github.com/authpool/authpool/store"
)

// callerRecords returns the store's callers, with their key hashes and
// spending, for comparing before and after.
type callerState struct {
	Callers []store.Caller
	Usage   map[string][]store.Bucket
}

func callerRecords(t *testing.T, cs store.CallerStore) callerState {
	t.Helper()
	recs, err := cs.Callers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	s := callerState{Callers: recs, Usage: map[string][]store.Bucket{}}
	for _, c := range recs {
		if s.Usage[c.ID], err = cs.CallerUsage(t.Context(), c.ID, 0, store.HourOf(testNow)+1); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestAdminCallersBadInput sends bad input to every caller endpoint: each
// gets a 4xx in the one error shape, naming the field as a config file's
// callers are named, and the store is as it was.
func TestAdminCallersBadInput(t *testing.T) {
	st := memstore.New()
	h := start(t, setup{opts: Options{Store: st}})
	addCaller(t, h, `{"id": "ci", "capUSD": 20}`)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field, says              string
	}{
		{"add: no body", "POST", "", "", 400, "", "JSON object"},
		{"add: not an object", "POST", "", `["ci"]`, 400, "", "JSON object"},
		{"add: broken JSON", "POST", "", `{"id": `, 400, "", "JSON object"},
		{"add: trailing data", "POST", "", `{"id": "x"} {}`, 400, "", ""},
		{"add: no id", "POST", "", `{"capUSD": 1}`, 400, "/id", "/id: empty"},
		{"add: a bad id", "POST", "", `{"id": "c i!"}`, 400, "/id", "/id: byte 1 is not a letter, digit"},
		{"add: an id that is not UTF-8", "POST", "", `{"id": "cÿi"}`, 400, "/id", "/id: byte 1 is not"},
		{"add: an id too long", "POST", "", `{"id": "` + strings.Repeat("c", 65) + `"}`, 400, "/id", "65 bytes long: at most 64"},
		{"add: a number for the id", "POST", "", `{"id": 7}`, 400, "/id", "must be a string"},
		{"add: a taken id", "POST", "", `{"id": "ci"}`, 409, "/id", "exists already"},
		{"add: a config file's caller", "POST", "", `{"id": "alice"}`, 409, "/id", "config file"},
		{"add: a key", "POST", "", `{"id": "x", "key": "` + keyAlice + `"}`, 400, "/key", "the server makes a caller's key"},
		{"add: a negative cap", "POST", "", `{"id": "x", "capUSD": -1}`, 400, "/capUSD", "/capUSD: -1: must be in 0..1e+06"},
		{"add: a huge cap", "POST", "", `{"id": "x", "capUSD": 1e7}`, 400, "/capUSD", "must be in 0..1e+06"},
		{"add: a string cap", "POST", "", `{"id": "x", "capUSD": "20"}`, 400, "/capUSD", "must be a number, not a string"},
		{"add: a window in minutes", "POST", "", `{"id": "x", "capWindow": "90m"}`, 400, "/capWindow", "/capWindow: 1h30m0s: must be whole hours, up to a week"},
		{"add: a window past a week", "POST", "", `{"id": "x", "capWindow": "169h"}`, 400, "/capWindow", "must be whole hours, up to a week"},
		{"add: a window that is no duration", "POST", "", `{"id": "x", "capWindow": "soon"}`, 400, "/capWindow", `not a duration: must be whole hours`},
		{"add: a negative window", "POST", "", `{"id": "x", "capWindow": "-5h"}`, 400, "/capWindow", "must be whole hours"},
		{"add: a burst without a rate", "POST", "", `{"id": "x", "rate": {"burst": 5}}`, 400, "/rate/burst", "set perSecond too, or neither"},
		{"add: a rate without a burst", "POST", "", `{"id": "x", "rate": {"perSecond": 2}}`, 400, "/rate/burst", "must be at least 1"},
		{"add: a negative rate", "POST", "", `{"id": "x", "rate": {"perSecond": -2, "burst": 1}}`, 400, "/rate/perSecond", "must be in 0..1e+06"},
		{"add: a string rate", "POST", "", `{"id": "x", "rate": {"perSecond": "fast", "burst": 1}}`, 400, "/rate/perSecond", "must be a number"},
		{"add: a fractional burst", "POST", "", `{"id": "x", "rate": {"perSecond": 1, "burst": 1.5}}`, 400, "/rate/burst", "must be an integer"},
		{"add: an unknown rate field", "POST", "", `{"id": "x", "rate": {"perMinute": 2}}`, 400, "/rate", `unknown field "perMinute"`},
		{"add: a bad sessionless", "POST", "", `{"id": "x", "sessionless": "Spread"}`, 400, "/sessionless", `/sessionless: must be "sticky" or "spread"`},
		{"add: an unknown field", "POST", "", `{"id": "x", "cap": 20}`, 400, "/cap", `unknown field "cap"`},
		{"add: a field in another case", "POST", "", `{"id": "x", "capUsd": 20}`, 400, "/capUsd", `unknown field "capUsd"`},
		{"add: a rate field in another case", "POST", "", `{"id": "x", "rate": {"persecond": 2, "burst": 1}}`, 400, "/rate/persecond", "case-sensitive"},
		{"add: every problem at once", "POST", "", `{"id": "", "capUSD": -1, "sessionless": "x"}`, 400, "/id", "/capUSD: -1"},
		{"add: too large", "POST", "", `{"id": "` + strings.Repeat("c", maxBody) + `"}`, 413, "", "64 KiB"},
		{"list: wrong method", "PUT", "", `{"id": "x"}`, 405, "", "use GET or POST"},
		{"update: nothing set", "PATCH", "/ci", `{}`, 400, "", "nothing to change"},
		{"update: an id", "PATCH", "/ci", `{"id": "other"}`, 400, "/id", "does not change"},
		{"update: a key", "PATCH", "/ci", `{"key": "` + keyAlice + `"}`, 400, "/key", "remove it and add it again"},
		{"update: a negative cap", "PATCH", "/ci", `{"capUSD": -1}`, 400, "/capUSD", "must be in 0..1e+06"},
		{"update: a bad window and a good cap", "PATCH", "/ci", `{"capUSD": 2, "capWindow": "30m"}`, 400, "/capWindow", "whole hours"},
		{"update: a burst without a rate", "PATCH", "/ci", `{"rate": {"burst": 3}}`, 400, "/rate/burst", "set perSecond too"},
		{"update: a bad sessionless", "PATCH", "/ci", `{"sessionless": "sometimes"}`, 400, "/sessionless", "must be"},
		{"update: unknown", "PATCH", "/nope", `{"capUSD": 1}`, 404, "", `no caller "nope"`},
		{"update: a config file's caller", "PATCH", "/alice", `{"capUSD": 1}`, 404, "", "a caller of the config file"},
		{"one: wrong method", "POST", "/ci", `{}`, 405, "", "use GET or PATCH or DELETE"},
		{"one: a bad id", "GET", "/c%20i", "", 404, "", "no caller"},
		{"remove: unknown", "DELETE", "/nope", "", 404, "", `no caller "nope"`},
		{"remove: a config file's caller", "DELETE", "/alice", "", 404, "", "config file"},
		{"usage: unknown", "GET", "/nope/usage", "", 404, "", `no caller "nope"`},
		{"usage: wrong method", "POST", "/ci/usage", "", 405, "", "use GET"},
		{"an unknown action", "GET", "/ci/spend", "", 404, "", "not an action on a caller"},
		{"too deep", "GET", "/ci/usage/x", "", 404, "", "not an admin endpoint"},
		{"a trailing slash", "GET", "/ci/", "", 404, "", "not an admin endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := callerRecords(t, st)
			resp, b := h.do(t, tc.method, "/admin/v1/callers"+tc.path, adminTok, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, resp.StatusCode, b, tc.status)
			}
			e := errorOf(t, b)
			if e.Error.Field != tc.field || !strings.Contains(e.Error.Message, tc.says) {
				t.Errorf("field %q, message %q; want %q, with %q", e.Error.Field, e.Error.Message, tc.field, tc.says)
			}
			if strings.Contains(string(b), keyAlice) {
				t.Errorf("the answer quotes a key: %s", b)
			}
			if tc.status == 405 && resp.Header.Get("Allow") == "" {
				t.Errorf("a 405 without Allow")
			}
			if diff := cmp.Diff(before, callerRecords(t, st)); diff != "" {
				t.Errorf("the store changed (-before +after):\n%s", diff)
			}
		})
	}
}
