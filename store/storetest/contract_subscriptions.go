package storetest

// This file is the contract's clauses on subscriptions: their configuration
// and status, their deletion, what the store keeps of them, and the model
// limits and reports set on them.

// subscriptionCases are the clauses of CreateSubscription, Subscription,
// UpdateSubscription, SetStatus, DeleteSubscription and Subscriptions.
var subscriptionCases = []testCase{
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
		explanation: "UpdateSubscription replaces Name, Kind, Credential, CredentialExpiresAt, RefreshToken, MaxClients and the budgets.",
		check:       testUpdateReplacesConfiguration,
	},
	{
		name:        "UpdateClearsCredentialExpiry",
		explanation: "CredentialExpiresAt and RefreshToken travel with Credential: UpdateSubscription writes them, a zero expiry and an empty token included, and Subscription and Subscriptions return them (the expiry to the nanosecond).",
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
}

// limitCases are the clauses of SetModelLimit and SetReported.
var limitCases = []testCase{
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
	{
		name:        "FarFutureTimes",
		explanation: "A status, model limit or reported reset beyond 2262 (past int64 nanoseconds) is kept as a time in 2262 or later: the subscription stays out of service.",
		check:       testFarFutureTimes,
	},
}
