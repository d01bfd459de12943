package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/internal/redistest"
	"github.com/authpool/authpool/seal"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir, and
// returns the files and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "authpool test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for file, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}

// TestTLS: with tls set, the server speaks HTTPS (HTTP/2 included) on a
// public address, and its URL says so.
func TestTLS(t *testing.T) {
	certFile, keyFile, roots := selfSigned(t, t.TempDir())
	h := start(t, setup{edit: func(f *configfile.File) {
		f.Server.Listen = "127.0.0.1:0"
		f.Server.TLS = &configfile.ServerTLS{CertFile: certFile, KeyFile: keyFile}
	}})
	if !strings.HasPrefix(h.url, "https://") {
		t.Fatalf("URL %s, want https", h.url)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
	resp, body := send(t, c, http.MethodGet, h.url+"/healthz", "", "")
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Errorf("GET /healthz over TLS: %s %d %s, want HTTP/2 200", resp.Proto, resp.StatusCode, body)
	}
}

// TestNewRefuses: New refuses what it cannot serve, saying why, and holds
// nothing afterwards.
func TestNewRefuses(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(f *configfile.File)
		want string
	}{
		{"a public address without TLS (a flag)", func(f *configfile.File) { f.Server.Listen = "0.0.0.0:0" }, "/server/listen: \"0.0.0.0:0\" is not a loopback address"},
		{"a busy address", func(f *configfile.File) { f.Server.Listen = busy.Addr().String() }, "/server/listen: listen tcp"},
		{"Redis without sealing keys", func(f *configfile.File) { f.Server.Store.URL = "redis://127.0.0.1:1/0" }, "a Redis store needs sealing keys"},
		{"a certificate that does not load", func(f *configfile.File) {
			f.Server.TLS = &configfile.ServerTLS{CertFile: bad, KeyFile: bad}
		}, "/server/tls: the certificate and key do not load"},
		{"callers the proxy refuses", func(f *configfile.File) { f.Callers[1].Key = f.Callers[0].Key }, "/callers/1/key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := testFile(t, "http://127.0.0.1:1", "http://127.0.0.1:2")
			tc.edit(&f)
			s, err := New(t.Context(), f, Options{Logger: discard()})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, %v; want an error with %q", s, err, tc.want)
			}
		})
	}
}

// TestRedisStore: two servers on one Redis (sealed) share the
// subscriptions the admin API adds, and Redis holds no credential in
// plain text.
func TestRedisStore(t *testing.T) {
	opts := redistest.Options(t)
	client := redistest.Client(t)
	prefix := redistest.Prefix(t, client)
	keys, err := seal.ParseKeys("k1:" + "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := seal.NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	url := "redis://" + opts.Addr + "/" + strconv.Itoa(opts.DB)
	edit := func(f *configfile.File) {
		f.Server.Store = configfile.ServerStore{URL: url, Prefix: prefix}
		if opts.Password != "" {
			f.Server.Store.Password = authpool.Credential(opts.Password)
		}
	}
	a := start(t, setup{edit: edit, opts: Options{Keyring: ring}})
	b := start(t, setup{edit: edit, opts: Options{Keyring: ring}})
	resp, body := a.do(t, http.MethodPost, "/admin/v1/subscriptions", adminTok,
		`{"id": "pro-redis", "kind": "pro", "credential": "`+newCred+`"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	resp, body = b.do(t, http.MethodGet, "/admin/v1/subscriptions/pro-redis", adminTok, "")
	if resp.StatusCode != 200 {
		t.Fatalf("the other server: %d %s", resp.StatusCode, body)
	}
	if resp, body := b.do(t, http.MethodGet, "/readyz", "", ""); resp.StatusCode != 200 {
		t.Errorf("/readyz on Redis: %d %s", resp.StatusCode, body)
	}
	iter := client.Scan(t.Context(), 0, "{"+prefix+"}:*", 1000).Iterator()
	for iter.Next(t.Context()) {
		dump, err := client.Dump(t.Context(), iter.Val()).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{newCred, credA, keyAPI} {
			if strings.Contains(dump, secret) {
				t.Errorf("Redis key %s holds a credential in plain text", iter.Val())
			}
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
}
