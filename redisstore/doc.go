// Package redisstore is a store.Store kept in Redis: several processes
// share one authpool pool through it, and the pool outlives them.
//
//	rdb := redis.NewClient(&redis.Options{
//		Addr:                  "127.0.0.1:6379",
//		ContextTimeoutEnabled: true, // calls end at their context's deadline
//	})
//	p, err := authpool.New(ctx, cfg, authpool.WithStore(redisstore.New(rdb, redisstore.WithPrefix("myapp"))))
//
// Every process that uses the same Redis and prefix shares the same
// subscriptions, sessions, usage windows, statuses and remembered usage IDs;
// a Store made again after a restart finds them all.
//
// # Atomicity
//
// Each method of the Store is one Lua script (lua/*.lua), run by its SHA-1
// (EVALSHA) and sent whole (EVAL) only when the server does not have it yet:
// one round trip, which Redis runs with no other command in between. So a
// capacity check and the assignment it allows, or a usage's de-duplication
// and every counter it adds to, happen together or not at all, whichever
// process makes them. Times are the caller's (the pool's clock), never the
// server's, as the store.Store contract says; Redis's clock only expires keys.
//
// # Keys
//
// Every key is named "{prefix}:..." (DefaultPrefix unless WithPrefix says
// otherwise). The braces make the whole prefix the key's hash tag: every key
// of a pool lies in the same Redis Cluster slot, which a script that touches
// several keys needs (Assign touches two subscriptions and a session). The
// trade-off is that one pool lives on one cluster node (and its replicas);
// pools under different prefixes spread over the cluster. A ring likewise
// puts a whole pool on one shard. Each script names in KEYS the key it is
// about and builds the names of the others from the prefix, which Redis
// Cluster allows because they all lie in that key's slot. The keys:
//
//	{p}:subs            set: the subscription IDs
//	{p}:sub:<id>        hash: a subscription's configuration (credential
//	                    included), status, model limits, report, activity
//	{p}:m:<id>          set: the clients on a subscription
//	{p}:h:<id>          sorted set: the holds on a subscription's slots
//	{p}:b:<id>          hash: a subscription's hourly and minute buckets
//	{p}:s:<client>      hash: a client's session, its hold included
//	{p}:a               sorted set: every session, by last activity
//	{p}:a:<id>          sorted set: a subscription's sessions, by last activity
//	{p}:indexed         the mark that {p}:a holds every session (see below)
//	{p}:ids             sorted set: the remembered usage IDs (16 bytes of
//	                    SHA-256 each), scored by usage time in µs
//	{p}:idh             the usage IDs' horizon, in µs (see AddUsage)
//	{p}:id:<usage ID>   a usage ID remembered by an older version: a
//	                    duplicate until it expires; none is written
//	{p}:claim:<key>     a Claim
//	{p}:callers         set: the caller IDs (store.CallerStore)
//	{p}:caller:<id>     hash: a caller's key hash (hex; never the key),
//	                    cap, window, rate, sessionless, created, largest charge
//	{p}:ckeys           hash: key hash (hex) -> caller ID
//	{p}:cb:<id>         hash: a caller's hourly totals, a ring as {p}:b:<id>
//	{p}:cs:<id>         sorted set: a caller's sessions, by last charge (µs)
//	{p}:csd:<id>        hash: its sessions' totals, "<letter>:<session>"
//	{p}:cl:<id>         sorted set: a caller's leases, by their end (µs)
//	{p}:cids, {p}:cidh  the callers' charges' usage IDs and their horizon,
//	                    kept as {p}:ids and {p}:idh
//
// A caller's hourly totals and sessions expire as a subscription's buckets
// do, a day after the week its newest hour serves; a charge drops a few
// sessions last charged before that week, and the least recently charged
// beyond store.MaxCallerSessions. Its leases expire twice their length
// (at least 10 minutes) after the latest: they are judged by the callers'
// times, and Redis only cleans up. DeleteCaller deletes the rest.
//
// A subscription's holds are a sorted set whose members are a session's
// hold (20 digits) followed by its client ID, scored by the hold's
// millisecond: Assign and Touch count the clients holding a slot with one
// ZCOUNT (and an exact look at the members of now's millisecond), and each
// write that adds a hold first drops those that ended by its now, so the
// set stays about as long as the clients holding a slot however many
// sessions are idle. A session's hash keeps its hold too; a
// session written before holds were kept has none, and holds no slot.
//
// The activity index ({p}:a, and {p}:a:<id> per subscription) lists each
// session as a member made of its LastActive (20 digits) followed by its
// client ID, every score 0: the members' byte-wise order is by LastActive,
// then client ID, exactly (no float64 rounding). Every script that moves a
// session's LastActive or subscription (Touch, Assign, AddUsage, Release,
// DeleteSubscription) moves its members in the same step. Sessions walks it
// from the oldest with ZRANGEBYLEX, one script per 256 entries, and stops
// at the first session too recent for its query or once it has its Limit:
// Rebalance's reads grow with the sessions it may release or move, and no
// script reads every session. Sessions written by a version without the
// index are indexed at their next write, and all at once, in SSCAN batches
// of 256 members, by the first Sessions call of each Store until one has
// finished and set {p}:indexed (which the first subscription of an empty
// pool sets at once: it has no session to index). Upgrade every process: an older one writes
// sessions that only a newer one's next write to them indexes.
//
// The hourly buckets are a ring of store.WeekHours slots in one hash, so a
// subscription's usage takes the same room however much it records; a slot
// is reused when its hour is more than a week old. The same hash holds a
// ring of store.BurnMinutes minute slots, the cost of each of the last 60
// minutes, which AddUsage's script keeps in the same step: every pool reads
// the same burn rate. The whole hash expires a day after the week its
// newest bucket serves. The usage IDs' set and horizon expire twice the
// usage's Remember after the last ID is added, a claim twice its length:
// both are judged by the caller's times while they live, and Redis forgets
// them by itself; the set holds at most RememberBytes/IDBytes members. Subscriptions, sessions and holds do not
// expire; DeleteSubscription and Release delete them. No method uses KEYS or SCAN;
// Subscriptions reads the subscription set, Sessions the activity index
// (and, once, the member sets by SSCAN).
//
// Whoever can read the keys can read the credentials, unless the pool seals
// them (authpool.WithSealer, package seal): then the sub hashes hold only
// sealed values. Either way, protect the Redis (ACL, TLS, a private network).
//
// # Persistence
//
// The keys are the pool's only record of its subscriptions, sessions and
// usage: run Redis with persistence (appendonly yes) and
// maxmemory-policy noeviction. A Redis that comes back empty (no
// persistence, flushed, evicting) has lost them: a pool that finds the
// store holding no subscription writes its Config's again, with empty
// windows, and its clients are placed anew; the usage is gone. It finds out
// at its next read of the store, or at once when the store says that a
// subscription it offered does not exist: a restore is never taken for an
// exhausted pool.
//
// # Errors and contexts
//
// When Redis cannot be reached, the connection fails, or the server cannot
// serve (loading, busy, failing over), a call returns an error for which
// errors.Is(err, store.ErrUnavailable) holds. Such a call changed nothing, or
// its script ran whole: never half.
//
// A call whose context has ended returns the context's error and changes
// nothing. A call whose deadline passes while it waits for Redis returns
// then, with an error that matches both context.DeadlineExceeded and
// store.ErrUnavailable (its script ran whole, or not at all, or may still
// run). A client made with ContextTimeoutEnabled bounds its own I/O by the
// deadline; for any other client, and for a context that can be canceled
// without a deadline, the Store waits for the reply in a short-lived
// goroutine and returns when the context ends (the goroutine ends when the
// client gives up on the reply, at its ReadTimeout).
//
// How fast a call to a Redis that is down fails is the client's affair:
// go-redis v9.23 dials 5 times, 100 ms apart (Options.DialerRetries), for
// each of its attempts, so a call fails after about 1.4 s; with
// DialerRetries set to 1 it fails within about 150 ms. Once it has failed to
// dial, the client probes the server every second, and the Store works
// again as soon as it answers.
//
// go-redis retries a command whose connection failed (Options.MaxRetries).
// If a connection fails after Redis ran a script but before its reply came
// back, the retry runs it again: a usage with an ID is then refused as a
// duplicate (so counted once), but one without an ID counts twice. Give your
// usages IDs, or set MaxRetries to -1 to never retry.
//
// # Clients
//
// New takes a Client: anything with EvalSha and Eval, which *redis.Client,
// *redis.ClusterClient, *redis.Ring and redis.UniversalClient all have. The
// Store does not close it.
package redisstore
