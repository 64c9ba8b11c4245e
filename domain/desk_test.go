package domain

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParsePhone(t *testing.T) {
	good := map[string]string{
		"13800138000":       "13800138000",
		"138 0013 8000":     "13800138000",
		"138-0013-8000":     "13800138000",
		"+86 138 0013 8000": "13800138000",
		"+86-13800138000":   "13800138000",
		"008613800138000":   "13800138000",
		"8613800138000":     "13800138000",
		"１３８００１３８０００":       "13800138000",
		"010-12345678":      "010-12345678",
		"(010) 1234 5678":   "010-12345678",
		"0571-87654321":     "0571-87654321",
		"0571 8765432":      "0571-8765432",
		"+86 10 1234 5678":  "010-12345678",
		"+86 571 8765 4321": "0571-87654321",
		"400-820-8820":      "400-820-8820",
		"021 6123 4567":     "021-61234567",
	}
	for in, want := range good {
		if got, err := ParsePhone(in); err != nil || got != want {
			t.Errorf("ParsePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "138", "12345678901", "1380013800", "138001380001", "+1 415 555 0100", "010-1234",
		"abc", "13800138000x", "tel:13800138000", "0000-1234567", "010-01234567", "++8613800138000", strings.Repeat("1", 50)} {
		got, err := ParsePhone(bad)
		if err == nil {
			t.Errorf("ParsePhone(%q) = %q, want an error", bad, got)
			continue
		}
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "13800138000") && !strings.Contains(err.Error(), "+86") {
			t.Errorf("ParsePhone(%q) error gives no example: %v", bad, err)
		}
	}
}

func FuzzParsePhone(f *testing.F) {
	for _, s := range []string{"13800138000", "+86 138 0013 8000", "010-12345678", "(0571) 8765 4321", "400-820-8820", "", "++", "0086"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParsePhone(s)
		if err != nil {
			return
		}
		// A number it accepts is normalised: digits and dashes only, and
		// parsing it again gives itself.
		if strings.Trim(got, "0123456789-") != "" {
			t.Fatalf("ParsePhone(%q) = %q", s, got)
		}
		if again, err := ParsePhone(got); err != nil || again != got {
			t.Fatalf("ParsePhone(%q) = %q, but again %q, %v", s, got, again, err)
		}
	})
}

func TestParseComplaintQuery(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	q, err := ParseComplaintQuery(strings.Fields("at-risk category=refund assignee=<@U123|alice> from=2026-11-01 to=2026-11-30 page=2"), loc)
	if err != nil {
		t.Fatal(err)
	}
	if q.Filter != FilterAtRisk || q.Category != CategoryRefund || q.Assignee != "U123" || q.Page != 2 ||
		!q.From.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, loc)) || !q.To.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, loc)) {
		t.Errorf("query %+v", q)
	}
	// Args round-trips: a More button's words give the same query.
	again, err := ParseComplaintQuery(q.Args(loc), loc)
	if err != nil || again != q {
		t.Errorf("round trip %v: %+v, %v", q.Args(loc), again, err)
	}
	if q, _ := ParseComplaintQuery(nil, loc); q.Filter != FilterOpen || q.Page != 1 {
		t.Errorf("default %+v", q)
	}
	if q, _ := ParseComplaintQuery([]string{"MINE", "assignee=none"}, loc); q.Filter != FilterMine || q.Assignee != "none" {
		t.Errorf("mine %+v", q)
	}
	for bad, want := range map[string]string{
		"sideways":                      `unknown word "sideways"`,
		"open all":                      "not both",
		"colour=red":                    `unknown filter "colour="`,
		"category=weather":              "unknown category",
		"page=0":                        "not a page",
		"page=x":                        "not a page",
		"from=yesterday":                "not a date",
		"from=2026-11-05 to=2026-11-01": "after",
		"assignee=":                     "needs a value",
		"assignee=a<b":                  "not a user",
	} {
		_, err := ParseComplaintQuery(strings.Fields(bad), loc)
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseComplaintQuery(%q) = %v, want %q", bad, err, want)
		}
	}
}

func FuzzParseComplaintQuery(f *testing.F) {
	loc := time.FixedZone("CST", 8*3600)
	for _, s := range []string{"at-risk category=refund page=2", "mine assignee=<@U1>", "all from=2026-11-01 to=2026-11-30", "x=", "=", "page=99999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseComplaintQuery(strings.Fields(s), loc)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%q: error %v is not ErrInvalid", s, err)
			}
			return
		}
		if q.Page < 1 {
			t.Fatalf("%q: page %d", s, q.Page)
		}
		again, err := ParseComplaintQuery(q.Args(loc), loc)
		if err != nil || again != q {
			t.Fatalf("%q: round trip %v gives %+v, %v; want %+v", s, q.Args(loc), again, err, q)
		}
	})
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Minute: "30 min", time.Hour: "1 h", 90 * time.Minute: "1 h 30 min", 48 * time.Hour: "48 h",
		0: "0 min", 20 * time.Second: "0 min", 74 * time.Hour: "3 d 2 h", -10 * time.Minute: "10 min",
	} {
		if got := HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestSLADurationsExplained(t *testing.T) {
	_, err := ParseSLADuration("0m")
	if err == nil || !strings.Contains(err.Error(), "at least 1 min") {
		t.Errorf("0m: %v", err)
	}
	err = SLAPolicy{Category: CategoryOther, Reply: time.Hour, Resolve: 30 * time.Minute, WarnPct: 75}.Validate()
	if err == nil || !strings.Contains(err.Error(), "(30 min)") || !strings.Contains(err.Error(), "(1 h)") || strings.Contains(err.Error(), "0s") {
		t.Errorf("validate: %v", err)
	}
}

func TestClassifyScoresAllKeywords(t *testing.T) {
	for text, want := range map[string]Category{
		"羽绒服质量太差了，拉链也坏了，联系了好几次都没人理": CategoryQuality,
		"客服态度很差，没人理，不耐烦，东西有点瑕疵":     CategoryAttitude,
		"羽絨服質量太差了":                                   CategoryQuality,
		"The mug arrived broken and cracked":         CategoryQuality,
		"My parcel never arrived, tracking is stuck": CategoryLogistics,
		"I want a refund":                            CategoryRefund,
		"Your agent was rude":                        CategoryAttitude,
		"You sent the wrong item":                    CategoryOrder,
		"I love chocolate":                           CategoryOther, // "late" is not a word in it
		"还没发货":                                       CategoryLogistics,
	} {
		if got := Classify(text); got != want {
			t.Errorf("Classify(%q) = %s, want %s", text, got, want)
		}
	}
}

func TestFoldKeywords(t *testing.T) {
	for in, want := range map[string]string{"投訴": "投诉", "進度": "进度", "ＨＥＬＰ": "HELP", "查詢進度": "查询进度", "轉人工": "转人工", "撤銷投訴": "撤销投诉"} {
		if got := FoldKeywords(in); got != want {
			t.Errorf("FoldKeywords(%q) = %q, want %q", in, got, want)
		}
	}
	s := "投訴 訂單 20261111001"
	if len([]rune(FoldKeywords(s))) != len([]rune(s)) {
		t.Error("folding changed the number of runes")
	}
}

func TestWithdrawAndLabels(t *testing.T) {
	c := Complaint{Number: "TS-20261122-0001", OpenID: "oA", State: ComplaintOpen}
	e, err := c.Withdraw(time.Now())
	if err != nil || !c.Withdrawn() || !c.Resolved() || e.Kind != EventWithdrawn {
		t.Fatalf("withdraw: %+v %v", c, err)
	}
	if _, err := c.Withdraw(time.Now()); !errors.Is(err, ErrConflict) {
		t.Errorf("second withdraw: %v", err)
	}
	phone := Complaint{Number: "TS-20261122-0002", Contact: "13800138000", State: ComplaintOpen}
	if _, err := phone.Withdraw(time.Now()); err == nil {
		t.Error("a phone complaint was withdrawn")
	}
	for _, k := range []EventKind{EventCreated, EventCustomerMessage, EventRecategorised, EventWarned, EventBreached, EventWithdrawn, "some_new_kind"} {
		if strings.Contains(k.Label(), "_") {
			t.Errorf("label of %s = %q", k, k.Label())
		}
	}
}
