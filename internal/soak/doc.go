// Package soak holds the pool's soak test: minutes of sustained load from
// many clients through several Pools sharing one Redis, with notifications
// to a slow webhook and Redis restarts, checking that goroutines, heap and
// Redis keys stay flat and that every acknowledged cost is stored to the
// nanodollar. It is skipped unless asked for:
//
//	go test ./internal/soak -run TestSoak -soak 10m -timeout 30m -v
//
// (or AUTHPOOL_SOAK=10m). It needs a redis-server binary, which it starts
// and restarts itself.
package soak
