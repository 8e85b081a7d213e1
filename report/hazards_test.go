package report_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"safetybot/report"
	"safetybot/report/reporttest"
	"safetybot/store"
)

// TestHazardsSmall checks the ledger's figures per township and grade against
// the hand-made campaign (see TestSummarySmall for the hazards' stories).
func TestHazardsSmall(t *testing.T) {
	fx := reporttest.Small()
	seeded(t, fx, func(t *testing.T, s *store.Store, _ string, _ map[string]int64) {
		r, err := report.Hazards(context.Background(), s, opts(fx))
		if err != nil {
			t.Fatal(err)
		}
		want := map[[2]string]report.HazardCounts{
			// 甲 overdue, 乙 fixed late, 丁 closed down, inactive 戊 open and not yet due.
			{"青石镇", "一般"}: {Found: 4, General: 4, Rectified: 1, Rate: 0.25, Due: 2, OnTime: 0, OnTimeRate: 0, Overdue: 1, Open: 2, ShutDown: 1},
			{"青石镇", "较大"}: {Found: 1, Larger: 1, Open: 1, Suspended: 1},
			{"青石镇", "重大"}: {Found: 2, Major: 2, Rectified: 1, Rate: 0.5, Due: 1, OnTime: 1, OnTimeRate: 1, Open: 1, MajorRectified: 1, MajorOpen: 1, MajorNoTracker: 1},
			{"青石镇", "合计"}: {Found: 7, General: 4, Larger: 1, Major: 2, Rectified: 2, Rate: 0.2857, Due: 3, OnTime: 1, OnTimeRate: 0.3333, Overdue: 1, Open: 4,
				MajorRectified: 1, MajorOpen: 1, MajorNoTracker: 1, Suspended: 1, ShutDown: 1},
			{"白沙镇", "一般"}:  {},
			{"白沙镇", "重大"}:  {Found: 1, Major: 1, Rectified: 1, Rate: 1, Due: 1, OnTime: 1, OnTimeRate: 1, MajorRectified: 1},
			{"全市合计", "重大"}: {Found: 3, Major: 3, Rectified: 2, Rate: 0.6667, Due: 2, OnTime: 2, OnTimeRate: 1, Open: 1, MajorRectified: 2, MajorOpen: 1, MajorNoTracker: 1},
			{"全市合计", "合计"}: {Found: 8, General: 4, Larger: 1, Major: 3, Rectified: 3, Rate: 0.375, Due: 4, OnTime: 2, OnTimeRate: 0.5, Overdue: 1, Open: 4,
				MajorRectified: 2, MajorOpen: 1, MajorNoTracker: 1, Suspended: 1, ShutDown: 1},
		}
		for k, w := range want {
			got, ok := r.Row(k[0], k[1])
			if !ok {
				t.Fatalf("no row %v", k)
			}
			diffStruct(t, k[0]+"/"+k[1], got, w)
		}
		if len(r.Rows) != 3*4 {
			t.Errorf("%d rows, want 12 (2 townships + city, 3 grades + total)", len(r.Rows))
		}
		if len(r.Hazards) != 8 || len(r.Closures) != 2 {
			t.Errorf("%d hazards, %d closures", len(r.Hazards), len(r.Closures))
		}
		var h1 report.HazardLine
		for _, h := range r.Hazards {
			if h.Description == "反应釜无泄压装置" {
				h1 = h
			}
		}
		if h1.FoundOn != "2026-07-10" || h1.ClosedOn != "2026-08-05" || h1.Deadline != "2026-08-10" || h1.OnTime == nil || !*h1.OnTime ||
			h1.Township != "青石镇" || h1.Enterprise != "青石甲化工厂" || len(h1.Photos) != 1 || h1.Photos[0] != fx.SHA("a") {
			t.Errorf("H1 = %+v", h1)
		}

		for _, tc := range []struct {
			status []string
			want   []string // statuses of the listed hazards, sorted
		}{
			{[]string{"逾期"}, []string{"待整改"}},
			{[]string{"停产整改"}, []string{"停产整改"}},
			{[]string{"已完成"}, []string{"已整改", "已销号", "已销号"}},
			{[]string{"未整改"}, []string{"停产整改", "待整改", "待整改", "整改中"}},
			{[]string{"关闭取缔", "逾期"}, []string{"关闭取缔", "待整改"}},
		} {
			r, err := report.Hazards(context.Background(), s, opts(fx), tc.status...)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range r.Hazards {
				got = append(got, h.Status)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("--status %v: %v, want %v", tc.status, got, tc.want)
			}
			// The figures do not depend on the list filter.
			if c, _ := r.Row(report.CityLabel, report.AllGrades); c.Found != 8 {
				t.Errorf("--status %v changed the figures: %+v", tc.status, c)
			}
		}
		if _, err := report.Hazards(context.Background(), s, opts(fx), "乱写"); err == nil || !strings.Contains(err.Error(), "乱写") {
			t.Errorf("bad status: %v", err)
		}
		o := opts(fx)
		o.Townships = []string{"白沙镇"}
		r, err = report.Hazards(context.Background(), s, o)
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := r.Row(report.CityLabel, report.AllGrades); c.Found != 1 || len(r.Hazards) != 1 {
			t.Errorf("白沙镇 only: %+v, %d listed", c, len(r.Hazards))
		}

		var buf bytes.Buffer
		if err := report.Write(&buf, "xlsx", r, r.Tables()); err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.GetSheetList(); !slices.Equal(got, []string{"隐患汇总", "隐患台账", "关闭取缔"}) {
			t.Errorf("sheets = %v", got)
		}
		f.Close()
	})
}

// TestHazardsRandom compares the ledger's city and township totals with the
// summary's independently computed figures.
func TestHazardsRandom(t *testing.T) {
	fx := reporttest.Random(11, 120)
	want := expectSummary(fx)
	seeded(t, fx, func(t *testing.T, s *store.Store, _ string, _ map[string]int64) {
		r, err := report.Hazards(context.Background(), s, opts(fx))
		if err != nil {
			t.Fatal(err)
		}
		for name, w := range want {
			got, ok := r.Row(name, report.AllGrades)
			if !ok {
				t.Fatalf("no row for %s", name)
			}
			diffStruct(t, name, got, w.Hazards)
		}
		sum := 0
		for _, g := range report.Grades {
			c, _ := r.Row(report.CityLabel, g)
			sum += c.Found
		}
		if sum != want[report.CityLabel].Hazards.Found {
			t.Errorf("grades add up to %d, want %d", sum, want[report.CityLabel].Hazards.Found)
		}
	})
}
