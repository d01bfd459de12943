package storetest

import (
	"testing"

	"github.com/authpool/authpool/store"
)

// Run checks that the stores newStore returns keep the store.Store contract.
// It calls newStore once per case, from that case's subtest, and needs each
// store to start empty; the cases run in parallel. A failing case logs the
// clause of the contract it checks.
//
// Call it from a test of the implementation:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return memstore.New() })
//	}
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if t.Failed() {
					t.Logf("contract: %s", c.explanation)
				}
			}()
			c.check(t, newStore(t))
		})
	}
}

// A testCase checks one clause of the store.Store contract on a fresh store.
type testCase struct {
	name        string
	explanation string
	check       func(t *testing.T, s store.Store)
}

// cases is the contract, clause by clause.
var cases = []testCase{
	// CreateSubscription, Subscription, UpdateSubscription, SetStatus.
	{
		name:        "CreateThenGet",
		explanation: "Subscription returns the configuration and status given to CreateSubscription, with no clients, no activity and no usage.",
		check:       testCreateThenGet,
	},
	{
		name:        "CreateIgnoresStoreKeptFields",
		explanation: "CreateSubscription ignores the store-kept fields (Clients, Holds, LastActive, Usage) of its argument.",
		check:       testCreateIgnoresStoreKeptFields,
	},
	{
		name:        "CreateTakenID",
		explanation: "CreateSubscription with an ID that is taken returns ErrExists and changes nothing.",
		check:       testCreateTakenID,
	},
	{
		name:        "GetMissing",
		explanation: "Subscription returns ErrNotFound when there is no subscription with that ID.",
		check:       testGetMissing,
	},
	{
		name:        "UpdateReplacesConfiguration",
		explanation: "UpdateSubscription replaces Name, Kind, Credential, CredentialExpiresAt, MaxClients and the budgets.",
		check:       testUpdateReplacesConfiguration,
	},
	{
		name:        "UpdateClearsCredentialExpiry",
		explanation: "CredentialExpiresAt travels with Credential: UpdateSubscription writes it, a zero one included, and Subscription and Subscriptions return it to the nanosecond.",
		check:       testUpdateClearsCredentialExpiry,
	},
	{
		name:        "UpdateKeepsStatusClientsUsage",
		explanation: "UpdateSubscription keeps the subscription's status, clients, holds, activity and usage, ignoring those of its argument.",
		check:       testUpdateKeepsStatusClientsUsage,
	},
	{
		name:        "UpdateLowersMaxClientsBelowClients",
		explanation: "Lowering MaxClients below Clients keeps the clients the subscription has; it takes no new one until it holds fewer than MaxClients.",
		check:       testUpdateLowersMaxClients,
	},
	{
		name:        "UpdateMissing",
		explanation: "UpdateSubscription returns ErrNotFound, creating nothing, when there is no subscription with that ID.",
		check:       testUpdateMissing,
	},
	{
		name:        "SetStatus",
		explanation: "SetStatus sets a subscription's whole status (state, until, reason), which Subscription and Touch then return, and changes nothing else.",
		check:       testSetStatus,
	},
	{
		name:        "SetStatusMissing",
		explanation: "SetStatus returns ErrNotFound, creating nothing, when there is no subscription with that ID.",
		check:       testSetStatusMissing,
	},

	// DeleteSubscription.
	{
		name:        "DeleteReleasesSessions",
		explanation: "DeleteSubscription removes the subscription and its sessions and returns the sessions it released, ordered by client ID.",
		check:       testDeleteReleasesSessions,
	},
	{
		name:        "DeleteFreesNothingElse",
		explanation: "DeleteSubscription leaves every other subscription, its sessions and its usage as they were.",
		check:       testDeleteFreesNothingElse,
	},
	{
		name:        "DeleteWithoutSessions",
		explanation: "DeleteSubscription of a subscription without clients returns no sessions and no error.",
		check:       testDeleteWithoutSessions,
	},
	{
		name:        "DeleteMissing",
		explanation: "DeleteSubscription returns ErrNotFound when there is no subscription with that ID.",
		check:       testDeleteMissing,
	},
	{
		name:        "DeleteRemovesUsage",
		explanation: "DeleteSubscription removes the subscription's usage: a subscription created again with its ID starts with no clients, activity or usage.",
		check:       testDeleteRemovesUsage,
	},

	// Subscriptions and the store-kept fields.
	{
		name:        "SubscriptionsOrderedByID",
		explanation: "Subscriptions returns every subscription with its store-kept fields, ordered by ID.",
		check:       testSubscriptionsOrderedByID,
	},
	{
		name:        "SubscriptionsEmpty",
		explanation: "Subscriptions of an empty store returns no subscriptions and no error.",
		check:       testSubscriptionsEmpty,
	},
	{
		name:        "SubscriptionLastActive",
		explanation: "A subscription's LastActive is the latest activity (Assign, Touch, usage) of any client while on it, and never moves back.",
		check:       testSubscriptionLastActive,
	},
	{
		name:        "UsageHourlyBucketsOldestFirst",
		explanation: "Usage holds one bucket per hour with usage (the hour of each usage's Time, not of its Now), summing cost and requests, oldest first.",
		check:       testUsageHourlyBuckets,
	},
	{
		name:        "UsageMinuteBuckets",
		explanation: "Minutes holds one bucket per minute whose usages cost something (the minute of each usage's Time, not of its Now), summing their cost, oldest first; Usage's buckets sum each hour's tokens too.",
		check:       testUsageMinuteBuckets,
	},
	{
		name:        "UsageMinutesAreTheLastHour",
		explanation: "Minutes holds only the buckets of the last BurnMinutes minutes counted back from the newest; older ones fall out as newer ones arrive, and a usage older than that counts in its hour only.",
		check:       testUsageMinutesAreTheLastHour,
	},
	{
		name:        "UsageWithoutClientInMinutes",
		explanation: "A usage without a client counts in its subscription's minute bucket as in its hour's.",
		check:       testUsageWithoutClientInMinutes,
	},
	{
		name:        "UsageIsTheLastWeekHours",
		explanation: "Usage holds only the buckets of the last WeekHours hours counted back from the newest bucket; older buckets fall out as newer ones arrive.",
		check:       testUsageIsTheLastWeekHours,
	},
	{
		name:        "UsageOlderThanWeekCountsInSession",
		explanation: "A usage older than WeekHours hours before the newest bucket is not kept in a bucket, but AddUsage succeeds and the session counts it.",
		check:       testUsageOlderThanWeek,
	},
	{
		name:        "RecordsAreCopies",
		explanation: "Changing a returned Subscription or Session changes nothing in the store.",
		check:       testRecordsAreCopies,
	},

	// Touch.
	{
		name:        "TouchReturnsSubscriptionAndStatus",
		explanation: "Touch marks the session active at now, extends its hold, and returns its subscription with that subscription's current status and the hold before and after.",
		check:       testTouch,
	},
	{
		name:        "TouchNeverMovesBack",
		explanation: "Touch never moves a session's or a subscription's LastActive back, nor a session's hold.",
		check:       testTouchNeverMovesBack,
	},
	{
		name:        "TouchMissing",
		explanation: "Touch returns ErrNotFound, creating nothing, when the client has no session.",
		check:       testTouchMissing,
	},

	// Assign.
	{
		name:        "AssignNew",
		explanation: "Assign from \"\" creates a session Created, Assigned and LastActive at Now, holding a slot until HoldUntil, on the target, which counts one more client and lists the hold.",
		check:       testAssignNew,
	},
	{
		name:        "AssignConflict",
		explanation: "Assign returns ErrConflict, changing nothing, unless the client is on From (\"\" meaning no session) and, when IdleSince is set, was last active at or before it.",
		check:       testAssignConflict,
	},
	{
		name:        "AssignIdleAtIdleSince",
		explanation: "Assign with IdleSince accepts a client last active exactly at IdleSince.",
		check:       testAssignIdleAtIdleSince,
	},
	{
		name:        "AssignMissingTarget",
		explanation: "Assign returns ErrNotFound, changing nothing, when the target subscription does not exist.",
		check:       testAssignMissingTarget,
	},
	{
		name:        "AssignInactive",
		explanation: "Assign returns ErrInactive, changing nothing, unless the target is in service at Now: active, or limited with Until at or before Now.",
		check:       testAssignInactive,
	},
	{
		name:        "AssignFull",
		explanation: "Assign returns ErrFull, changing nothing, when MaxClients of the target's sessions hold a slot at Now; MaxClients 0 means no cap.",
		check:       testAssignFull,
	},
	{
		name:        "AssignAlreadyOnTarget",
		explanation: "Assign of a client already on the target and holding its slot succeeds even when the target is full: it marks the session active and counts no new client.",
		check:       testAssignAlreadyOnTarget,
	},
	{
		name:        "AssignMove",
		explanation: "A client that moves leaves its old subscription's count; its session keeps Created and its totals and gets Assigned and LastActive at Now.",
		check:       testAssignMove,
	},
	{
		name:        "AssignIdleMoveIsNotActivity",
		explanation: "A move with IdleSince set gets Assigned at Now but leaves the session's and the target's LastActive alone: moving an idle client is not activity.",
		check:       testAssignIdleMoveIsNotActivity,
	},

	// Release.
	{
		name:        "ReleaseReturnsSession",
		explanation: "Release ends the client's session, returns it, and removes the client from its subscription's count.",
		check:       testRelease,
	},
	{
		name:        "ReleaseTwice",
		explanation: "A second Release of the same client returns ErrNotFound.",
		check:       testReleaseTwice,
	},
	{
		name:        "ReleaseFreesCapacity",
		explanation: "Releasing a client of a full subscription makes room for another.",
		check:       testReleaseFreesCapacity,
	},
	{
		name:        "ReleaseIdleSince",
		explanation: "Release with idleSince releases only a session last active at or before it, and returns ErrConflict, changing nothing, otherwise.",
		check:       testReleaseIdleSince,
	},
	{
		name:        "ReleaseMissing",
		explanation: "Release returns ErrNotFound when the client has no session.",
		check:       testReleaseMissing,
	},
	{
		name:        "ReleaseThenAssignAgain",
		explanation: "A released client that is assigned again starts a new session, with nothing of the old one.",
		check:       testReleaseThenAssignAgain,
	},

	// Sessions.
	{
		name:        "SessionsAll",
		explanation: "Sessions with an empty query returns every session with its record.",
		check:       testSessionsAll,
	},
	{
		name:        "SessionsBySubscription",
		explanation: "Sessions with SubscriptionID selects the sessions on that subscription, and none for an unknown one.",
		check:       testSessionsBySubscription,
	},
	{
		name:        "SessionsActiveBefore",
		explanation: "Sessions with ActiveBefore selects the sessions last active strictly before it.",
		check:       testSessionsActiveBefore,
	},
	{
		name:        "SessionsLimit",
		explanation: "Sessions with a positive Limit returns at most Limit sessions, those with the oldest LastActive, oldest first, ties by ClientID.",
		check:       testSessionsLimit,
	},
	{
		name:        "SessionsCombined",
		explanation: "Sessions applies SubscriptionID, ActiveBefore and Limit together.",
		check:       testSessionsCombined,
	},
	{
		name:        "SessionsHoldEndedBy",
		explanation: "Sessions with HoldEndedBy selects the sessions whose hold ends at or before it, alone and with the other fields.",
		check:       testSessionsHoldEndedBy,
	},
	{
		name: "SessionsManyPages",
		explanation: "Sessions answers every kind of query over 1,000 sessions (more than one step of a store reads), " +
			"with ties in LastActive, sessions that moved forward and sessions holding a slot, in Limit's order.",
		check: testSessionsManyPages,
	},

	// AddUsage.
	{
		name:        "AddUsageToSession",
		explanation: "AddUsage adds the cost, the tokens and one request to the session, sets its Model, moves its LastActive to Now (never back) and returns the session's subscription.",
		check:       testAddUsageToSession,
	},
	{
		name:        "AddUsageBillsSubscriptionID",
		explanation: "AddUsage with SubscriptionID bills that subscription's bucket, not the session's, still counts in the session, and returns the subscription billed.",
		check:       testAddUsageBillsSubscriptionID,
	},
	{
		name:        "AddUsageUnknownClient",
		explanation: "AddUsage returns ErrNotFound, changing nothing, when the client has no session.",
		check:       testAddUsageUnknownClient,
	},
	{
		name:        "AddUsageUnknownSubscription",
		explanation: "AddUsage returns ErrNotFound, changing nothing, when u.SubscriptionID does not exist.",
		check:       testAddUsageUnknownSubscription,
	},
	{
		name:        "AddUsageDuplicate",
		explanation: "AddUsage returns ErrDuplicate and changes nothing at all (session, buckets, activity) when u.ID is remembered, whichever client or subscription the repeat names.",
		check:       testAddUsageDuplicate,
	},
	{
		name:        "AddUsageWithoutID",
		explanation: "A usage without an ID is never refused as a duplicate.",
		check:       testAddUsageWithoutID,
	},
	{
		name:        "AddUsageRemembersID",
		explanation: "An ID is remembered by its usage's own time, for u.Remember after it, whenever it is recorded and whatever else is added meanwhile.",
		check:       testAddUsageRemembersID,
	},
	{
		name:        "AddUsageForgetsByAge",
		explanation: "A usage at or before u.Now - u.Remember whose ID is not remembered is ErrForgotten and changes nothing; a remembered one is a duplicate; an unknown ID after the horizon counts.",
		check:       testAddUsageForgetsByAge,
	},
	{
		name:        "AddUsageForgetsByBudget",
		explanation: "A budget too small for one ID remembers the last one: the one before is forgotten and the horizon rises to its time; unknown IDs at or before it are ErrForgotten, remembered ones duplicates, later ones count.",
		check:       testAddUsageForgetsByBudget,
	},
	{
		name:        "AddUsageCountsOnce",
		explanation: "IDs added in a small budget and then added again never count twice: each is a duplicate or ErrForgotten, with its time at or before the horizon.",
		check:       testAddUsageCountsOnce,
	},
	{
		name:        "AddUsageForgottenSaysHorizon",
		explanation: "ErrForgotten is a *store.ForgottenError with the usage's ID and time and the horizon: the newest usage time forgotten, or u.Now - u.Remember when later.",
		check:       testAddUsageForgottenSaysHorizon,
	},
	{
		name:        "AddUsageWithoutClient",
		explanation: "AddUsage with no client counts the usage only in the bucket of u.SubscriptionID (no session, no activity), de-duplicated by ID, and without a subscription is ErrNotFound.",
		check:       testAddUsageWithoutClient,
	},
	{
		name:        "AddUsageAnchorsBlocks",
		explanation: "With BlockHours set, the billed subscription's BlockStart moves to the hour of the first usage at or after BlockStart+BlockHours; other usage leaves it alone, and UpdateSubscription keeps it.",
		check:       testAddUsageAnchorsBlocks,
	},
	{
		name:        "AddUsageRefusedIsNotRemembered",
		explanation: "A usage refused with ErrNotFound changes nothing, so its ID is not remembered.",
		check:       testAddUsageRefusedIsNotRemembered,
	},

	// Holds on slots.
	{
		name:        "EndedHoldFreesTheSlot",
		explanation: "A hold ends at its HoldUntil: from then on (not a nanosecond before) the slot it held is free, though the session stays.",
		check:       testEndedHoldFreesTheSlot,
	},
	{
		name:        "AssignWithoutHold",
		explanation: "An Assignment without a HoldUntil after Now gives the session no hold: it takes no slot.",
		check:       testAssignWithoutHold,
	},
	{
		name:        "TouchGivesAnIdleClientItsPlace",
		explanation: "Touch of a client whose hold ended, on a subscription with room, renews its hold: it takes its place again.",
		check:       testTouchGivesAnIdleClientItsPlace,
	},
	{
		name:        "TouchOfAnIdleClientOnAFullSubscription",
		explanation: "Touch of a client whose hold ended, on a subscription whose MaxClients slots are held, returns the subscription, its status and the hold with ErrFull, and changes nothing; so does an Assign to the subscription it is on.",
		check:       testTouchOfAnIdleClientOnAFullSubscription,
	},
	{
		name:        "HoldsNeverMoveBack",
		explanation: "Touch, AddUsage and an Assign to the subscription the client is on extend its hold, never back.",
		check:       testHoldsNeverMoveBack,
	},
	{
		name:        "ReleaseAndMovesDropTheHold",
		explanation: "Release and a move free the client's slot; a move gives the session the Assignment's hold on the target, none for an idle move without one.",
		check:       testReleaseAndMovesDropTheHold,
	},
	{
		name:        "AddUsageExtendsTheHold",
		explanation: "AddUsage extends the hold of the client on its session's subscription (whichever is billed) to HoldUntil, an hour's hold included, and returns the hold before and after.",
		check:       testAddUsageExtendsTheHold,
	},
	{
		name:        "AddUsageOfAnIdleClientOnAFullSubscription",
		explanation: "AddUsage of a client whose hold ended counts the usage, and renews the hold only while the subscription has room.",
		check:       testAddUsageOfAnIdleClientOnAFullSubscription,
	},
	{
		name:        "HoldsForgetEnded",
		explanation: "A store drops the holds that ended before a later write's now: Holds stays about as long as the clients holding a slot, however many sessions it has.",
		check:       testHoldsForgetEnded,
	},
	{
		name:        "ConcurrentReturnOfIdleClients",
		explanation: "Of 10 idle clients coming back (Touch) and 90 new ones (Assign) racing for a subscription capped at 10, exactly 10 hold a slot and 90 get ErrFull.",
		check:       testConcurrentReturnOfIdleClients,
	},

	// Model limits and reports.
	{
		name:        "SetModelLimit",
		explanation: "SetModelLimit sets or replaces one model's limit, removes it with a zero Until, drops the limits over at now, and UpdateSubscription keeps them.",
		check:       testSetModelLimit,
	},
	{
		name:        "SetReported",
		explanation: "SetReported keeps the latest report by At, and the stored report moves BlockStart to the reported block's start.",
		check:       testSetReported,
	},

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
