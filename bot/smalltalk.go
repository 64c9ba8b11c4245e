package bot

import (
	"strings"

	"github.com/opsbot/opsbot/domain"
)

// Small talk: a customer who only greets or thanks gets a short warm answer,
// not "抱歉，我没有理解" and the whole menu.
var (
	greetings = []string{"你好", "您好", "在吗", "在么", "在不在", "有人吗", "哈喽", "嗨", "hi", "hello", "hey", "你好呀", "您好呀", "早上好", "晚上好", "下午好"}
	thanks    = []string{"谢谢", "谢谢你", "谢谢您", "多谢", "感谢", "谢啦", "谢了", "thanks", "thank you", "thx", "好的谢谢", "好的，谢谢", "ok谢谢", "辛苦了", "收到了谢谢", "收到了，谢谢", "已收到，谢谢", "非常感谢", "谢谢了"}
)

const (
	greetingReply = "您好！我是客服小助手，请问有什么可以帮您？回复「帮助」可以看看我能做什么。"
	thanksReply   = "不客气，很高兴能帮到您！还有其他问题随时找我。"
)

// SmallTalk answers a message that is only a greeting or thanks, for
// features that take such a message themselves (thanks after a resolved
// complaint) but answer it the same way when it is not theirs.
func SmallTalk(text string) (Reply, bool) { return smallTalk(text) }

// smallTalk answers a message that is only a greeting or thanks.
func smallTalk(text string) (Reply, bool) {
	t := strings.ToLower(strings.Trim(domain.FoldKeywords(text), " !~.,?。，、～？！…呀啊哦"))
	if t == "" {
		return Reply{}, false
	}
	for _, g := range greetings {
		if t == domain.FoldKeywords(g) {
			return Text(greetingReply), true
		}
	}
	for _, g := range thanks {
		if t == domain.FoldKeywords(g) {
			return Text(thanksReply), true
		}
	}
	return Reply{}, false
}

// ThanksWords are the messages small talk answers as thanks, folded as
// keyword matching folds customer text (好的，谢谢 is 好的,谢谢).
func ThanksWords() []string {
	out := make([]string, len(thanks))
	for i, w := range thanks {
		out[i] = domain.FoldKeywords(w)
	}
	return out
}
