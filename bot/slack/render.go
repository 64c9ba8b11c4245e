package slack

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
)

// Slack's Block Kit limits.
const (
	maxBlocks       = 50   // blocks in a message
	maxModalBlocks  = 100  // blocks in a modal
	maxText         = 3000 // characters in a section or context text
	maxFields       = 10   // fields in a section
	maxFieldText    = 2000 // characters in a field
	maxHeader       = 150  // characters in a header
	maxButtons      = 25   // elements in an actions block
	maxButtonText   = 75   // characters on a button
	maxButtonValue  = 2000 // characters in a button's value
	maxActionID     = 255  // characters in an action_id
	maxModalTitle   = 24   // characters in a modal's title and buttons
	maxOptions      = 100  // options in a select
	maxOptionText   = 75   // characters in an option's text
	maxOptionValue  = 150  // characters in an option's value
	maxLabel        = 2000 // characters in an input's label
	maxPlaceholder  = 150  // characters in a placeholder
	maxInitialValue = 3000 // characters in an input's initial value
	maxMetadata     = 3000 // characters of a modal's private_metadata
)

// rendered is a message ready for Slack: Block Kit plus the plain-text
// fallback shown in notifications.
type rendered struct {
	Text   string
	Blocks []slackapi.Block
}

// options returns chat.postMessage / chat.update options for r.
func (r rendered) options() []slackapi.MsgOption {
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(r.Text, false)}
	if len(r.Blocks) > 0 {
		opts = append(opts, slackapi.MsgOptionBlocks(r.Blocks...))
	}
	return opts
}

// chunks splits s into pieces of at most n characters, breaking at line
// ends where it can.
func chunks(s string, n int) []string {
	var out []string
	var cur strings.Builder
	curLen := 0
	flush := func() {
		if curLen > 0 {
			out = append(out, cur.String())
			cur.Reset()
			curLen = 0
		}
	}
	for _, line := range strings.Split(s, "\n") {
		for utf8.RuneCountInString(line) > n {
			flush()
			r := []rune(line)
			at := safeCut(r, n)
			if at == 0 {
				at = n
			}
			out = append(out, string(r[:at]))
			line = string(r[at:])
		}
		l := utf8.RuneCountInString(line)
		if curLen > 0 && curLen+1+l > n {
			flush()
		}
		if curLen > 0 {
			cur.WriteByte('\n')
			curLen++
		}
		cur.WriteString(line)
		curLen += l
	}
	flush()
	return out
}

func mrkdwn(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, s, false, false)
}

func plain(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, true, false)
}

// body is a rendered block and how many list items it carries.
type body struct {
	block slackapi.Block
	items int
}

// render turns content into Block Kit within Slack's limits. Every string
// of the content goes through text (escape.go): escaped, opsbot's marks
// turned into links. When the content does not fit in maxBlocks blocks, it
// is cut and a last context block says how much was left out and how to
// see it.
func render(c domain.Content, limit int) rendered {
	r := rendered{Text: fallback(c)}
	if c.IsZero() {
		return r
	}
	var bodies []body
	if c.Title != "" {
		bodies = append(bodies, body{block: slackapi.NewHeaderBlock(plain(cut(text(c.Title), maxHeader)))})
	}
	for _, part := range chunks(text(c.Text), maxText) {
		if strings.TrimSpace(part) != "" {
			bodies = append(bodies, body{block: slackapi.NewSectionBlock(mrkdwn(part), nil, nil)})
		}
	}
	for i := 0; i < len(c.Fields); i += maxFields {
		var fs []*slackapi.TextBlockObject
		for _, f := range c.Fields[i:min(i+maxFields, len(c.Fields))] {
			fs = append(fs, mrkdwn(cut("*"+text(f.Label)+"*\n"+text(f.Value), maxFieldText)))
		}
		bodies = append(bodies, body{block: slackapi.NewSectionBlock(nil, fs, nil)})
	}
	// List items are packed into sections of up to maxText characters.
	var cur strings.Builder
	n, curLen := 0, 0
	flushList := func() {
		if n > 0 {
			bodies = append(bodies, body{block: slackapi.NewSectionBlock(mrkdwn(cur.String()), nil, nil), items: n})
			cur.Reset()
			n, curLen = 0, 0
		}
	}
	for _, item := range c.List {
		line := cut("• "+text(item), maxText)
		l := utf8.RuneCountInString(line)
		if n > 0 && curLen+1+l > maxText {
			flushList()
		}
		if n > 0 {
			cur.WriteByte('\n')
			curLen++
		}
		cur.WriteString(line)
		curLen += l
		n++
	}
	flushList()

	var foot []slackapi.Block
	if c.Note != "" {
		foot = append(foot, slackapi.NewContextBlock("", mrkdwn(cut(text(c.Note), maxText))))
	}
	foot = append(foot, buttons(c.Buttons)...)

	room := limit - len(foot)
	if len(bodies) > room {
		room-- // for the note saying what was cut
		if room < 0 {
			room = 0
		}
		left := 0
		for _, b := range bodies[room:] {
			left += b.items
		}
		bodies = bodies[:room]
		note := "Some of this reply was cut to fit in a Slack message."
		if left > 0 {
			note = fmt.Sprintf("…and %d more not shown: Slack fits only %d blocks in a message. "+
				"Narrow the command (a filter or a smaller number) to see the rest.", left, limit)
		}
		foot = append([]slackapi.Block{slackapi.NewContextBlock("", mrkdwn(note))}, foot...)
		if len(foot) > limit {
			foot = foot[:limit]
		}
	}
	for _, b := range bodies {
		r.Blocks = append(r.Blocks, b.block)
	}
	r.Blocks = append(r.Blocks, foot...)
	return r
}

// buttons renders buttons as actions blocks. An action_id must be unique
// within its block, so a repeated one starts a new block.
func buttons(bs []domain.Button) []slackapi.Block {
	var out []slackapi.Block
	var cur []slackapi.BlockElement
	seen := map[string]bool{}
	flush := func() {
		if len(cur) > 0 {
			out = append(out, slackapi.NewActionBlock("", cur...))
			cur = nil
			seen = map[string]bool{}
		}
	}
	for _, b := range bs {
		id := cut(b.ActionID, maxActionID)
		if seen[id] || len(cur) == maxButtons {
			flush()
		}
		seen[id] = true
		btn := slackapi.NewButtonBlockElement(id, cut(b.Value, maxButtonValue), plain(cut(text(b.Label), maxButtonText)))
		switch b.Style {
		case "primary":
			btn.Style = slackapi.StylePrimary
		case "danger":
			btn.Style = slackapi.StyleDanger
		}
		cur = append(cur, btn)
	}
	flush()
	return out
}

// fallback is the text shown in notifications and by clients that cannot
// show blocks: escaped like the blocks, since Slack acts on it the same way.
func fallback(c domain.Content) string {
	return cut(bot.Lines(c, text), maxText)
}

// replyContent is what a reply shows as a message: its content, with form
// errors spelled out where no form can show them.
func replyContent(rep bot.Reply) domain.Content {
	c := rep.Content
	if len(rep.Errors) > 0 {
		keys := make([]string, 0, len(rep.Errors))
		for k := range rep.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c.List = append(c.List, k+": "+rep.Errors[k])
		}
	}
	return c
}

// modalMeta travels in a modal's private_metadata: the handler's value and
// where the form was opened, so that the answer to a submission can go
// back there.
type modalMeta struct {
	Value   string `json:"v,omitempty"`
	Channel string `json:"c,omitempty"`
	Thread  string `json:"t,omitempty"`
}

// parseMeta reads private_metadata; anything not written by the adapter
// is taken as the value itself.
func parseMeta(s string) modalMeta {
	var m modalMeta
	if strings.HasPrefix(s, "{") && json.Unmarshal([]byte(s), &m) == nil {
		return m
	}
	return modalMeta{Value: s}
}

// modalView renders a form. intro is content shown above the inputs; meta
// says where the form was opened (its Value is the modal's).
func modalView(m *bot.Modal, intro domain.Content, meta modalMeta) (slackapi.ModalViewRequest, error) {
	meta.Value = m.Value
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return slackapi.ModalViewRequest{}, err
	}
	if utf8.RuneCount(metaJSON) > maxMetadata {
		return slackapi.ModalViewRequest{}, fmt.Errorf("slack: modal value too long (%d characters)", utf8.RuneCount(metaJSON))
	}
	title := m.Title
	if title == "" {
		title = "opsbot"
	}
	submit := m.Submit
	if submit == "" {
		submit = "Submit"
	}
	v := slackapi.ModalViewRequest{
		Type:            slackapi.VTModal,
		CallbackID:      cut(m.CallbackID, maxActionID),
		Title:           plain(cut(plainText(title), maxModalTitle)),
		Submit:          plain(cut(plainText(submit), maxModalTitle)),
		Close:           plain("Cancel"),
		PrivateMetadata: string(metaJSON),
	}
	var blocks []slackapi.Block
	if !intro.IsZero() {
		blocks = render(intro, maxModalBlocks-len(m.Inputs)).Blocks
	}
	for _, in := range m.Inputs {
		blocks = append(blocks, inputBlock(in))
	}
	if len(blocks) > maxModalBlocks {
		blocks = blocks[len(blocks)-maxModalBlocks:]
	}
	v.Blocks = slackapi.Blocks{BlockSet: blocks}
	return v, nil
}

func inputBlock(in bot.Input) slackapi.Block {
	label := in.Label
	if label == "" {
		label = in.ID
	}
	var el slackapi.BlockElement
	var placeholder *slackapi.TextBlockObject
	if in.Placeholder != "" {
		placeholder = plain(cut(plainText(in.Placeholder), maxPlaceholder))
	}
	if len(in.Options) > 0 {
		var opts []*slackapi.OptionBlockObject
		var initial *slackapi.OptionBlockObject
		for _, o := range in.Options[:min(len(in.Options), maxOptions)] {
			ob := slackapi.NewOptionBlockObject(cut(o, maxOptionValue), plain(cut(plainText(o), maxOptionText)), nil)
			opts = append(opts, ob)
			if o == in.Initial {
				initial = ob
			}
		}
		sel := slackapi.NewOptionsSelectBlockElement(slackapi.OptTypeStatic, placeholder, in.ID, opts...)
		sel.InitialOption = initial
		el = sel
	} else {
		ti := slackapi.NewPlainTextInputBlockElement(placeholder, in.ID)
		ti.Multiline = in.Multiline
		ti.InitialValue = cut(plainText(in.Initial), maxInitialValue)
		el = ti
	}
	ib := slackapi.NewInputBlock(in.ID, plain(cut(plainText(label), maxLabel)), nil, el)
	ib.Optional = in.Optional
	return ib
}

// formValues flattens a submitted view's state: one string per input, by
// block ID (the input's ID). Inputs arrive as typed (not escaped), so they
// are only sanitized.
func formValues(st *slackapi.ViewState) map[string]string {
	out := map[string]string{}
	if st == nil {
		return out
	}
	for blockID, actions := range st.Values {
		for _, act := range actions {
			out[blockID] = domain.Sanitize(actionValue(act))
		}
	}
	return out
}

// actionValue is the value of an input or a button, whatever its kind.
func actionValue(act slackapi.BlockAction) string {
	switch {
	case act.Value != "":
		return act.Value
	case act.SelectedOption.Value != "":
		return act.SelectedOption.Value
	case len(act.SelectedOptions) > 0:
		vs := make([]string, len(act.SelectedOptions))
		for i, o := range act.SelectedOptions {
			vs[i] = o.Value
		}
		return strings.Join(vs, ",")
	case act.SelectedUser != "":
		return act.SelectedUser
	case act.SelectedChannel != "":
		return act.SelectedChannel
	case act.SelectedConversation != "":
		return act.SelectedConversation
	case act.SelectedDate != "":
		return act.SelectedDate
	case act.SelectedTime != "":
		return act.SelectedTime
	}
	return ""
}
