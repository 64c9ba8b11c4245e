package bot_test

import (
	"reflect"
	"testing"

	"github.com/opsbot/opsbot/bot"
)

func TestSplit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in    string
		words []string
		offs  []int
	}{
		{"", nil, nil},
		{"   \t ", nil, nil},
		{"help", []string{"help"}, []int{0}},
		{"  staff   add U1  agent ", []string{"staff", "add", "U1", "agent"}, []int{2, 10, 14, 18}},
		{`note 12 "called them back"`, []string{"note", "12", "called them back"}, []int{0, 5, 8}},
		{`note 'it''s fine'`, []string{"note", "its fine"}, []int{0, 5}},
		{`a "b c"d e`, []string{"a", "b cd", "e"}, []int{0, 2, 9}},
		{`""`, []string{""}, []int{0}},
		{`a "" b`, []string{"a", "", "b"}, []int{0, 2, 5}},
		{`say \"hi\"`, []string{"say", `"hi"`}, []int{0, 4}},
		{`a\ b c`, []string{"a b", "c"}, []int{0, 5}},
		{`"a \" b"`, []string{`a " b`}, []int{0}},
		{`'a \ b'`, []string{`a \ b`}, []int{0}},
		{`trailing\`, []string{`trailing\`}, []int{0}},
		{`"unclosed quote`, []string{"unclosed quote"}, []int{0}},
		{"note “smart quotes” here", []string{"note", "smart quotes", "here"}, []int{0, 5, 24}},
		{"note ‘single smart’", []string{"note", "single smart"}, []int{0, 5}},
		{"投诉 订单20261111001 杯子碎了", []string{"投诉", "订单20261111001", "杯子碎了"}, []int{0, 7, 25}},
		{"投诉　全角空格", []string{"投诉", "全角空格"}, []int{0, 9}},
		{"note \"杯子 碎了\"", []string{"note", "杯子 碎了"}, []int{0, 5}},
		{"tab\tand\nnewline", []string{"tab", "and", "newline"}, []int{0, 4, 8}},
	}
	for _, c := range cases {
		words, offs := bot.Split(c.in)
		if !reflect.DeepEqual(words, c.words) || !reflect.DeepEqual(offs, c.offs) {
			t.Errorf("Split(%q) = %q %v, want %q %v", c.in, words, offs, c.words, c.offs)
		}
	}
}

func TestRequestArgs(t *testing.T) {
	t.Parallel()
	r := &bot.Request{Args: []string{"a", "b"}}
	if r.Arg(0) != "a" || r.Arg(1) != "b" || r.Arg(2) != "" {
		t.Errorf("Arg: %q %q %q", r.Arg(0), r.Arg(1), r.Arg(2))
	}
	if r.Tail(5) != "" {
		t.Errorf("Tail past the end = %q", r.Tail(5))
	}
}
