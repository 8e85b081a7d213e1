// Package report computes campaign statistics from the store and writes them
// as a terminal table, CSV, JSON or XLSX. Every rate comes with the names behind it.
package report

import (
	"context"
	"math"

	"safetybot/store"
)

// LetterReport is the sign-off coverage of one open letter. Its JSON form is
// stable and documented in the README.
type LetterReport struct {
	LetterID  int64              `json:"letter_id"`
	Title     string             `json:"title"`
	Total     int                `json:"total"`
	Signed    int                `json:"signed"`
	Rate      float64            `json:"rate"`
	Townships []TownshipSignOffs `json:"townships"`
}

// TownshipSignOffs is one township's line.
type TownshipSignOffs struct {
	Township string     `json:"township"`
	Total    int        `json:"total"`
	Signed   int        `json:"signed"`
	Rate     float64    `json:"rate"`
	Unsigned []Unsigned `json:"unsigned"`
}

// Unsigned is an enterprise that has not signed.
type Unsigned struct {
	CreditCode string `json:"credit_code"`
	Name       string `json:"name"`
	Principal  string `json:"principal"`
	UserID     string `json:"userid"`
}

// Rate returns part/total rounded to four decimals (0 when total is 0).
func Rate(part, total int) float64 {
	if total == 0 {
		return 0
	}
	return math.Round(float64(part)/float64(total)*10000) / 10000
}

// Letters computes the sign-off report of a letter, limited to townships when given.
func Letters(ctx context.Context, s *store.Store, letterID int64, townships ...string) (*LetterReport, error) {
	l, err := s.FindLetter(ctx, letterID)
	if err != nil {
		return nil, err
	}
	lines, err := s.LetterLines(ctx, letterID, townships...)
	if err != nil {
		return nil, err
	}
	r := &LetterReport{LetterID: l.ID, Title: l.Title, Townships: []TownshipSignOffs{}}
	for _, ln := range lines {
		if n := len(r.Townships); n == 0 || r.Townships[n-1].Township != ln.Township {
			r.Townships = append(r.Townships, TownshipSignOffs{Township: ln.Township, Unsigned: []Unsigned{}})
		}
		t := &r.Townships[len(r.Townships)-1]
		t.Total++
		r.Total++
		if ln.SignedAt != nil {
			t.Signed++
			r.Signed++
		} else {
			t.Unsigned = append(t.Unsigned, Unsigned{CreditCode: ln.CreditCode, Name: ln.Name, Principal: ln.Principal, UserID: ln.UserID})
		}
	}
	for i := range r.Townships {
		r.Townships[i].Rate = Rate(r.Townships[i].Signed, r.Townships[i].Total)
	}
	r.Rate = Rate(r.Signed, r.Total)
	return r, nil
}

// Tables renders the report as a summary table and a list of unsigned enterprises.
func (r *LetterReport) Tables() []Table {
	sum := Table{Name: "签收汇总", Headers: []string{"镇街", "企业数", "已签收", "签收率"}}
	list := Table{Name: "未签收名单", Headers: []string{"镇街", "统一社会信用代码", "企业名称", "主要负责人", "企业微信账号"}}
	for _, t := range r.Townships {
		sum.Rows = append(sum.Rows, []Cell{Text(t.Township), Int(t.Total), Int(t.Signed), Percent(t.Rate)})
		for _, u := range t.Unsigned {
			list.Rows = append(list.Rows, []Cell{Text(t.Township), Text(u.CreditCode), Text(u.Name), Text(u.Principal), Text(u.UserID)})
		}
	}
	sum.Rows = append(sum.Rows, []Cell{Text("全市合计"), Int(r.Total), Int(r.Signed), Percent(r.Rate)})
	return []Table{sum, list}
}
