// Package h1 is a lean HTTP/1.1 client transport for the proxy.
//
// [Transport] is an http.RoundTripper that does a whole exchange on the
// calling goroutine: it takes an idle connection (or dials one), writes the
// request with [http.Request.Write], reads the response with
// [http.ReadResponse] and hands the body to the caller, whose reads go
// straight to the connection. net/http's Transport instead runs a read and a
// write goroutine per connection and passes each request and response
// between them on channels; at low concurrency those hand-offs wake threads
// and cost latency and CPU that a reverse proxy pays on every request.
//
// Requests it does not handle (other schemes, proxies, upgrades,
// Expect: 100-continue) go to a fallback RoundTripper; see [Transport].
package h1
