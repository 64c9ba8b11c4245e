package wechat

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/silenceper/wechat/v2/officialaccount"
	"github.com/silenceper/wechat/v2/officialaccount/menu"

	"github.com/opsbot/opsbot/bot"
)

// MenuButton is one button of the account's custom menu. A click arrives
// as a CLICK event with Key, and is answered as if the customer had typed
// Command.
type MenuButton struct {
	Name    string
	Key     string
	Command string
}

// WeChat allows three top-level buttons; the rest go under a "更多" button
// of at most five.
const (
	maxTopButtons = 3
	maxSubButtons = 5
	keyPrefix     = "KW_"
)

// MenuButtons turns the features' menu items into custom-menu buttons. A
// button's key encodes the text it sends, so a click always means what the
// button said, even from a menu installed by an older version.
func MenuButtons(items []bot.MenuItem) []MenuButton {
	var bs []MenuButton
	for _, m := range items {
		if m.Button == "" || m.Key == "" {
			continue
		}
		bs = append(bs, MenuButton{Name: m.Button, Key: keyPrefix + hex.EncodeToString([]byte(m.Key)), Command: m.Key})
	}
	return bs
}

// legacyKeys are the keys of the menu opsbot installed before menus were
// assembled from features.
var legacyKeys = map[string]string{"COMPLAIN": "投诉", "PROGRESS": "进度", "HELP": "帮助"}

// clickCommand returns what a menu click means, as customer text. Unknown
// keys get the help menu.
func clickCommand(key string) string {
	if rest, ok := strings.CutPrefix(key, keyPrefix); ok {
		if b, err := hex.DecodeString(rest); err == nil && len(b) > 0 && len(b) <= 64 {
			return string(b)
		}
	}
	if c, ok := legacyKeys[key]; ok {
		return c
	}
	return "帮助"
}

// PrintMenu shows the menu as `opsbot wechat menu show` prints it.
func PrintMenu(w io.Writer, bs []MenuButton) {
	fmt.Fprintln(w, "BUTTON → ANSWERS AS")
	for i, b := range bs {
		indent := ""
		if len(bs) > maxTopButtons && i >= maxTopButtons-1 {
			if i == maxTopButtons-1 {
				fmt.Fprintln(w, "更多")
			}
			indent = "  "
		}
		fmt.Fprintf(w, "%s%s → 「%s」\n", indent, b.Name, b.Command)
	}
}

// ApplyMenu installs the buttons on the account through the menu API:
// up to three at the top, the rest under 更多.
func ApplyMenu(oa *officialaccount.OfficialAccount, bs []MenuButton) error {
	if len(bs) > maxTopButtons-1+maxSubButtons {
		return fmt.Errorf("wechat: %d menu buttons; the custom menu holds at most %d", len(bs), maxTopButtons-1+maxSubButtons)
	}
	var top []*menu.Button
	for i, b := range bs {
		if len(bs) > maxTopButtons && i >= maxTopButtons-1 {
			var subs []*menu.Button
			for _, s := range bs[i:] {
				subs = append(subs, menu.NewClickButton(s.Name, s.Key))
			}
			top = append(top, menu.NewSubButton("更多", subs))
			break
		}
		top = append(top, menu.NewClickButton(b.Name, b.Key))
	}
	return asAPIError("set menu", oa.GetMenu().SetMenu(top))
}
