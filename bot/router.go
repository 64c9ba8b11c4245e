package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opsbot/opsbot/domain"
)

// Directory tells the router who is staff.
type Directory interface {
	StaffRole(ctx context.Context, userID string) (domain.Role, error)
}

// Router routes messages to commands, actions and customer intents, checks
// roles, and turns errors and panics into replies.
type Router struct {
	dir      Directory
	log      *slog.Logger
	cmds     []*Command
	byName   map[string]*Command
	longest  int // words in the longest command name
	actions  []ActionHandler
	intents  []CustomerIntent
	hooks    []CustomerHook
	staff    []StaffHook
	fallback func(ctx context.Context, req *Request) (Reply, error)

	questions QuestionStore
	answerers map[string]Answerer
	menu      []MenuItem
	features  []Feature
}

// QuestionStore finds the questions waiting for a customer's answer,
// newest first.
type QuestionStore interface {
	PendingQuestions(ctx context.Context, platform domain.Platform, userID string, at time.Time) ([]domain.PendingQuestion, error)
}

// NewRouter returns a router with the built-in help command.
func NewRouter(dir Directory, log *slog.Logger) *Router {
	r := &Router{dir: dir, log: log, byName: map[string]*Command{}, answerers: map[string]Answerer{}}
	r.Register(&Command{
		Name:        "help",
		Usage:       "help [command or group]",
		Description: "List the commands you can use, or explain one or a group of them.",
		Examples:    []string{"help", "help complaint", "help staff add"},
		Role:        domain.RoleAgent,
		Run:         r.help,
	})
	return r
}

// Register adds commands, panicking on a name that is taken or can never
// match. Features use Use, which returns the error instead.
func (r *Router) Register(cmds ...*Command) {
	for _, c := range cmds {
		if err := r.add(c); err != nil {
			panic(err.Error())
		}
	}
}

func (r *Router) add(c *Command) error {
	if why := validName(c.Name); why != "" {
		return fmt.Errorf("command name %q %s", c.Name, why)
	}
	if c.Run == nil {
		return fmt.Errorf("command %q has no Run", c.Name)
	}
	if _, dup := r.byName[c.Name]; dup {
		return fmt.Errorf("command registered twice: %s", c.Name)
	}
	if n := len(strings.Fields(c.Name)); n > r.longest {
		r.longest = n
	}
	r.byName[c.Name] = c
	r.cmds = append(r.cmds, c)
	sort.Slice(r.cmds, func(i, j int) bool { return r.cmds[i].Name < r.cmds[j].Name })
	return nil
}

// Questions sets where the router finds customers' pending questions.
func (r *Router) Questions(q QuestionStore) { r.questions = q }

// Commands returns the registered commands in name order.
func (r *Router) Commands() []*Command { return r.cmds }

// HandleAction adds button and form handlers.
func (r *Router) HandleAction(hs ...ActionHandler) { r.actions = append(r.actions, hs...) }

// HandleCustomer adds customer intents, tried in order.
func (r *Router) HandleCustomer(in ...CustomerIntent) { r.intents = append(r.intents, in...) }

// HookCustomer adds a hook that sees customer messages before intents.
func (r *Router) HookCustomer(h CustomerHook) { r.hooks = append(r.hooks, h) }

// HookStaff adds a hook that sees staff messages before commands.
func (r *Router) HookStaff(h StaffHook) { r.staff = append(r.staff, h) }

// CustomerFallback sets the answer to customer text nothing else took.
func (r *Router) CustomerFallback(f func(ctx context.Context, req *Request) (Reply, error)) {
	r.fallback = f
}

// Handle answers one message. It never panics and always returns a reply
// (possibly empty, meaning "say nothing").
func (r *Router) Handle(ctx context.Context, msg Message) (reply Reply) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("Handler panicked", "platform", msg.Platform, "user_id", msg.UserID,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			reply = r.internalError(msg)
		}
	}()
	if msg.Platform != domain.PlatformWeChat {
		role, err := r.dir.StaffRole(ctx, msg.UserID)
		if err != nil {
			r.log.Error("Role lookup failed", "user_id", msg.UserID, "err", err)
			return r.internalError(msg)
		}
		msg.Role = role
	} else {
		msg.Role = domain.RoleCustomer
	}
	req := &Request{Message: msg}
	var (
		rep Reply
		err error
	)
	switch {
	case msg.Action != nil:
		rep, err = r.action(ctx, req)
	case msg.Platform == domain.PlatformWeChat:
		rep, err = r.customer(ctx, req)
	case msg.Ambient && !msg.Role.IsStaff():
		return Reply{}
	case !msg.Role.IsStaff():
		return Text("Sorry, opsbot is for the shop's staff, and you are not on the staff list. " +
			"Ask an admin to add you with `staff add <your user ID> agent`.")
	default:
		rep, err = r.command(ctx, req)
	}
	if err != nil {
		return r.errorReply(req, err)
	}
	return rep
}

func (r *Router) command(ctx context.Context, req *Request) (Reply, error) {
	for _, h := range r.staff {
		rep, handled, err := h(ctx, req)
		if err != nil || handled {
			return rep, err
		}
	}
	if req.Ambient {
		return Reply{}, nil
	}
	words, offs := Split(req.Text)
	if len(words) == 0 {
		return r.help(ctx, req)
	}
	cmd, n := r.match(words)
	if cmd == nil {
		// "complaint" or "complaint bogus": show the group's commands.
		for n := len(words); n > 0; n-- {
			if g := r.group(words[:n]); len(g) > 0 {
				rep := r.groupHelp(req, strings.Join(words[:n], " "), g)
				if n < len(words) {
					rep.Text = r.unknown(words).Text
				}
				return rep, nil
			}
		}
		return r.unknown(words), nil
	}
	if !req.Role.Allows(cmd.Role) {
		return Text(fmt.Sprintf("Sorry, `%s` needs the %s role; you are %s.", cmd.Name, cmd.Role, withArticle(req.Role.String()))), nil
	}
	req.Command = cmd
	req.Args = words[n:]
	req.line = req.Text
	req.offs = offs[n:]
	return cmd.Run(ctx, req)
}

// match finds the longest command name that prefixes words.
func (r *Router) match(words []string) (*Command, int) {
	for n := min(len(words), r.longest); n > 0; n-- {
		if c, ok := r.byName[strings.ToLower(strings.Join(words[:n], " "))]; ok {
			return c, n
		}
	}
	return nil, 0
}

func (r *Router) unknown(words []string) Reply {
	best, bestD := "", 1<<30
	for _, c := range r.cmds {
		n := len(strings.Fields(c.Name))
		if n > len(words) {
			n = len(words)
		}
		probe := strings.ToLower(strings.Join(words[:n], " "))
		if d := distance(probe, c.Name); d < bestD {
			best, bestD = c.Name, d
		}
	}
	msg := fmt.Sprintf("I don't know the command `%s`.", words[0])
	if best != "" && bestD <= max(2, len([]rune(best))/3) {
		msg += fmt.Sprintf(" Did you mean `%s`?", best)
	}
	return Text(msg + " Type `help` to see what I can do.")
}

func (r *Router) action(ctx context.Context, req *Request) (Reply, error) {
	id := req.Action.ID
	for _, h := range r.actions {
		if id == h.ID || strings.HasPrefix(id, h.ID+":") {
			if !req.Role.Allows(h.Role) {
				if !req.Role.IsStaff() {
					return Text("Sorry, only the shop's staff can use this button."), nil
				}
				return Text(fmt.Sprintf("Sorry, this needs the %s role.", h.Role)), nil
			}
			return h.Run(ctx, req)
		}
	}
	r.log.Warn("Unknown action", "action_id", id)
	return Text("Sorry, I don't know that button any more. Type `help` to see what I can do."), nil
}

// customer routes customer text by the rule in doc.go: keyword intents,
// then pending questions newest first, then small talk, then catch-all
// hooks, then the fallback.
func (r *Router) customer(ctx context.Context, req *Request) (Reply, error) {
	text := strings.TrimSpace(req.Text)
	if in, kw := r.intentMatch(text); in != nil {
		req.line = text
		rest := strings.TrimSpace(text[len(kw):])
		req.Args, req.offs = Split(rest)
		for i := range req.offs {
			req.offs[i] += len(text) - len(rest)
		}
		return in.Run(ctx, req)
	}
	if r.questions != nil && len(r.answerers) > 0 && text != "" {
		at := req.Time
		if at.IsZero() {
			at = time.Now()
		}
		qs, err := r.questions.PendingQuestions(ctx, req.Platform, req.UserID, at)
		if err != nil {
			return Reply{}, err
		}
		for _, q := range qs {
			a, ok := r.answerers[q.Topic]
			if !ok {
				continue
			}
			rep, handled, err := a.Answer(ctx, req, q)
			if err != nil || handled {
				return rep, err
			}
		}
	}
	if rep, ok := smallTalk(text); ok {
		return rep, nil
	}
	for _, h := range r.hooks {
		rep, handled, err := h(ctx, req)
		if err != nil || handled {
			return rep, err
		}
	}
	if r.fallback != nil {
		return r.fallback(ctx, req)
	}
	return Reply{}, nil
}

// intentMatch finds the intent for customer text: a whole-message match
// first, then the longest keyword the text starts with. Matching ignores
// case, width (ＨＥＬＰ is help) and Traditional characters (投訴 is 投诉);
// kw is the matched prefix of text as typed.
func (r *Router) intentMatch(text string) (in *CustomerIntent, kw string) {
	folded := []rune(domain.FoldKeywords(text)) // rune for rune, so prefixes line up with text
	whole := strings.TrimRight(string(folded), "!。.~ ")
	best := 0
	for i := range r.intents {
		for _, e := range r.intents[i].Exact {
			if strings.EqualFold(whole, e) {
				return &r.intents[i], text
			}
		}
		for _, k := range r.intents[i].Keywords {
			n := utf8.RuneCountInString(k)
			if n > best && n <= len(folded) && strings.EqualFold(string(folded[:n]), k) {
				in, best = &r.intents[i], n
			}
		}
	}
	if in == nil {
		return nil, ""
	}
	return in, string([]rune(text)[:best])
}

// intentFor returns the intent a customer typing key would reach.
func (r *Router) intentFor(key string) *CustomerIntent {
	in, _ := r.intentMatch(key)
	return in
}

func (r *Router) errorReply(req *Request, err error) Reply {
	customer := req.Platform == domain.PlatformWeChat
	var ue *UserError
	switch {
	case errors.As(err, &ue):
		return Text(ue.Msg)
	case IsUsage(err) && req.Command != nil:
		return Text(fmt.Sprintf("%s\nUsage: `%s`", err.Error(), req.Command.Usage))
	case errors.Is(err, domain.ErrNotFound) && !customer:
		return Text("Not found: " + strings.TrimSuffix(err.Error(), ": not found"))
	case errors.Is(err, domain.ErrForbidden):
		if customer {
			return Text("抱歉，您没有权限进行这个操作。")
		}
		return Text("Sorry, you are not allowed to do that.")
	case errors.Is(err, domain.ErrInvalid) && !customer:
		return Text(err.Error())
	}
	r.log.Error("Handler failed", "platform", req.Platform, "user_id", req.UserID, "err", err)
	return r.internalError(req.Message)
}

func (r *Router) internalError(msg Message) Reply {
	if msg.Platform == domain.PlatformWeChat {
		return Text("抱歉，系统暂时出了点问题，请稍后再试。您的消息我们已经收到。")
	}
	return Text("Sorry, something went wrong on my side. It has been logged; please try again in a moment.")
}

func (r *Router) help(_ context.Context, req *Request) (Reply, error) {
	if len(req.Args) > 0 {
		c, n := r.match(req.Args)
		if c == nil || n < len(req.Args) {
			if g := r.group(req.Args); len(g) > 0 {
				return r.groupHelp(req, strings.Join(req.Args, " "), g), nil
			}
		}
		if c == nil {
			return r.unknown(req.Args), nil
		}
		rep := Reply{Content: domain.Content{
			Title:  c.Name,
			Text:   c.Description,
			Fields: []domain.Field{{Label: "Usage", Value: "`" + c.Usage + "`"}, {Label: "Role", Value: c.Role.String()}},
		}}
		for _, ex := range c.Examples {
			rep.List = append(rep.List, "`"+ex+"`")
		}
		return rep, nil
	}
	rep := Reply{Content: domain.Content{Title: "What I can do"}}
	for _, c := range r.cmds {
		if req.Role.Allows(c.Role) {
			rep.List = append(rep.List, fmt.Sprintf("`%s` — %s", c.Usage, c.Description))
		}
	}
	rep.Note = "Type `help <command>` for examples, or `help <group>` (such as `help complaint`) for one group."
	return rep, nil
}

// group returns the commands whose names start with the words given.
func (r *Router) group(words []string) []*Command {
	prefix := strings.ToLower(strings.Join(words, " ")) + " "
	var g []*Command
	for _, c := range r.cmds {
		if strings.HasPrefix(c.Name, prefix) {
			g = append(g, c)
		}
	}
	return g
}

// groupHelp lists a group's commands with their usage and first example.
func (r *Router) groupHelp(req *Request, name string, g []*Command) Reply {
	rep := Reply{Content: domain.Content{Title: "`" + strings.ToLower(name) + "` commands"}}
	hidden := 0
	for _, c := range g {
		if !req.Role.Allows(c.Role) {
			hidden++
			continue
		}
		line := fmt.Sprintf("`%s` — %s", c.Usage, c.Description)
		if len(c.Examples) > 0 {
			line += fmt.Sprintf(" e.g. `%s`", c.Examples[0])
		}
		rep.List = append(rep.List, line)
	}
	rep.Note = "Type `help <command>` for all examples and the role it needs."
	if hidden > 0 {
		rep.Note += fmt.Sprintf(" %d more need a role you do not have.", hidden)
	}
	return rep
}

// withArticle puts "a" or "an" before a role: "an agent", "a manager".
func withArticle(role string) string {
	if role != "" && strings.ContainsRune("aeiou", rune(role[0])) {
		return "an " + role
	}
	return "a " + role
}

// distance is the Levenshtein distance between a and b, in runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
