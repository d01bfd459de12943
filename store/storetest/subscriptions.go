package storetest

import (
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

// configured returns a subscription with every configuration field set.
func configured(id string) store.Subscription {
	return store.Subscription{
		ID: id, Name: "Alice's Max", Kind: "max20x", Credential: "sk-ant-configured",
		CredentialExpiresAt: at(8*time.Hour + 123456789), MaxClients: 3, WeeklyBudget: 900e9, BlockBudget: 140e9, DailyBudget: 200e9,
		Status: store.Status{State: store.Limited, Until: at(time.Hour), Reason: "429 from upstream"},
	}
}

func testCreateThenGet(t *testing.T, s store.Store) {
	want := configured("a")
	create(t, s, want)
	diff(t, `Subscription("a")`, get(t, s, "a"), want)
}

func testCreateIgnoresStoreKeptFields(t *testing.T, s store.Store) {
	sub := newSub("a", 0)
	sub.Clients = 7
	sub.Holds = []time.Time{at(time.Hour)}
	sub.LastActive = at(time.Hour)
	sub.Usage = []store.Bucket{{Hour: hourOf(0), Cost: 5, Requests: 1}}
	sub.Minutes = []store.Minute{{Minute: minuteOf(0), Cost: 5}}
	create(t, s, sub)

	diff(t, `Subscription("a")`, get(t, s, "a"), newSub("a", 0))
	join(t, s, "c", "a", t0)
	if got := clients(t, s, "a"); got != 1 {
		t.Errorf("Clients after one Assign = %d, want 1", got)
	}
}

func testCreateTakenID(t *testing.T, s store.Store) {
	create(t, s, configured("a"))
	join(t, s, "c", "a", at(2*time.Hour)) // after its Until
	before := snapshot(t, s)

	err := s.CreateSubscription(t.Context(), newSub("a", 10))
	wantErr(t, err, store.ErrExists, `second CreateSubscription("a")`)
	unchanged(t, s, before, "CreateSubscription with a taken ID")
}

func testGetMissing(t *testing.T, s store.Store) {
	_, err := s.Subscription(t.Context(), "a")
	wantErr(t, err, store.ErrNotFound, `Subscription("a") of an empty store`)
	create(t, s, newSub("a", 0))
	_, err = s.Subscription(t.Context(), "b")
	wantErr(t, err, store.ErrNotFound, `Subscription("b")`)
}

func testUpdateReplacesConfiguration(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 1))
	want := configured("a")
	if err := s.UpdateSubscription(t.Context(), want); err != nil {
		t.Fatalf("UpdateSubscription: %v", err)
	}
	want.Status = store.Status{} // kept from CreateSubscription
	diff(t, `Subscription("a") after UpdateSubscription`, get(t, s, "a"), want)
}

func testUpdateKeepsStatusClientsUsage(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 5))
	join(t, s, "c1", "a", t0)
	join(t, s, "c2", "a", at(time.Minute))
	addUsage(t, s, "c1", usage(at(2*time.Minute), 5))
	status := store.Status{State: store.Disabled, Reason: "by hand"}
	if err := s.SetStatus(t.Context(), "a", status); err != nil {
		t.Fatalf("SetStatus: %v", err)
	}
	before := snapshot(t, s)

	update := configured("a")
	update.Clients = 99
	update.Holds = []time.Time{at(100 * time.Hour)}
	update.LastActive = at(100 * time.Hour)
	update.Usage = []store.Bucket{{Hour: hourOf(time.Hour), Cost: 1, Requests: 1}}
	update.Minutes = []store.Minute{{Minute: minuteOf(time.Hour), Cost: 1}}
	if err := s.UpdateSubscription(t.Context(), update); err != nil {
		t.Fatalf("UpdateSubscription: %v", err)
	}

	want := before.Subscriptions[0]
	want.Name, want.Kind, want.Credential, want.MaxClients = update.Name, update.Kind, update.Credential, update.MaxClients
	want.CredentialExpiresAt = update.CredentialExpiresAt
	want.WeeklyBudget, want.BlockBudget, want.DailyBudget = update.WeeklyBudget, update.BlockBudget, update.DailyBudget
	diff(t, `Subscription("a") after UpdateSubscription`, get(t, s, "a"), want)
	diff(t, "sessions after UpdateSubscription", byClient(sessions(t, s, store.SessionQuery{})), before.Sessions)
}

func testUpdateClearsCredentialExpiry(t *testing.T, s store.Store) {
	create(t, s, configured("a"))
	update := configured("a")
	update.Credential, update.CredentialExpiresAt = "sk-ant-no-expiry", time.Time{}
	if err := s.UpdateSubscription(t.Context(), update); err != nil {
		t.Fatalf("UpdateSubscription: %v", err)
	}
	diff(t, `Subscription("a") after UpdateSubscription with no expiry`, get(t, s, "a"), update)

	update.Credential, update.CredentialExpiresAt = "sk-ant-refreshed", at(16*time.Hour)
	if err := s.UpdateSubscription(t.Context(), update); err != nil {
		t.Fatalf("UpdateSubscription: %v", err)
	}
	diff(t, `Subscription("a") after UpdateSubscription with a new expiry`, get(t, s, "a"), update)
	list, err := s.Subscriptions(t.Context())
	if err != nil {
		t.Fatalf("Subscriptions: %v", err)
	}
	diff(t, "Subscriptions()", list, []store.Subscription{update})
}

func testUpdateLowersMaxClients(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 3))
	for _, c := range []string{"c1", "c2", "c3"} {
		join(t, s, c, "a", t0)
	}
	if err := s.UpdateSubscription(t.Context(), newSub("a", 1)); err != nil {
		t.Fatalf("UpdateSubscription(MaxClients 1): %v", err)
	}
	if got := clients(t, s, "a"); got != 3 {
		t.Fatalf("Clients after lowering MaxClients to 1 = %d, want the 3 it had", got)
	}
	if got := holding(t, s, "a", t0); got != 3 {
		t.Fatalf("clients holding a slot after lowering MaxClients to 1 = %d, want the 3 it had", got)
	}
	diff(t, "clients on a", clientIDs(byClient(sessions(t, s, store.SessionQuery{SubscriptionID: "a"}))), []string{"c1", "c2", "c3"})

	_, err := s.Assign(t.Context(), store.Assignment{ClientID: "c4", SubscriptionID: "a", Now: t0})
	wantErr(t, err, store.ErrFull, "Assign to a subscription above its MaxClients")
	release(t, s, "c1", time.Time{})
	_, err = s.Assign(t.Context(), store.Assignment{ClientID: "c4", SubscriptionID: "a", Now: t0})
	wantErr(t, err, store.ErrFull, "Assign with 2 clients, MaxClients 1")

	if err := s.UpdateSubscription(t.Context(), newSub("a", 0)); err != nil {
		t.Fatalf("UpdateSubscription(MaxClients 0): %v", err)
	}
	join(t, s, "c4", "a", t0)
}

func testUpdateMissing(t *testing.T, s store.Store) {
	err := s.UpdateSubscription(t.Context(), newSub("a", 0))
	wantErr(t, err, store.ErrNotFound, `UpdateSubscription("a") of an empty store`)
	unchanged(t, s, state{}, "UpdateSubscription of an unknown ID")
}

func testSetStatus(t *testing.T, s store.Store) {
	sub := newSub("a", 2)
	create(t, s, sub)
	join(t, s, "c", "a", t0)
	for _, st := range []store.Status{
		{State: store.Limited, Until: at(5 * time.Hour), Reason: "rate limited"},
		{State: store.Disabled, Reason: "revoked"},
		{State: store.Limited},
		{State: store.Active},
	} {
		if err := s.SetStatus(t.Context(), "a", st); err != nil {
			t.Fatalf("SetStatus(%+v): %v", st, err)
		}
		want := sub
		want.Status = st
		want.Clients = 1
		want.LastActive = t0
		want.Holds = []time.Time{at(holdFor)}
		diff(t, "Subscription after SetStatus", get(t, s, "a"), want)
		got, err := s.Touch(t.Context(), "c", t0, at(holdFor))
		if err != nil {
			t.Fatalf("Touch: %v", err)
		}
		if got.SubscriptionID != "a" {
			t.Errorf("Touch returned subscription %q, want a", got.SubscriptionID)
		}
		diff(t, "status returned by Touch", got.Status, st)
	}
}

func testSetStatusMissing(t *testing.T, s store.Store) {
	err := s.SetStatus(t.Context(), "a", store.Status{State: store.Disabled})
	wantErr(t, err, store.ErrNotFound, `SetStatus("a") of an empty store`)
	unchanged(t, s, state{}, "SetStatus of an unknown ID")
}

func testDeleteReleasesSessions(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0), newSub("b", 0))
	for i, c := range []string{"c3", "c1", "c2"} { // not in ID order
		join(t, s, c, "a", at(time.Duration(i)*time.Minute))
	}
	addUsage(t, s, "c1", usage(at(5*time.Minute), 5))
	want := byClient(sessions(t, s, store.SessionQuery{SubscriptionID: "a"}))

	released, err := s.DeleteSubscription(t.Context(), "a")
	if err != nil {
		t.Fatalf("DeleteSubscription: %v", err)
	}
	diff(t, "sessions DeleteSubscription returned", released, want)

	_, err = s.Subscription(t.Context(), "a")
	wantErr(t, err, store.ErrNotFound, `Subscription("a") after its deletion`)
	for _, c := range []string{"c1", "c2", "c3"} {
		_, err := s.Touch(t.Context(), c, at(time.Hour), at(time.Hour+holdFor))
		wantErr(t, err, store.ErrNotFound, "Touch("+c+") after its subscription's deletion")
	}
	diff(t, "sessions after DeleteSubscription", sessions(t, s, store.SessionQuery{}), []store.Session(nil))
	diff(t, "Subscriptions after DeleteSubscription", snapshot(t, s).Subscriptions, []store.Subscription{newSub("b", 0)})
}

func testDeleteFreesNothingElse(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0), newSub("b", 2), newSub("c", 0))
	join(t, s, "a1", "a", t0)
	join(t, s, "b1", "b", t0)
	join(t, s, "b2", "b", at(time.Minute))
	addUsage(t, s, "b1", usage(at(2*time.Minute), 5))
	addUsage(t, s, "a1", usage(at(3*time.Minute), 7))
	addUsage(t, s, "b2", withID(usage(at(4*time.Minute), 11), "msg-1", time.Hour))
	want := snapshot(t, s)
	want.Subscriptions = []store.Subscription{want.Subscriptions[1], want.Subscriptions[2]}
	want.Sessions = want.Sessions[1:]

	if _, err := s.DeleteSubscription(t.Context(), "a"); err != nil {
		t.Fatalf("DeleteSubscription: %v", err)
	}
	diff(t, "store after deleting another subscription", snapshot(t, s), want)
	_, err := s.Assign(t.Context(), store.Assignment{ClientID: "b3", SubscriptionID: "b", Now: t0})
	wantErr(t, err, store.ErrFull, "Assign to a full subscription after deleting another")
	_, err = s.AddUsage(t.Context(), "b1", withID(usage(at(5*time.Minute), 1), "msg-1", time.Hour))
	wantErr(t, err, store.ErrDuplicate, "AddUsage with an ID recorded before deleting another subscription")
}

func testDeleteWithoutSessions(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	released, err := s.DeleteSubscription(t.Context(), "a")
	if err != nil {
		t.Fatalf("DeleteSubscription: %v", err)
	}
	if len(released) != 0 {
		t.Errorf("DeleteSubscription of a subscription without clients released %v, want none", released)
	}
	unchanged(t, s, state{}, "DeleteSubscription of the only subscription")
}

func testDeleteMissing(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	before := snapshot(t, s)
	_, err := s.DeleteSubscription(t.Context(), "b")
	wantErr(t, err, store.ErrNotFound, `DeleteSubscription("b")`)
	unchanged(t, s, before, "DeleteSubscription of an unknown ID")
}

func testDeleteRemovesUsage(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	addUsage(t, s, "c", usage(at(time.Minute), 5))
	if _, err := s.DeleteSubscription(t.Context(), "a"); err != nil {
		t.Fatalf("DeleteSubscription: %v", err)
	}
	create(t, s, newSub("a", 0))
	diff(t, "subscription created again after its deletion", get(t, s, "a"), newSub("a", 0))
}

func testSubscriptionsOrderedByID(t *testing.T, s store.Store) {
	ids := []string{"m", "b2", "z", "a", "b10"}
	for _, id := range ids {
		create(t, s, newSub(id, 0))
	}
	join(t, s, "c1", "z", t0)
	join(t, s, "c2", "z", at(time.Minute))
	join(t, s, "c3", "b2", t0)
	addUsage(t, s, "c3", usage(at(2*time.Minute), 5))

	var want []store.Subscription
	for _, id := range []string{"a", "b10", "b2", "m", "z"} {
		want = append(want, get(t, s, id))
	}
	got, err := s.Subscriptions(t.Context())
	if err != nil {
		t.Fatalf("Subscriptions: %v", err)
	}
	diff(t, "Subscriptions", got, want)
	if got := clients(t, s, "z"); got != 2 {
		t.Errorf(`Subscription("z").Clients = %d, want 2`, got)
	}
	diff(t, `Subscription("b2").Usage`, get(t, s, "b2").Usage, []store.Bucket{{Hour: hourOf(0), Cost: 5, Requests: 1, Tokens: tokensOf(1)}})
}

func testSubscriptionsEmpty(t *testing.T, s store.Store) {
	got, err := s.Subscriptions(t.Context())
	if err != nil {
		t.Fatalf("Subscriptions of an empty store: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("Subscriptions of an empty store = %v, want none", got)
	}
}

func testSubscriptionLastActive(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0), newSub("b", 0))
	lastActive := func(id string, want time.Time, after string) {
		t.Helper()
		if got := get(t, s, id).LastActive; !got.Equal(want) {
			t.Errorf("%s: LastActive of %s = %v, want %v", after, id, got, want)
		}
	}
	lastActive("a", time.Time{}, "no client yet")
	join(t, s, "c1", "a", t0)
	lastActive("a", t0, "Assign")
	touch(t, s, "c1", at(2*time.Minute))
	lastActive("a", at(2*time.Minute), "Touch")
	join(t, s, "c2", "a", at(time.Minute))
	lastActive("a", at(2*time.Minute), "an Assign at an earlier time")
	addUsage(t, s, "c2", usage(at(3*time.Minute), 1))
	lastActive("a", at(3*time.Minute), "AddUsage")
	assign(t, s, store.Assignment{ClientID: "c1", SubscriptionID: "b", From: "a", Now: at(4 * time.Minute)})
	lastActive("b", at(4*time.Minute), "a client moved in")
	lastActive("a", at(3*time.Minute), "a client moved out")
	touch(t, s, "c1", at(5*time.Minute))
	lastActive("a", at(3*time.Minute), "a Touch of a client that left")
}

func testUsageHourlyBuckets(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	recordedAt := at(3 * time.Hour) // Now is later than every Time: the bucket follows Time
	for _, u := range []struct {
		at   time.Duration
		cost store.Nanodollars
	}{
		{0, 1},
		{time.Hour - time.Nanosecond, 2},
		{time.Hour, 4},
		{-30 * time.Minute, 8}, // late, in an earlier hour
		{time.Hour + 30*time.Minute, 16},
		{-2 * time.Hour, 0}, // free, yet a request
	} {
		rec := usage(at(u.at), u.cost)
		rec.Now = recordedAt
		addUsage(t, s, "c", rec)
	}
	diff(t, "Usage", get(t, s, "a").Usage, []store.Bucket{
		{Hour: hourOf(-2 * time.Hour), Cost: 0, Requests: 1, Tokens: tokensOf(1)},
		{Hour: hourOf(-time.Hour), Cost: 8, Requests: 1, Tokens: tokensOf(1)},
		{Hour: hourOf(0), Cost: 3, Requests: 2, Tokens: tokensOf(2)},
		{Hour: hourOf(time.Hour), Cost: 20, Requests: 2, Tokens: tokensOf(2)},
	})
}

func testUsageIsTheLastWeekHours(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	const week = store.WeekHours * time.Hour
	newest := hourOf(0)
	addUsage(t, s, "c", usage(t0, 1))
	addUsage(t, s, "c", usage(at(-week+time.Hour), 2)) // the oldest hour of the week: kept
	addUsage(t, s, "c", usage(at(-week+2*time.Hour), 4))
	diff(t, "Usage with buckets at the newest hour and WeekHours-1 hours before", get(t, s, "a").Usage, []store.Bucket{
		{Hour: newest - store.WeekHours + 1, Cost: 2, Requests: 1, Tokens: tokensOf(1)},
		{Hour: newest - store.WeekHours + 2, Cost: 4, Requests: 1, Tokens: tokensOf(1)},
		{Hour: newest, Cost: 1, Requests: 1, Tokens: tokensOf(1)},
	})

	addUsage(t, s, "c", usage(at(time.Hour), 8)) // a newer hour pushes the oldest out
	diff(t, "Usage after a usage in a newer hour", get(t, s, "a").Usage, []store.Bucket{
		{Hour: newest - store.WeekHours + 2, Cost: 4, Requests: 1, Tokens: tokensOf(1)},
		{Hour: newest, Cost: 1, Requests: 1, Tokens: tokensOf(1)},
		{Hour: newest + 1, Cost: 8, Requests: 1, Tokens: tokensOf(1)},
	})

	addUsage(t, s, "c", usage(at(week+2*time.Hour), 16)) // a week later: only the newest hour is left
	diff(t, "Usage after a usage a week later", get(t, s, "a").Usage, []store.Bucket{
		{Hour: newest + store.WeekHours + 2, Cost: 16, Requests: 1, Tokens: tokensOf(1)},
	})
}

func testUsageOlderThanWeek(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	addUsage(t, s, "c", usage(t0, 1))
	for _, age := range []time.Duration{store.WeekHours * time.Hour, 400 * time.Hour} {
		rec := usage(at(-age), 10)
		rec.Now = at(time.Minute)
		if billed := addUsage(t, s, "c", rec); billed != "a" {
			t.Errorf("AddUsage of a usage %v old returned %q, want a", age, billed)
		}
	}
	diff(t, "Usage", get(t, s, "a").Usage, []store.Bucket{{Hour: hourOf(0), Cost: 1, Requests: 1, Tokens: tokensOf(1)}})
	sess := session(t, s, "c")
	if sess.Requests != 3 || sess.Cost != 21 {
		t.Errorf("session counts %d requests costing %d, want 3 costing 21: usages older than the week count in the session", sess.Requests, sess.Cost)
	}
}

func testRecordsAreCopies(t *testing.T, s store.Store) {
	create(t, s, newSub("a", 0))
	join(t, s, "c", "a", t0)
	addUsage(t, s, "c", usage(t0, 5))
	before := snapshot(t, s)

	sub := get(t, s, "a")
	sub.Usage[0].Cost = 1000
	sub.Usage = append(sub.Usage, store.Bucket{Hour: 1})
	all, err := s.Subscriptions(t.Context())
	if err != nil {
		t.Fatalf("Subscriptions: %v", err)
	}
	all[0].Usage[0].Requests = 1000
	ss := sessions(t, s, store.SessionQuery{})
	ss[0].Cost = 1000
	unchanged(t, s, before, "changing returned records")
}
