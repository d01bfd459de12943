package proxy_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude/proxy"
	"github.com/authpool/authpool/internal/fakeanthropic"
)

func BenchmarkTmpProxySSE(b *testing.B) {
	up := httptest.NewServer(fakeanthropic.NewInstant(fakeanthropic.InstantConfig{FlushEachEvent: true}))
	defer up.Close()
	ctx := context.Background()
	p, err := authpool.New(ctx, authpool.Config{Subscriptions: []authpool.Subscription{{ID: "a", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-aaaaaaaaaaaaaaaaaaaa"}}})
	if err != nil {
		b.Fatal(err)
	}
	px, err := proxy.New(&proxy.Transport{Pool: p}, []proxy.Caller{{ID: "c", Key: "caller-key-0123456789abcdef"}}, up.URL)
	if err != nil {
		b.Fatal(err)
	}
	ps := httptest.NewServer(px)
	defer ps.Close()
	body := `{"model":"claude-sonnet-4-5-20250929","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	client := ps.Client()
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest("POST", ps.URL+"/v1/messages", strings.NewReader(body))
		req.Header.Set("X-Api-Key", "caller-key-0123456789abcdef")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
	}
}
