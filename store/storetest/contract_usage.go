package storetest

// This file is the contract's clauses on AddUsage.

// usageCases are the clauses of AddUsage.
var usageCases = []testCase{
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
		name:        "AddUsageForgetsOldestByTime",
		explanation: "When the budget is full the store forgets the ID of the oldest usage time (docs/stores.md), not the first added: a usage recorded later but newer than IDs still remembered counts.",
		check:       testAddUsageForgetsOldestByTime,
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
}
