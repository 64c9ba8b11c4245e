package slack

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
)

// texts collects every text in a block list with where it sits.
func texts(t *testing.T, blocks []slackapi.Block) map[string][]string {
	t.Helper()
	b, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	var raw []map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, bl := range raw {
		typ := bl["type"].(string)
		if tx, ok := bl["text"].(map[string]any); ok {
			out[typ] = append(out[typ], tx["text"].(string))
		}
		if fs, ok := bl["fields"].([]any); ok {
			for _, f := range fs {
				out["field"] = append(out["field"], f.(map[string]any)["text"].(string))
			}
		}
		if els, ok := bl["elements"].([]any); ok {
			for _, el := range els {
				if m, ok := el.(map[string]any); ok && m["type"] == "mrkdwn" {
					out[typ] = append(out[typ], m["text"].(string))
				}
			}
		}
	}
	return out
}

func TestRender(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 7000)
	many := make([]string, 500)
	for i := range many {
		many[i] = fmt.Sprintf("#%d %s", i, strings.Repeat("y", 40))
	}
	fields := make([]domain.Field, 23)
	for i := range fields {
		fields[i] = domain.Field{Label: fmt.Sprint("F", i), Value: "v"}
	}
	cases := []struct {
		name  string
		c     domain.Content
		check func(t *testing.T, r rendered, tx map[string][]string)
	}{
		{"empty", domain.Content{}, func(t *testing.T, r rendered, _ map[string][]string) {
			if len(r.Blocks) != 0 || r.Text != "" {
				t.Errorf("got %d blocks, text %q", len(r.Blocks), r.Text)
			}
		}},
		{"all parts", domain.Content{Title: "Title", Text: "Hello *there*", Fields: fields[:2], List: []string{"a", "b"},
			Note: "small print", Buttons: []domain.Button{{Label: "Go", ActionID: "go", Value: "1", Style: "danger"}}},
			func(t *testing.T, r rendered, tx map[string][]string) {
				if tx["header"][0] != "Title" || tx["section"][0] != "Hello *there*" || tx["section"][1] != "• a\n• b" ||
					tx["context"][0] != "small print" || len(tx["field"]) != 2 {
					t.Errorf("texts %v", tx)
				}
				if _, ok := r.Blocks[len(r.Blocks)-1].(*slackapi.ActionBlock); !ok {
					t.Errorf("last block %T, want actions", r.Blocks[len(r.Blocks)-1])
				}
				if !strings.Contains(r.Text, "Hello") {
					t.Errorf("fallback %q", r.Text)
				}
			}},
		{"long text split", domain.Content{Text: long}, func(t *testing.T, r rendered, tx map[string][]string) {
			if len(tx["section"]) != 3 || strings.Join(tx["section"], "") != long {
				t.Errorf("%d sections", len(tx["section"]))
			}
		}},
		{"fields by ten", domain.Content{Fields: fields}, func(t *testing.T, r rendered, tx map[string][]string) {
			if len(r.Blocks) != 3 || len(tx["field"]) != 23 {
				t.Errorf("%d blocks, %d fields", len(r.Blocks), len(tx["field"]))
			}
		}},
		{"long list cut with a note", domain.Content{Title: "Failed", List: many, Note: "note",
			Buttons: []domain.Button{{Label: "More", ActionID: "more"}}},
			func(t *testing.T, r rendered, tx map[string][]string) {
				// 500 items of ~46 chars: ~65 per section, so it fits;
				// check the packing instead.
				if len(r.Blocks) > maxBlocks {
					t.Errorf("%d blocks", len(r.Blocks))
				}
			}},
		{"huge list cut with a note", domain.Content{Title: "Failed", List: append(append([]string{}, many...), many...),
			Note: "note", Buttons: []domain.Button{{Label: "More", ActionID: "more"}}},
			func(t *testing.T, r rendered, tx map[string][]string) {
				if len(r.Blocks) > maxBlocks {
					t.Errorf("%d blocks", len(r.Blocks))
				}
			}},
		{"duplicate action ids in separate blocks", domain.Content{Buttons: []domain.Button{
			{Label: "Claim 1", ActionID: "claim", Value: "1"}, {Label: "Claim 2", ActionID: "claim", Value: "2"},
			{Label: "Other", ActionID: "other"}}},
			func(t *testing.T, r rendered, _ map[string][]string) {
				if len(r.Blocks) != 2 {
					t.Errorf("%d action blocks, want 2", len(r.Blocks))
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := render(c.c, maxBlocks)
			tx := texts(t, r.Blocks)
			for kind, ss := range tx {
				for _, s := range ss {
					if n := utf8.RuneCountInString(s); n > maxText {
						t.Errorf("%s text of %d characters", kind, n)
					}
				}
			}
			c.check(t, r, tx)
		})
	}
}

// More list items than 50 blocks hold: cut, with a note saying how many
// were left out and how to see them; note and buttons kept.
func TestRenderCutsToFifty(t *testing.T) {
	t.Parallel()
	items := make([]string, 400)
	for i := range items {
		items[i] = fmt.Sprintf("item %d %s", i, strings.Repeat("z", 1500))
	}
	r := render(domain.Content{Title: "T", List: items, Note: "note", Buttons: []domain.Button{{Label: "B", ActionID: "b"}}}, maxBlocks)
	if len(r.Blocks) != maxBlocks {
		t.Fatalf("%d blocks, want %d", len(r.Blocks), maxBlocks)
	}
	tx := texts(t, r.Blocks)
	if len(tx["context"]) != 2 || !strings.Contains(tx["context"][0], "more not shown") || tx["context"][1] != "note" {
		t.Fatalf("context %q", tx["context"])
	}
	shown := strings.Count(strings.Join(tx["section"], "\n"), "item ")
	if !strings.Contains(tx["context"][0], fmt.Sprintf("%d more", 400-shown)) {
		t.Errorf("note %q, %d shown", tx["context"][0], shown)
	}
	if _, ok := r.Blocks[maxBlocks-1].(*slackapi.ActionBlock); !ok {
		t.Error("buttons lost")
	}
}

func TestModalView(t *testing.T) {
	t.Parallel()
	m := &bot.Modal{CallbackID: "complaint:new", Title: "Log a phone complaint please", Value: "v",
		Inputs: []bot.Input{{ID: "text", Label: "What happened", Multiline: true, Placeholder: "…"},
			{ID: "cat", Label: "Category", Options: []string{"quality", "logistics"}, Initial: "logistics", Optional: true}}}
	v, err := modalView(m, domain.Content{Text: "intro"}, modalMeta{Value: "v", Channel: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	if utf8.RuneCountInString(v.Title.Text) > maxModalTitle || len(v.Blocks.BlockSet) != 3 || v.CallbackID != "complaint:new" {
		t.Errorf("view %+v", v)
	}
	if got := parseMeta(v.PrivateMetadata); got != (modalMeta{Value: "v", Channel: "C1"}) {
		t.Errorf("meta %+v", got)
	}
	if got := parseMeta("plain"); got.Value != "plain" {
		t.Errorf("foreign metadata %+v", got)
	}
	sel := v.Blocks.BlockSet[2].(*slackapi.InputBlock)
	if !sel.Optional || sel.BlockID != "cat" {
		t.Errorf("select block %+v", sel)
	}
	if _, err := modalView(&bot.Modal{Value: strings.Repeat("v", 4000)}, domain.Content{}, modalMeta{}); err == nil {
		t.Error("oversized private value accepted")
	}
}

func TestStripMentionAndTargets(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"<@UBOT> help":                  "help",
		"  <@UBOT|opsbot>  staff list ": "staff list",
		"help":                          "help",
		"<@UBOT>":                       "",
		"<@":                            "<@",
	} {
		if got := stripMention(in); got != want {
			t.Errorf("stripMention(%q) = %q, want %q", in, got, want)
		}
	}
	if c, th := splitTarget(target("C1", "1.2")); c != "C1" || th != "1.2" {
		t.Errorf("target round trip: %s %s", c, th)
	}
	if c, th := splitTarget(target("#complaints", "")); c != "#complaints" || th != "" {
		t.Errorf("target round trip: %s %s", c, th)
	}
	if got := slackTime("1700000000.000100"); got.Unix() != 1700000000 || got.Nanosecond() != 100000 {
		t.Errorf("slackTime %v", got)
	}
}
