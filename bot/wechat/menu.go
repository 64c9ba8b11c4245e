package wechat

import (
	"fmt"
	"io"

	"github.com/silenceper/wechat/v2/officialaccount"
	"github.com/silenceper/wechat/v2/officialaccount/menu"
)

// MenuButton is one button of the account's custom menu. A click arrives
// as a CLICK event with Key, and is answered as if the customer had typed
// Command.
type MenuButton struct {
	Name    string
	Key     string
	Command string
}

// Menu is the account's menu: three top-level click buttons.
var Menu = []MenuButton{
	{Name: "我要投诉", Key: "COMPLAIN", Command: "投诉"},
	{Name: "投诉进度", Key: "PROGRESS", Command: "进度"},
	{Name: "帮助", Key: "HELP", Command: "帮助"},
}

// clickCommand returns what a menu click means, as customer text. Unknown
// keys (a menu from an older version) get the help menu.
func clickCommand(key string) string {
	for _, b := range Menu {
		if b.Key == key {
			return b.Command
		}
	}
	return "帮助"
}

// PrintMenu shows the menu as `opsbot wechat menu show` prints it.
func PrintMenu(w io.Writer) {
	fmt.Fprintln(w, "KEY        BUTTON → ANSWERS AS")
	for _, b := range Menu {
		fmt.Fprintf(w, "%-10s %s → 「%s」\n", b.Key, b.Name, b.Command)
	}
}

// ApplyMenu installs Menu on the account through the menu API.
func ApplyMenu(oa *officialaccount.OfficialAccount) error {
	buttons := make([]*menu.Button, len(Menu))
	for i, b := range Menu {
		buttons[i] = menu.NewClickButton(b.Name, b.Key)
	}
	return asAPIError("set menu", oa.GetMenu().SetMenu(buttons))
}
