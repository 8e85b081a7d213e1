package handlers

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"safetybot"
	"safetybot/store"
)

// Parsing of what officials type in the field-work forms: dates, deadlines
// and hazard lines. Dates are civil dates (YYYY-MM-DD) in the campaign time zone.

var (
	reISODate   = regexp.MustCompile(`^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?$`)
	reMonthDay  = regexp.MustCompile(`^(\d{1,2})[-/.月](\d{1,2})[日号]?$`)
	reDaysAhead = regexp.MustCompile(`^(\d{1,3})(?:天|日)内?$`)
)

// civil returns the date of t (already in the campaign time zone) at UTC midnight.
func civil(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func validDate(y, m, d int) (time.Time, bool) {
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	return t, t.Year() == y && int(t.Month()) == m && t.Day() == d
}

// parseDate reads a date as typed: 2026-07-15, 2026年7月15日, 7-15, 7.15,
// 7月15日. A date without a year is in today's year.
func parseDate(s string, today time.Time) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if m := reISODate.FindStringSubmatch(s); m != nil {
		y, _ := strconv.Atoi(m[1])
		mo, _ := strconv.Atoi(m[2])
		d, _ := strconv.Atoi(m[3])
		return validDate(y, mo, d)
	}
	if m := reMonthDay.FindStringSubmatch(s); m != nil {
		mo, _ := strconv.Atoi(m[1])
		d, _ := strconv.Atoi(m[2])
		return validDate(today.Year(), mo, d)
	}
	return time.Time{}, false
}

// parseInspectionDay reads the date of an inspection: 今天, 昨天, 前天 or a
// date; ok is false when it cannot be read.
func parseInspectionDay(s string, today time.Time) (time.Time, bool) {
	today = civil(today)
	switch strings.TrimSpace(s) {
	case "今天", "今日", "1", "是", "对", "好":
		return today, true
	case "昨天", "昨日":
		return today.AddDate(0, 0, -1), true
	case "前天":
		return today.AddDate(0, 0, -2), true
	}
	return parseDate(s, today)
}

// parseDeadline reads a deadline: "7天", "15天内", "立即", or a date. A
// date without a year that already passed this year is next year's.
func parseDeadline(s string, today time.Time) (time.Time, bool) {
	today = civil(today)
	s = strings.TrimSpace(s)
	switch s {
	case "立即", "立即整改", "马上", "当天", "当日", "立行立改", "今天":
		return today, true
	}
	if m := reDaysAhead.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		return today.AddDate(0, 0, n), true
	}
	if t, ok := parseDate(s, today); ok {
		if t.Before(today) && !reISODate.MatchString(s) {
			t = t.AddDate(1, 0, 0)
		}
		return t, true
	}
	return time.Time{}, false
}

// fieldTokens splits typed text on spaces and Chinese punctuation.
func fieldTokens(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		switch r {
		case ' ', '\t', '\n', '，', ',', '；', ';', '、':
			return true
		}
		return false
	})
}

func gradeWord(tok string) (string, bool) {
	switch tok {
	case "重大", "重大隐患":
		return safetybot.GradeMajor, true
	case "一般", "一般隐患":
		return safetybot.GradeGeneral, true
	}
	return "", false
}

// parseHazard reads one hazard line: a description with an optional grade
// word (重大/一般) and an optional deadline anywhere in it. Without a deadline
// the grade's default applies (days from today).
func parseHazard(s string, today time.Time, defaultDays map[string]int) (store.InspectionHazard, error) {
	h := store.InspectionHazard{Grade: safetybot.GradeGeneral}
	var deadline *time.Time
	var desc []string
	for _, tok := range fieldTokens(s) {
		if g, ok := gradeWord(tok); ok {
			h.Grade = g
			continue
		}
		if d, ok := parseDeadline(tok, today); ok && deadline == nil && tok != "今天" {
			deadline = &d
			continue
		}
		desc = append(desc, tok)
	}
	h.Description = strings.Join(desc, "，")
	if h.Description == "" {
		return h, safetybot.Errorf(safetybot.EINVALID, "请写明隐患内容，如“消防通道堵塞 重大 15天”。")
	}
	if deadline == nil {
		days := defaultDays[h.Grade]
		if days <= 0 {
			days = 7
		}
		d := civil(today).AddDate(0, 0, days)
		deadline = &d
	}
	if deadline.Before(civil(today)) {
		return h, safetybot.Errorf(safetybot.EINVALID, "整改期限不能早于今天。")
	}
	h.Deadline = deadline.Format("2006-01-02")
	return h, nil
}

// parseRectification reads the rectification requirement: the text, and a
// deadline when the last part of it is one ("清理消防通道 7天").
func parseRectification(s string, today time.Time) (text, deadline string) {
	toks := fieldTokens(s)
	if len(toks) > 1 {
		if d, ok := parseDeadline(toks[len(toks)-1], today); ok {
			rest := strings.TrimSuffix(strings.TrimSpace(s), toks[len(toks)-1])
			return strings.TrimRight(rest, " \t，,；;、"), d.Format("2006-01-02")
		}
	}
	if strings.Contains(s, "立即") || strings.Contains(s, "立行立改") {
		return s, civil(today).Format("2006-01-02")
	}
	return s, ""
}

// isNone reports whether the answer means "nothing".
func isNone(s string) bool {
	switch strings.TrimSpace(s) {
	case "无", "没有", "没", "无问题", "没有问题", "不需要", "无需整改", "否", "0":
		return true
	}
	return false
}

// isDone reports whether the answer ends a repeated step (photos, hazards).
func isDone(s string) bool {
	switch strings.TrimSpace(s) {
	case "好了", "好", "完成", "发完了", "结束", "没有了", "就这些", "ok", "OK":
		return true
	}
	return false
}

// isFormWord reports whether text is a word the field-work forms answer
// themselves even when another capability also has it as a command.
func isFormWord(s string) bool {
	switch s {
	case "确认", "取消", "今天", "昨天", "前天":
		return true
	}
	return isDone(s) || isNone(s)
}
