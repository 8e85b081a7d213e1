package handlers

import (
	"testing"
	"time"

	"safetybot"
)

var parseToday = time.Date(2026, 7, 20, 15, 4, 0, 0, time.FixedZone("CST", 8*3600))

func TestParseInspectionDay(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{"今天", "2026-07-20"}, {"昨天", "2026-07-19"}, {"前天", "2026-07-18"},
		{"7-15", "2026-07-15"}, {"7.15", "2026-07-15"}, {"7/15", "2026-07-15"}, {"7月15日", "2026-07-15"}, {"7月15号", "2026-07-15"},
		{"2026-07-01", "2026-07-01"}, {"2025年12月31日", "2025-12-31"},
		{"2月30日", ""}, {"上周", ""}, {"", ""}, {"13-01", ""},
	} {
		got, ok := parseInspectionDay(c.in, parseToday)
		s := ""
		if ok {
			s = got.Format("2006-01-02")
		}
		if s != c.want {
			t.Errorf("%q: %q, want %q", c.in, s, c.want)
		}
	}
}

func TestParseDeadline(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{"7天", "2026-07-27"}, {"15天内", "2026-08-04"}, {"30日内", "2026-08-19"}, {"立即", "2026-07-20"},
		{"8-1", "2026-08-01"}, {"7-1", "2027-07-01"}, {"2026-07-01", "2026-07-01"}, {"很快", ""},
	} {
		got, ok := parseDeadline(c.in, parseToday)
		s := ""
		if ok {
			s = got.Format("2006-01-02")
		}
		if s != c.want {
			t.Errorf("%q: %q, want %q", c.in, s, c.want)
		}
	}
}

func TestParseHazard(t *testing.T) {
	defaults := map[string]int{safetybot.GradeGeneral: 7, safetybot.GradeMajor: 30}
	for _, c := range []struct {
		in                    string
		desc, grade, deadline string
		invalid               bool
	}{
		{in: "消防通道堵塞 重大 15天", desc: "消防通道堵塞", grade: "重大", deadline: "2026-08-04"},
		{in: "灭火器过期 7-25", desc: "灭火器过期", grade: "一般", deadline: "2026-07-25"},
		{in: "灭火器过期", desc: "灭火器过期", grade: "一般", deadline: "2026-07-27"},
		{in: "重大隐患，配电箱无门，电线裸露", desc: "配电箱无门，电线裸露", grade: "重大", deadline: "2026-08-19"},
		{in: "插座乱接 立即", desc: "插座乱接", grade: "一般", deadline: "2026-07-20"},
		{in: "重大 15天", invalid: true},
		{in: "仓库堆放杂物 2026-07-01", invalid: true},
	} {
		h, err := parseHazard(c.in, parseToday, defaults)
		if c.invalid {
			if safetybot.ErrorCode(err) != safetybot.EINVALID || safetybot.ErrorMessage(err) == "" {
				t.Errorf("%q: %v, want an invalid-input error with a message", c.in, err)
			}
			continue
		}
		if err != nil || h.Description != c.desc || h.Grade != c.grade || h.Deadline != c.deadline {
			t.Errorf("%q: %+v %v, want %s/%s/%s", c.in, h, err, c.desc, c.grade, c.deadline)
		}
	}
}

func TestParseRectification(t *testing.T) {
	for _, c := range []struct {
		in, text, deadline string
	}{
		{"清理消防通道 7天", "清理消防通道", "2026-07-27"},
		{"加装接地，10天内", "加装接地", "2026-07-30"},
		{"立即停止使用", "立即停止使用", "2026-07-20"},
		{"加强培训", "加强培训", ""},
	} {
		text, d := parseRectification(c.in, parseToday)
		if text != c.text || d != c.deadline {
			t.Errorf("%q: %q %q, want %q %q", c.in, text, d, c.text, c.deadline)
		}
	}
}
