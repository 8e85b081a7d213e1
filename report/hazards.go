package report

import (
	"context"
	"slices"
	"strings"

	"safetybot"
	"safetybot/store"
)

// HazardsReport is the hazard ledger (隐患台账): figures per township and grade,
// the hazards themselves and the closures. Its JSON form is stable.
type HazardsReport struct {
	Period   Period        `json:"period"`
	Statuses []string      `json:"statuses,omitempty"` // the status filter of the ledger, when given
	Rows     []HazardRow   `json:"rows"`
	Hazards  []HazardLine  `json:"hazards"`
	Closures []ClosureLine `json:"closures"`
}

// HazardRow is one township (or 全市合计) and grade (or 合计).
type HazardRow struct {
	Township string `json:"township"`
	Grade    string `json:"grade"`
	HazardCounts
}

// AllGrades labels a row over every grade.
const AllGrades = "合计"

// Status filter words besides the hazard statuses themselves.
const (
	StatusOverdue = "逾期"  // open and past the deadline
	StatusOpen    = "未整改" // not yet rectified (open)
	StatusDone    = "已完成" // rectified
)

// HazardStatuses are the words --status accepts.
var HazardStatuses = []string{string(safetybot.HazardPending), string(safetybot.HazardRectifying), string(safetybot.HazardReview),
	string(safetybot.HazardClosed), string(safetybot.HazardFixed), string(safetybot.HazardSuspended), string(safetybot.HazardShutDown),
	StatusOverdue, StatusOpen, StatusDone}

// Hazards computes the hazard ledger. The figures cover every hazard of the
// townships in the period; statuses (see HazardStatuses) only filter the list.
func Hazards(ctx context.Context, s *store.Store, opt Options, statuses ...string) (*HazardsReport, error) {
	for _, st := range statuses {
		if !slices.Contains(HazardStatuses, st) {
			return nil, invalid("隐患状态“%s”不正确（可选：%s）", st, strings.Join(HazardStatuses, "、"))
		}
	}
	sn, err := load(ctx, s, opt, true)
	if err != nil {
		return nil, err
	}
	return sn.hazardsReport(statuses), nil
}

// MatchStatus reports whether a hazard matches one of the status filter words
// (every hazard matches an empty filter).
func (h HazardLine) MatchStatus(statuses []string) bool {
	if len(statuses) == 0 {
		return true
	}
	for _, st := range statuses {
		switch {
		case st == h.Status,
			st == StatusOverdue && h.Overdue,
			st == StatusOpen && h.Open,
			st == StatusDone && h.Rectified:
			return true
		}
	}
	return false
}

func (sn *snapshot) hazardsReport(statuses []string) *HazardsReport {
	r := &HazardsReport{Period: sn.period, Statuses: statuses, Hazards: []HazardLine{}, Closures: []ClosureLine{}}
	grades := slices.Clone(Grades)
	for _, h := range sn.hazards {
		if !slices.Contains(grades, h.Grade) {
			grades = append(grades, h.Grade) // a grade the city added
		}
	}
	type key struct{ township, grade string }
	counts := map[key]*HazardCounts{}
	get := func(t, g string) *HazardCounts {
		k := key{t, g}
		if counts[k] == nil {
			counts[k] = &HazardCounts{}
		}
		return counts[k]
	}
	for _, h := range sn.hazards {
		for _, t := range []string{h.Township, CityLabel} {
			get(t, h.Grade).add(h)
			get(t, AllGrades).add(h)
		}
		if h.MatchStatus(statuses) {
			r.Hazards = append(r.Hazards, h)
		}
	}
	for _, t := range append(slices.Clone(sn.townships), CityLabel) {
		for _, g := range append(slices.Clone(grades), AllGrades) {
			c := *get(t, g)
			c.rates()
			r.Rows = append(r.Rows, HazardRow{Township: t, Grade: g, HazardCounts: c})
		}
	}
	if sn.closures != nil {
		r.Closures = sn.closures
	}
	return r
}

// Row returns the figures of a township (or CityLabel) and grade (or AllGrades).
func (r *HazardsReport) Row(township, grade string) (HazardCounts, bool) {
	for _, row := range r.Rows {
		if row.Township == township && row.Grade == grade {
			return row.HazardCounts, true
		}
	}
	return HazardCounts{}, false
}

// Tables renders the figures, the ledger and the closures.
func (r *HazardsReport) Tables() []Table {
	sum := Table{Name: "隐患汇总", Headers: []string{"镇街", "等级", "发现", "已整改", "整改率", "按期整改", "应按期整改", "按期整改率",
		"逾期未整改", "未整改完毕", "重大隐患督办中", "停产整改", "关闭取缔"}}
	for _, row := range r.Rows {
		c := row.HazardCounts
		sum.Rows = append(sum.Rows, []Cell{Text(row.Township), Text(row.Grade), Int(c.Found), Int(c.Rectified), Percent(c.Rate),
			Int(c.OnTime), Int(c.Due), Percent(c.OnTimeRate), Int(c.Overdue), Int(c.Open), Int(c.MajorOpen), Int(c.Suspended), Int(c.ShutDown)})
	}
	return []Table{sum, HazardTable(r.Hazards), ClosureTable(r.Closures)}
}
