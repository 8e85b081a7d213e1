package main

import (
	"context"
	"fmt"
	"time"

	"safetybot"
	"safetybot/config"
	"safetybot/report"
	"safetybot/store"
)

// selfInspectionReport is `safetybot report inspections`: the month's
// self-inspection (自查自纠, S7) per township — enterprises in scope, how many
// submitted, how many the principal signed (only signed counts as done), the
// rate, and who has not. Its JSON form is stable.
type selfInspectionReport struct {
	Month     string                   `json:"month"` // YYYY-MM
	Total     int                      `json:"total"`
	Submitted int                      `json:"submitted"` // latest version waiting for a signature or signed
	Signed    int                      `json:"signed"`
	Rate      float64                  `json:"rate"` // signed / total
	Townships []townshipSelfInspection `json:"townships"`
}

// townshipSelfInspection is one township's line.
type townshipSelfInspection struct {
	Township  string                `json:"township"`
	Total     int                   `json:"total"`
	Submitted int                   `json:"submitted"`
	Signed    int                   `json:"signed"`
	Rate      float64               `json:"rate"`
	NotDone   []notSignedEnterprise `json:"not_done"`
}

// notSignedEnterprise is an enterprise whose month is not done, with where it stands.
type notSignedEnterprise struct {
	CreditCode string `json:"credit_code"`
	Name       string `json:"name"`
	KeyUnit    bool   `json:"key_unit"`
	Principal  string `json:"principal"`
	UserID     string `json:"userid"`
	State      string `json:"state"` // 未提交, 待签字 or 已退回
}

// notSubmitted is the state of an enterprise without a submission this month.
const notSubmitted = "未提交"

func inspectionsReport(fs *flagSet) func(ctx context.Context, s *store.Store, c config.Config) (any, []report.Table, error) {
	month := fs.String("month", "", "month YYYY-MM in the campaign time zone (default: this month)")
	var townships listFlag
	fs.Var(&townships, "township", "limit to a township (repeatable)")
	return func(ctx context.Context, s *store.Store, c config.Config) (any, []report.Table, error) {
		m := *month
		if m == "" {
			loc := c.Location
			if loc == nil {
				loc = time.UTC
			}
			m = s.Now().In(loc).Format("2006-01")
		}
		if _, err := time.Parse("2006-01", m); err != nil {
			return nil, nil, usageError{fmt.Sprintf("--month %q is not a month like 2026-07", m)}
		}
		r, err := selfInspections(ctx, s, m, townships...)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Tables(), nil
	}
}

// selfInspections computes the month's self-inspection report.
func selfInspections(ctx context.Context, s *store.Store, month string, townships ...string) (*selfInspectionReport, error) {
	lines, err := s.InspectionLines(ctx, month, townships...)
	if err != nil {
		return nil, err
	}
	r := &selfInspectionReport{Month: month, Townships: []townshipSelfInspection{}}
	for _, ln := range lines {
		if n := len(r.Townships); n == 0 || r.Townships[n-1].Township != ln.Township {
			r.Townships = append(r.Townships, townshipSelfInspection{Township: ln.Township, NotDone: []notSignedEnterprise{}})
		}
		t := &r.Townships[len(r.Townships)-1]
		t.Total++
		r.Total++
		state := notSubmitted
		if ln.State != nil {
			state = *ln.State
		}
		if state == safetybot.SubmissionAwaitingSignature || state == safetybot.SubmissionSigned {
			t.Submitted++
			r.Submitted++
		}
		if state == safetybot.SubmissionSigned {
			t.Signed++
			r.Signed++
			continue
		}
		t.NotDone = append(t.NotDone, notSignedEnterprise{CreditCode: ln.CreditCode, Name: ln.Name, KeyUnit: ln.KeyUnit,
			Principal: ln.Principal, UserID: ln.UserID, State: state})
	}
	for i := range r.Townships {
		r.Townships[i].Rate = report.Rate(r.Townships[i].Signed, r.Townships[i].Total)
	}
	r.Rate = report.Rate(r.Signed, r.Total)
	return r, nil
}

// Tables renders the report as a summary per township and the list of
// enterprises not done.
func (r *selfInspectionReport) Tables() []report.Table {
	sum := report.Table{Name: r.Month + " 自查汇总", Headers: []string{"镇街", "企业数", "已提交", "已签字", "完成率"}}
	list := report.Table{Name: r.Month + " 未完成名单", Headers: []string{"镇街", "统一社会信用代码", "企业名称", "重点监管", "主要负责人", "企业微信账号", "状态"}}
	for _, t := range r.Townships {
		sum.Rows = append(sum.Rows, []report.Cell{report.Text(t.Township), report.Int(t.Total), report.Int(t.Submitted), report.Int(t.Signed), report.Percent(t.Rate)})
		for _, n := range t.NotDone {
			key := ""
			if n.KeyUnit {
				key = "是"
			}
			list.Rows = append(list.Rows, []report.Cell{report.Text(t.Township), report.Text(n.CreditCode), report.Text(n.Name),
				report.Text(key), report.Text(n.Principal), report.Text(n.UserID), report.Text(n.State)})
		}
	}
	sum.Rows = append(sum.Rows, []report.Cell{report.Text("全市合计"), report.Int(r.Total), report.Int(r.Submitted), report.Int(r.Signed), report.Percent(r.Rate)})
	return []report.Table{sum, list}
}
