package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

// A successor takes back at once the claims of a holder it knows is dead,
// and never those of a live one or its own.
func TestReleaseOrphanedClaims(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.URL(t)
	open := func(owner string) *store.DB {
		db, err := store.Open(ctx, url, store.Options{MaxOpenConns: 2, Owner: owner})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	dead, alive, me := open("host/1/1"), open("host/2/2"), open("host/3/3")
	if err := me.Enqueue(ctx, post("C1", "a"), post("C1", "b"), post("C1", "c")); err != nil {
		t.Fatal(err)
	}
	for _, db := range []*store.DB{dead, alive, me} {
		if got, err := db.ClaimOutbox(ctx, 1, time.Hour); err != nil || len(got) != 1 {
			t.Fatalf("claim: %d, %v", len(got), err)
		}
	}
	n, err := me.ReleaseOrphanedClaims(ctx, func(owner string) bool { return owner != "host/2/2" })
	if err != nil || n != 1 {
		t.Fatalf("released %d, %v; want the dead holder's 1", n, err)
	}
	got, err := me.ClaimOutbox(ctx, 10, time.Hour)
	if err != nil || len(got) != 1 || got[0].Content.Text != "a" {
		t.Fatalf("after release, claimable: %+v, %v; want only the dead holder's message", got, err)
	}
}
