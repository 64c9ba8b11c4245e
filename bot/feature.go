package bot

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/opsbot/opsbot/domain"
)

// Feature is one of opsbot's jobs (complaints, surveys, digests, campaigns)
// as the router and the scheduler see it: everything it answers, offers and
// runs. cmd/opsbot names the features in one list; Router.Use adds each.
type Feature struct {
	// Name is short and lower case: "complaints".
	Name string
	// Commands are the staff commands; names may have any number of words.
	Commands []*Command
	// Actions are its buttons and forms. Prefix action IDs with the
	// feature's name ("complaint.claim") so they never collide.
	Actions []ActionHandler
	// Intents answer customer text that starts with one of their keywords.
	Intents []CustomerIntent
	// Answerers take the answers to the questions this feature asked
	// (domain.PendingQuestion with one of their topics).
	Answerers []Answerer
	// Hooks see customer text nothing else took (an open complaint takes
	// it as more detail).
	Hooks []CustomerHook
	// StaffHooks see staff messages before commands do.
	StaffHooks []StaffHook
	// Menu is what the feature offers customers, in the 帮助 menu and as
	// WeChat custom-menu buttons.
	Menu []MenuItem
	// Jobs are its scheduled jobs; their schedules are defaults that the
	// environment can override.
	Jobs []Job
}

// MenuItem is one line of the customer menu, and optionally one WeChat
// custom-menu button that sends Key as if the customer had typed it.
type MenuItem struct {
	// Line is the menu text: "投诉：回复「投诉」加上问题描述".
	Line string
	// Button is the custom-menu label (at most 4 Chinese characters
	// read well); empty for no button.
	Button string
	// Key is what a tap on the button sends; it must be a keyword of one
	// of the feature's intents.
	Key string
}

// Answerer takes a customer's answer to a question its feature asked.
// It returns handled=false to let the text go on (a survey waiting for a
// score lets "我要投诉" through).
type Answerer struct {
	Topic  string
	Answer func(ctx context.Context, req *Request, q domain.PendingQuestion) (reply Reply, handled bool, err error)
}

// Use adds a feature. It fails when a command name can never match (it
// would not survive Split, or is not lower case), when a name or action ID
// is taken, or when a menu button's key is not one of the intents.
func (r *Router) Use(f Feature) error {
	for _, c := range f.Commands {
		if err := r.add(c); err != nil {
			return fmt.Errorf("bot: feature %s: %w", f.Name, err)
		}
	}
	for _, a := range f.Actions {
		for _, have := range r.actions {
			if have.ID == a.ID {
				return fmt.Errorf("bot: feature %s: action %q registered twice", f.Name, a.ID)
			}
		}
		r.actions = append(r.actions, a)
	}
	for _, in := range f.Intents {
		if len(in.Keywords) == 0 && len(in.Exact) == 0 {
			return fmt.Errorf("bot: feature %s: intent %q has no keywords", f.Name, in.Name)
		}
	}
	r.intents = append(r.intents, f.Intents...)
	for _, a := range f.Answerers {
		if a.Topic == "" || a.Answer == nil {
			return fmt.Errorf("bot: feature %s: answerer without topic or func", f.Name)
		}
		if _, dup := r.answerers[a.Topic]; dup {
			return fmt.Errorf("bot: feature %s: topic %q answered twice", f.Name, a.Topic)
		}
		r.answerers[a.Topic] = a
	}
	r.hooks = append(r.hooks, f.Hooks...)
	r.staff = append(r.staff, f.StaffHooks...)
	for _, m := range f.Menu {
		if m.Key != "" && r.intentFor(m.Key) == nil {
			return fmt.Errorf("bot: feature %s: menu key %q is no customer keyword", f.Name, m.Key)
		}
		r.menu = append(r.menu, m)
	}
	r.features = append(r.features, f)
	return nil
}

// Features returns the features added, in order.
func (r *Router) Features() []Feature { return r.features }

// Menu returns the customer menu items of every feature, in order.
func (r *Router) Menu() []MenuItem { return r.menu }

// Jobs returns the scheduled jobs of every feature.
func (r *Router) Jobs() []Job {
	var js []Job
	for _, f := range r.features {
		js = append(js, f.Jobs...)
	}
	return js
}

// validName reports why a command name could never be typed, or "".
func validName(name string) string {
	words, _ := Split(name)
	switch {
	case len(words) == 0:
		return "is empty"
	case strings.Join(words, " ") != name:
		return "does not survive word splitting (quotes, backslashes or extra spaces)"
	case strings.ToLower(name) != name:
		return "is not lower case"
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "has a control character"
		}
	}
	return ""
}
