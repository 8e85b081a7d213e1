package form

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// normalise folds what phones type into one spelling for matching: full-width
// ASCII (１，ａ) to half-width, ideographic spaces to one space, lower case, no
// trailing full stops or exclamation marks. Stored text answers keep the original.
func normalise(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		}
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(unicode.ToLower(r))
	}
	return strings.TrimRight(b.String(), "。.!！~～")
}

// is reports whether the normalised text is one of the words.
func is(norm string, words ...string) bool {
	for _, w := range words {
		if norm == w {
			return true
		}
	}
	return false
}

// Command words. Matching is on the whole normalised message.
var (
	wordsBack     = []string{"上一步", "上一题", "返回", "后退", "back"}
	wordsSkip     = []string{"跳过", "略过", "skip"}
	wordsCancel   = []string{"取消", "退出", "不填了", "cancel"}
	wordsContinue = []string{"继续", "接着填", "继续填写", "continue"}
	wordsHelp     = []string{"帮助", "help", "?", "？", "怎么填"}
	wordsDone     = []string{"完成", "好了", "下一步", "好", "发完了", "没了", "就这些", "ok", "完毕"}
	wordsNext     = []string{"下一步", "不变", "不改", "保持", "保持不变"}
	wordsRetake   = []string{"重拍", "清空", "重新拍", "重新发"}
	wordsSubmit   = []string{"提交", "确认提交", "submit"}
	wordsConfirm  = []string{"确认", "确定", "是", "是的", "1", "好的", "可以", "确认取消", "确认签字", "确认签字提交", "签字", "同意"}
	wordsDeny     = []string{"否", "2", "不", "不取消", "不用了", "算了"}
	wordsDiscard  = []string{"不用", "不要", "不需要", "删除", "删掉", "丢弃", "算了"}
	wordsNextPage = []string{"下一页", "更多", "下页"}
	wordsPrevPage = []string{"上一页", "上页"}
)

// Yes/no synonyms beyond the option number and text.
var (
	yesWords = []string{"是", "是的", "有", "对", "对的", "已", "已经", "合格", "符合", "y", "yes", "√", "✓", "✔"}
	noWords  = []string{"否", "不是", "没有", "无", "不", "没", "未", "不对", "不合格", "不符合", "n", "no", "×", "✗", "x"}
	naWords  = []string{"不适用", "无此项", "没有此项", "不涉及", "na", "n/a", "/"}
)

var editPattern = regexp.MustCompile(`^(?:修改|改|编辑)\s*第?\s*(\d+)\s*(?:项|题)?$`)

// parseEdit recognises "修改 N"; ok is false when the text is not an edit request.
func parseEdit(norm string) (n int, ok bool) {
	m := editPattern.FindStringSubmatch(norm)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return -1, true
	}
	return n, true
}

// choiceIndex finds the option a reply names: its number, id or text; for yesno
// also common synonyms. It returns -1 when nothing matches.
func choiceIndex(opts []Option, yesno bool, norm string) int {
	n := strings.TrimRight(norm, ".、)）号")
	if isDigits(n) {
		i, err := strconv.Atoi(n)
		if err == nil && i >= 1 && i <= len(opts) {
			return i - 1
		}
		return -1
	}
	for i, o := range opts {
		if n == strings.ToLower(o.ID) || n == normalise(o.Text) {
			return i
		}
	}
	if yesno {
		switch {
		case is(n, yesWords...):
			return 0
		case is(n, noWords...):
			return 1
		case is(n, naWords...) && len(opts) > 2:
			return 2
		}
		// "否，后门锁了" answers 否: people explain as they answer. Only a clear
		// separator counts, so "是否" or "没有问题" are not read as a choice.
		if i := strings.IndexAny(n, ",;。、 "); i > 0 {
			return choiceIndex(opts, true, n[:i])
		}
	}
	return -1
}

var multiSplit = regexp.MustCompile(`[\s,，、;；/和]+`)

// multiIndexes parses "1 3", "1,3", "1、3", "13" (when every option is one digit)
// or option texts. It returns an error message when a part matches nothing.
func multiIndexes(opts []Option, norm string) ([]int, string) {
	parts := multiSplit.Split(norm, -1)
	if len(parts) == 1 && isDigits(parts[0]) && len(parts[0]) > 1 && len(opts) <= 9 {
		parts = strings.Split(parts[0], "")
	}
	var out []int
	seen := map[int]bool{}
	for _, p := range parts {
		if p == "" {
			continue
		}
		i := choiceIndex(opts, false, p)
		if i < 0 {
			return nil, fmt.Sprintf("没有“%s”这个选项，请回复 %s", clipRunes(p, 10), numbers(len(opts)))
		}
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		return nil, "请至少选一项，回复编号，如 1 3"
	}
	return out, ""
}

var numberPattern = regexp.MustCompile(`^[-+]?\d+(?:\.\d+)?`)

// parseNumber reads a number with optional words around it ("约50人", "50 平方米").
func parseNumber(norm, unit string) (float64, bool) {
	s := strings.TrimSpace(norm)
	for _, w := range []string{"大约", "大概", "约", "共", "有"} {
		s = strings.TrimPrefix(s, w)
	}
	s = strings.ReplaceAll(s, ",", "")
	m := numberPattern.FindString(s)
	if m == "" {
		return 0, false
	}
	rest := strings.TrimSpace(s[len(m):])
	for _, w := range []string{strings.ToLower(unit), "左右", "多", "个", "人", "名", "平方米", "平米", "㎡", "m2", "米", "张", "台", "间", "次"} {
		if w != "" {
			rest = strings.TrimSpace(strings.TrimPrefix(rest, w))
		}
	}
	if rest != "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(m, 64)
	return v, err == nil
}

var (
	dateFull  = regexp.MustCompile(`^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$`)
	dateShort = regexp.MustCompile(`^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$`)
	dateDay   = regexp.MustCompile(`^(\d{1,2})\s*[日号]$`)
	dateDense = regexp.MustCompile(`^(\d{4})(\d{2})(\d{2})$`)
	dateIn    = regexp.MustCompile(`^(\d{1,3})\s*(天|周|个?星期|个?礼拜|个月)\s*(?:后|内|之内|以内)?$`)
)

var relativeDays = map[string]int{
	"今天": 0, "今日": 0, "当天": 0, "明天": 1, "明日": 1, "后天": 2, "昨天": -1, "昨日": -1, "前天": -2,
	"一周": 7, "一周内": 7, "一周后": 7, "一星期": 7, "两周": 14, "两周内": 14, "半个月": 15, "半月": 15,
	"一个月": 30, "一个月内": 30, "一月内": 30,
}

var errBadDate = errors.New("bad date")

// parseDate reads a day relative to now: 今天, 明天, 7天, 2025-07-31, 2025/7/31,
// 2025年7月31日, 7月31日, 7-31, 20250731, 31号. A day without a year is in now's year.
func parseDate(norm string, now time.Time) (time.Time, error) {
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	s := strings.TrimSpace(norm)
	if d, ok := relativeDays[s]; ok {
		return today.AddDate(0, 0, d), nil
	}
	if m := dateIn.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		switch {
		case strings.Contains(m[2], "月"):
			return today.AddDate(0, n, 0), nil
		case m[2] == "天":
			return today.AddDate(0, 0, n), nil
		default:
			return today.AddDate(0, 0, 7*n), nil
		}
	}
	var y, mo, d int
	switch {
	case dateFull.MatchString(s):
		m := dateFull.FindStringSubmatch(s)
		y, mo, d = atoi(m[1]), atoi(m[2]), atoi(m[3])
	case dateDense.MatchString(s):
		m := dateDense.FindStringSubmatch(s)
		y, mo, d = atoi(m[1]), atoi(m[2]), atoi(m[3])
	case dateShort.MatchString(s):
		m := dateShort.FindStringSubmatch(s)
		y, mo, d = now.Year(), atoi(m[1]), atoi(m[2])
	case dateDay.MatchString(s):
		m := dateDay.FindStringSubmatch(s)
		y, mo, d = now.Year(), int(now.Month()), atoi(m[1])
	default:
		return time.Time{}, errBadDate
	}
	t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, now.Location())
	if t.Year() != y || int(t.Month()) != mo || t.Day() != d {
		return time.Time{}, errBadDate // 2月30日 and friends
	}
	return t, nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// clipRunes shortens s to n runes, marking the cut with "…".
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// clipBytes shortens s to at most n bytes on a rune boundary, marking the cut.
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
