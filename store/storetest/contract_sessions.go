package storetest

// This file is the contract's clauses on sessions: Touch, Assign, Release,
// Sessions, and the holds sessions keep on their subscription's slots.

// sessionCases are the clauses of Touch, Assign, Release and Sessions.
var sessionCases = []testCase{
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
}

// holdCases are the clauses on a session's hold on a slot.
var holdCases = []testCase{
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
}
