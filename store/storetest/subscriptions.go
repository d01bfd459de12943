package storetest

import (
	"testing"
	"time"

	"github.com/authpool/authpool/store"
)

// configured returns a subscription with every configuration field set.
func configured(id string) store.Subscription {
	return store.Subscription{
		ID: id, Name: "Alice's Max", Kind: "max20x", Credential: "sk-ant-configured", RefreshToken: "sk-ant-ort-configured",
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
	want.CredentialExpiresAt, want.RefreshToken = update.CredentialExpiresAt, update.RefreshToken
	want.WeeklyBudget, want.BlockBudget, want.DailyBudget = update.WeeklyBudget, update.BlockBudget, update.DailyBudget
	diff(t, `Subscription("a") after UpdateSubscription`, get(t, s, "a"), want)
	diff(t, "sessions after UpdateSubscription", byClient(sessions(t, s, store.SessionQuery{})), before.Sessions)
}

func testUpdateClearsCredentialExpiry(t *testing.T, s store.Store) {
	create(t, s, configured("a"))
	update := configured("a")
	update.Credential, update.CredentialExpiresAt, update.RefreshToken = "sk-ant-no-expiry", time.Time{}, ""
	if err := s.UpdateSubscription(t.Context(), update); err != nil {
		t.Fatalf("UpdateSubscription: %v", err)
	}
	diff(t, `Subscription("a") after UpdateSubscription with no expiry nor refresh token`, get(t, s, "a"), update)

	update.Credential, update.CredentialExpiresAt, update.RefreshToken = "sk-ant-refreshed", at(16*time.Hour), "sk-ant-ort-2"
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
