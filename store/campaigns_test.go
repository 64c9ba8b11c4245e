package store_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store/storetest"
)

func TestCampaignDaysAndNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	loc := time.FixedZone("CST", 8*3600)
	day := func(m, d, h int) time.Time { return time.Date(2026, time.Month(m), d, h, 0, 0, 0, loc) }
	mk := func(name string, start, end time.Time) domain.Campaign {
		c, err := db.CreateCampaign(ctx, domain.Campaign{Name: name, Template: "major", Start: start, End: end,
			Owner: "U1", CreatedAt: start}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	mk("双11", day(11, 10, 20), day(11, 12, 0)) // 11-10 20:00 to the end of 11-11
	mk("双12", day(12, 12, 10), day(12, 13, 0))
	if _, err := db.CreateCampaign(ctx, domain.Campaign{Name: "双12", Template: "major", Start: day(12, 14, 10),
		End: day(12, 15, 0), Owner: "U1"}, nil); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("a second active 双12: %v", err)
	}
	x := mk("临时", day(11, 20, 10), day(11, 21, 0))
	if _, err := db.UpdateCampaign(ctx, "临时", func(c *domain.Campaign) ([]domain.Outgoing, error) {
		c.State = domain.CampaignCancelled
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	days, err := db.CampaignDays(ctx, day(11, 11, 0), day(12, 13, 0), loc)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"2026-11-11": "双11", "2026-12-12": "双12"}
	if !reflect.DeepEqual(days, want) {
		t.Errorf("campaign days %v, want %v", days, want)
	}
	// By number and by name, case ignored; a cancelled name is free again.
	if c, err := db.Campaign(ctx, "#"+strconv.FormatInt(x.ID, 10)); err != nil || c.State != domain.CampaignCancelled {
		t.Errorf("by number: %+v, %v", c, err)
	}
	mk("临时", day(11, 25, 10), day(11, 26, 0))
	if c, err := db.Campaign(ctx, "临时"); err != nil || c.State != domain.CampaignActive {
		t.Errorf("by name prefers the active one: %+v, %v", c, err)
	}
	if _, err := db.Campaign(ctx, "没有"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown name: %v", err)
	}
}
