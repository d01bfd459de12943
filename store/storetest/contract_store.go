package storetest

// This file is the contract's clauses on the store as a whole: Claim,
// contexts, and the atomicity of every method under concurrent calls.

// storeCases are the clauses of Claim, on contexts and on concurrency.
var storeCases = []testCase{
	// Claim.
	{
		name:        "Claim",
		explanation: "Claim makes a claim on a key only when no earlier claim on it is live at now, and a claim lives until its until.",
		check:       testClaim,
	},
	{
		name:        "ConcurrentClaim",
		explanation: "Of 100 goroutines claiming one key at once, exactly one makes the claim.",
		check:       testConcurrentClaim,
	},

	// Contexts.
	{
		name:        "CanceledContext",
		explanation: "Every method called with a context that has ended returns an error that errors.Is the context's error, and changes nothing (a Claim is not made).",
		check:       testCanceledContext,
	},

	// Concurrency: every method is atomic.
	{
		name:        "ConcurrentAssignRespectsMaxClients",
		explanation: "Of 100 clients racing to join a subscription capped at 10, exactly 10 get in (and hold a slot) and 90 get ErrFull.",
		check:       testConcurrentAssignCap,
	},
	{
		name:        "ConcurrentAssignOfOneClient",
		explanation: "Of many concurrent Assigns of the same new client, exactly one creates its session and the others get ErrConflict.",
		check:       testConcurrentAssignOneClient,
	},
	{
		name:        "ConcurrentAddUsage",
		explanation: "Concurrent AddUsage calls add up exactly: session cost, requests and tokens, and every bucket.",
		check:       testConcurrentAddUsage,
	},
	{
		name:        "ConcurrentDuplicateUsage",
		explanation: "Of many concurrent AddUsage calls with the same ID, exactly one is added and the others get ErrDuplicate.",
		check:       testConcurrentDuplicateUsage,
	},
	{
		name:        "ConcurrentRelease",
		explanation: "Of concurrent Releases of the same client, exactly one returns the session and the others get ErrNotFound.",
		check:       testConcurrentRelease,
	},
	{
		name:        "ConcurrentMoves",
		explanation: "Clients moving concurrently between two capped subscriptions never push the clients holding a slot of either past its MaxClients, and the counts match the sessions.",
		check:       testConcurrentMoves,
	},
}
