package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"safetybot/report"
	"safetybot/report/reporttest"
	"safetybot/store"
	"safetybot/store/storetest"
)

// seeded runs fn on every dialect with a fresh store holding the fixture (and
// its photos under dataDir).
func seeded(t *testing.T, fx *reporttest.Fixture, fn func(t *testing.T, s *store.Store, dataDir string, ids map[string]int64)) {
	t.Helper()
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			clk := reporttest.NewClock(fx.Now)
			s := storetest.New(t, d, storetest.Options{Clock: clk})
			dir := t.TempDir()
			ids := reporttest.Seed(t, s, clk, dir, fx)
			fn(t, s, dir, ids)
		})
	}
}

func opts(fx *reporttest.Fixture) report.Options {
	return report.Options{Now: fx.Now, Location: reporttest.Location}
}

// rate is the rounding rule of every rate: four decimals.
func rate(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(float64(a)/float64(b)*10000) / 10000
}

// TestSummarySmall checks every figure of a hand-made campaign against numbers
// worked out by hand (the comments say why each is what it is).
func TestSummarySmall(t *testing.T) {
	fx := reporttest.Small()
	seeded(t, fx, func(t *testing.T, s *store.Store, _ string, ids map[string]int64) {
		r, err := report.Summary(context.Background(), s, opts(fx))
		if err != nil {
			t.Fatal(err)
		}
		if r.Period.Campaign != "2026年安全生产大检查" || r.Period.From != "2026-07-01" || r.Period.To != "2026-09-30" ||
			r.Period.Month != "2026-08" || r.Period.Today != "2026-08-20" || r.Period.LedTarget != 3 {
			t.Errorf("period = %+v", r.Period)
		}
		want := map[string]report.TownshipSummary{
			"青石镇": {
				Township: "青石镇",
				// 甲乙丙丁 are active (戊 is not); 甲 and 丙 are key units.
				Enterprises: 4, KeyUnits: 2,
				// 甲 and 乙 signed the campaign letter; the older letter to 甲 is outside the campaign.
				LetterSigned: 2, LetterRate: 0.5,
				// August: 甲 signed, 乙 awaits signature, 丙 sent back, 丁 nothing.
				MonthSubmitted: 2, MonthSubmittedRate: 0.5, MonthSigned: 1, MonthSignedRate: 0.25,
				// July counts too: 丙 signed in July.
				CampaignSubmitted: 3, CampaignSubmittedRate: 0.75, CampaignSigned: 2, CampaignSignedRate: 0.5,
				Hazards: report.HazardCounts{
					// 甲: 重大 closed on time + 一般 overdue; 乙: 一般 fixed late + 较大 停产整改;
					// 丙: 重大 open without tracker; 丁: 一般 关闭取缔; inactive 戊: 一般 open, not yet due.
					Found: 7, General: 4, Larger: 1, Major: 2, Rectified: 2, Rate: 0.2857,
					Due: 3, OnTime: 1, OnTimeRate: 0.3333, Overdue: 1, Open: 4,
					MajorRectified: 1, MajorOpen: 1, MajorNoTracker: 1, Suspended: 1, ShutDown: 1},
				Suspended: 1, ShutDown: 1,
				// qs_leader led 3 in August (one typed QS_Leader), qs_leader2 none.
				Leaders: 2, LeadersOnTarget: 1, LedThisMonth: 3,
				// 甲 inspected four times in the campaign; 丙's 2025 inspection is outside it.
				Inspections: 4, Inspected: 1, InspectedRate: 0.25, KeyInspected: 1, KeyInspectedRate: 0.5,
				// 乙 (roster 2020) and 丁 (never).
				NotInspected2y: 2,
			},
			"白沙镇": {
				Township: "白沙镇", Enterprises: 3, KeyUnits: 1,
				LetterSigned: 2, LetterRate: 0.6667,
				// 甲's August report was sent back, then signed.
				MonthSubmitted: 1, MonthSubmittedRate: 0.3333, MonthSigned: 1, MonthSignedRate: 0.3333,
				CampaignSubmitted: 1, CampaignSubmittedRate: 0.3333, CampaignSigned: 1, CampaignSignedRate: 0.3333,
				// The June hazard is before the campaign; the 重大 one has no deadline: on time.
				Hazards: report.HazardCounts{Found: 1, Major: 1, Rectified: 1, Rate: 1, Due: 1, OnTime: 1, OnTimeRate: 1, MajorRectified: 1},
				Leaders: 1, LeadersOnTarget: 0, LedThisMonth: 1,
				Inspections: 3, Inspected: 2, InspectedRate: 0.6667, KeyInspected: 1, KeyInspectedRate: 1,
				NotInspected2y: 0,
			},
			report.CityLabel: {
				Township: report.CityLabel, Enterprises: 7, KeyUnits: 3,
				LetterSigned: 4, LetterRate: 0.5714,
				MonthSubmitted: 3, MonthSubmittedRate: 0.4286, MonthSigned: 2, MonthSignedRate: 0.2857,
				CampaignSubmitted: 4, CampaignSubmittedRate: 0.5714, CampaignSigned: 3, CampaignSignedRate: 0.4286,
				Hazards: report.HazardCounts{Found: 8, General: 4, Larger: 1, Major: 3, Rectified: 3, Rate: 0.375,
					Due: 4, OnTime: 2, OnTimeRate: 0.5, Overdue: 1, Open: 4,
					MajorRectified: 2, MajorOpen: 1, MajorNoTracker: 1, Suspended: 1, ShutDown: 1},
				Suspended: 1, ShutDown: 1,
				// The department leader's July inspection does not count for August.
				Leaders: 4, LeadersOnTarget: 1, LedThisMonth: 4,
				Inspections: 7, Inspected: 3, InspectedRate: 0.4286, KeyInspected: 2, KeyInspectedRate: 0.6667,
				NotInspected2y: 2,
			},
		}
		if len(r.Townships) != 2 || r.Townships[0].Township != "白沙镇" || r.Townships[1].Township != "青石镇" {
			t.Fatalf("townships = %v", r.Townships)
		}
		for name, w := range want {
			got, ok := r.TownshipLine(name)
			if !ok {
				t.Fatalf("no line for %s", name)
			}
			diffStruct(t, name, got, w)
		}

		// The names behind the rates.
		status := map[string]report.EnterpriseStatus{}
		for _, e := range r.Enterprises {
			status[e.Name] = e
		}
		if len(status) != 7 || status["青石戊厂"].Name != "" {
			t.Errorf("enterprises listed: %v", keys(status))
		}
		for name, w := range map[string]string{"青石甲化工厂": "已签收", "青石乙超市": "已签收", "青石丙宾馆": "未签收", "青石丁作坊": "未发送",
			"白沙甲饭店": "已签收", "白沙乙电镀厂": "已签收", "白沙丙商店": "未发送"} {
			if got := status[name].Letter; got != w {
				t.Errorf("%s letter = %q, want %q", name, got, w)
			}
		}
		for name, w := range map[string]string{"青石甲化工厂": "已签字", "青石乙超市": "待签字", "青石丙宾馆": "已退回", "青石丁作坊": "未提交", "白沙甲饭店": "已签字"} {
			if got := status[name].Month; got != w {
				t.Errorf("%s month = %q, want %q", name, got, w)
			}
		}
		if e := status["青石甲化工厂"]; e.Principal != "甲一" || e.PrincipalUserID != "qa1" || e.Inspections != 4 || e.LastInspected != "2026-08-12" ||
			e.Hazards != 2 || e.OpenHazards != 1 || e.OverdueHazards != 1 || !e.KeyUnit || e.SignedAt == nil {
			t.Errorf("甲 = %+v", e)
		}
		if !status["青石乙超市"].NotInspected2y || !status["青石丁作坊"].NotInspected2y || status["白沙丙商店"].NotInspected2y {
			t.Errorf("two-year flags wrong")
		}
		var leaders []string
		for _, l := range r.Leaders {
			leaders = append(leaders, l.UserID+":"+itoa(l.ThisMonth)+"/"+itoa(l.Campaign)+":"+yes(l.OnTarget))
		}
		if want := []string{"bs_leader:1/1:n", "qs_leader2:0/0:n", "qs_leader:3/4:y", "dept_leader:0/1:n"}; !slices.Equal(leaders, want) {
			t.Errorf("leaders = %v, want %v", leaders, want)
		}
		var closures []string
		for _, c := range r.Closures {
			closures = append(closures, c.Enterprise+":"+c.Kind+":"+c.On)
		}
		if want := []string{"青石丁作坊:关闭取缔:2026-08-15", "青石乙超市:停产整改:2026-08-02"}; !slices.Equal(closures, want) {
			t.Errorf("closures = %v, want %v", closures, want)
		}
	})
}

// TestSummaryRandom compares every figure of a generated campaign with the
// figures computed here from the fixture alone.
func TestSummaryRandom(t *testing.T) {
	fx := reporttest.Random(7, 160)
	want := expectSummary(fx)
	seeded(t, fx, func(t *testing.T, s *store.Store, _ string, _ map[string]int64) {
		r, err := report.Summary(context.Background(), s, opts(fx))
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Townships) != len(want)-1 {
			t.Fatalf("%d townships, want %d", len(r.Townships), len(want)-1)
		}
		for name, w := range want {
			got, _ := r.TownshipLine(name)
			diffStruct(t, name, got, *w)
		}
		// Every enterprise's line.
		wantEnt := expectEnterprises(fx)
		if len(r.Enterprises) != len(wantEnt) {
			t.Fatalf("%d enterprises, want %d", len(r.Enterprises), len(wantEnt))
		}
		for _, e := range r.Enterprises {
			w := wantEnt[e.CreditCode]
			got := [...]any{e.Letter, e.Month, e.CampaignSubmitted, e.CampaignSigned, e.Hazards, e.OpenHazards, e.OverdueHazards, e.Inspections, e.LastInspected, e.NotInspected2y}
			if got != w {
				t.Errorf("%s: got %v, want %v", e.Name, got, w)
			}
		}
		if n := len(r.Hazards); n != want[report.CityLabel].Hazards.Found {
			t.Errorf("%d hazards listed, want %d", n, want[report.CityLabel].Hazards.Found)
		}
	})
	t.Run("township filter", func(t *testing.T) {
		clk := reporttest.NewClock(fx.Now)
		s := storetest.New(t, "sqlite", storetest.Options{Clock: clk})
		reporttest.Seed(t, s, clk, "", fx)
		o := opts(fx)
		o.Townships = []string{"西山镇"}
		r, err := report.Summary(context.Background(), s, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Townships) != 1 || r.Townships[0].Township != "西山镇" {
			t.Fatalf("townships = %+v", r.Townships)
		}
		w := *want["西山镇"]
		diffStruct(t, "西山镇", r.Townships[0], w)
		for _, e := range r.Enterprises {
			if e.Township != "西山镇" {
				t.Fatalf("enterprise of %s listed", e.Township)
			}
		}
		o.Townships = []string{"不存在镇"}
		if _, err := report.Summary(context.Background(), s, o); err == nil || !strings.Contains(err.Error(), "不存在镇") {
			t.Errorf("unknown township: %v", err)
		}
	})
}

// expectEnterprises computes each active enterprise's line from the fixture.
func expectEnterprises(fx *reporttest.Fixture) map[string][10]any {
	out := map[string][10]any{}
	today := fx.Now.Format("2006-01-02")
	cutoff := fx.Now.AddDate(-2, 0, 0).Format("2006-01-02")
	for _, e := range fx.Enterprises {
		if e.Inactive {
			continue
		}
		letter := "未发送"
		addressed, signed := 0, 0
		for _, l := range fx.Letters {
			if !l.Campaign && !inCampaign(fx, l.SentAt.In(reporttest.Location).Format("2006-01-02")) {
				continue
			}
			if slices.Contains(l.Addressed, e.Code) {
				addressed++
				if slices.Contains(l.Signed, e.Code) {
					signed++
				}
			}
		}
		if addressed > 0 {
			letter = "未签收"
			if signed == addressed {
				letter = "已签收"
			}
		}
		month := "未提交"
		campSub, campSigned := false, false
		for _, sub := range e.Subs {
			last := sub.Versions[len(sub.Versions)-1]
			if sub.Period == "2026-08" {
				month = last
			}
			if sub.Period >= "2026-07" && sub.Period <= "2026-09" && last != "已退回" {
				campSub = true
				if last == "已签字" {
					campSigned = true
				}
			}
		}
		hz, open, overdue := 0, 0, 0
		for _, h := range e.Hazards {
			if !inCampaign(fx, h.FoundAt.In(reporttest.Location).Format("2006-01-02")) {
				continue
			}
			hz++
			isOpen := h.Status == "待整改" || h.Status == "整改中" || h.Status == "待复查" || h.Status == "停产整改"
			if isOpen {
				open++
				if h.Deadline != "" && h.Deadline < today {
					overdue++
				}
			}
		}
		insp, last := 0, e.LastInspected
		for _, in := range e.Inspections {
			if inCampaign(fx, in.On) {
				insp++
			}
			if in.On > last {
				last = in.On
			}
		}
		out[e.Code] = [10]any{letter, month, campSub, campSigned, hz, open, overdue, insp, last, last == "" || last < cutoff}
	}
	return out
}

func inCampaign(fx *reporttest.Fixture, date string) bool {
	return date >= fx.Campaign.StartsOn && date <= fx.Campaign.EndsOn
}

// expectSummary computes every township line from the fixture.
func expectSummary(fx *reporttest.Fixture) map[string]*report.TownshipSummary {
	out := map[string]*report.TownshipSummary{report.CityLabel: {Township: report.CityLabel}}
	get := func(t string) []*report.TownshipSummary {
		if out[t] == nil {
			out[t] = &report.TownshipSummary{Township: t}
		}
		return []*report.TownshipSummary{out[t], out[report.CityLabel]}
	}
	ents := expectEnterprises(fx)
	today := fx.Now.Format("2006-01-02")
	for _, e := range fx.Enterprises {
		get(e.Township) // a township with only inactive enterprises still has a line
		for _, h := range e.Hazards {
			found := h.FoundAt.In(reporttest.Location).Format("2006-01-02")
			if !inCampaign(fx, found) {
				continue
			}
			rectified := h.Status == "已销号" || h.Status == "已整改"
			open := h.Status == "待整改" || h.Status == "整改中" || h.Status == "待复查" || h.Status == "停产整改"
			overdue := open && h.Deadline != "" && h.Deadline < today
			for _, l := range get(e.Township) {
				c := &l.Hazards
				c.Found++
				switch h.Grade {
				case "一般":
					c.General++
				case "较大":
					c.Larger++
				case "重大":
					c.Major++
				}
				if rectified {
					c.Rectified++
					c.Due++
					if h.Deadline == "" || h.ClosedAt.In(reporttest.Location).Format("2006-01-02") <= h.Deadline {
						c.OnTime++
					}
					if h.Grade == "重大" {
						c.MajorRectified++
					}
				}
				if overdue {
					c.Overdue++
					c.Due++
				}
				if open {
					c.Open++
					if h.Grade == "重大" {
						c.MajorOpen++
						if h.Tracker == "" {
							c.MajorNoTracker++
						}
					}
				}
				if h.Status == "停产整改" {
					c.Suspended++
				}
				if h.Status == "关闭取缔" {
					c.ShutDown++
				}
			}
		}
		// Closures, per enterprise.
		suspended, shut := false, false
		for _, h := range e.Hazards {
			if !inCampaign(fx, h.FoundAt.In(reporttest.Location).Format("2006-01-02")) {
				continue
			}
			if h.Status == "关闭取缔" {
				shut = true
			}
			if h.Status == "停产整改" {
				suspended = true
			}
			for _, ev := range h.Events {
				if ev.To == "停产整改" {
					suspended = true
				}
			}
		}
		for _, l := range get(e.Township) {
			if suspended {
				l.Suspended++
			}
			if shut {
				l.ShutDown++
			}
		}
		if e.Inactive {
			continue
		}
		w := ents[e.Code]
		for _, l := range get(e.Township) {
			l.Enterprises++
			if e.KeyUnit {
				l.KeyUnits++
			}
			if w[0] == "已签收" {
				l.LetterSigned++
			}
			if m := w[1].(string); m == "待签字" || m == "已签字" {
				l.MonthSubmitted++
				if m == "已签字" {
					l.MonthSigned++
				}
			}
			if w[2].(bool) {
				l.CampaignSubmitted++
			}
			if w[3].(bool) {
				l.CampaignSigned++
			}
			l.Inspections += w[7].(int)
			if w[7].(int) > 0 {
				l.Inspected++
				if e.KeyUnit {
					l.KeyInspected++
				}
			}
			if w[9].(bool) {
				l.NotInspected2y++
			}
		}
	}
	for _, ld := range fx.Leaders {
		month := 0
		for _, e := range fx.Enterprises {
			for _, in := range e.Inspections {
				if in.Led && strings.EqualFold(in.Inspector, ld.UserID) && strings.HasPrefix(in.On, "2026-08") {
					month++
				}
			}
		}
		lines := []*report.TownshipSummary{out[report.CityLabel]}
		if ld.Role == "township" {
			lines = get(ld.Township)
		}
		for _, l := range lines {
			l.Leaders++
			l.LedThisMonth += month
			if month >= 3 {
				l.LeadersOnTarget++
			}
		}
	}
	for _, l := range out {
		l.LetterRate = rate(l.LetterSigned, l.Enterprises)
		l.MonthSubmittedRate = rate(l.MonthSubmitted, l.Enterprises)
		l.MonthSignedRate = rate(l.MonthSigned, l.Enterprises)
		l.CampaignSubmittedRate = rate(l.CampaignSubmitted, l.Enterprises)
		l.CampaignSignedRate = rate(l.CampaignSigned, l.Enterprises)
		l.InspectedRate = rate(l.Inspected, l.Enterprises)
		l.KeyInspectedRate = rate(l.KeyInspected, l.KeyUnits)
		l.Hazards.Rate = rate(l.Hazards.Rectified, l.Hazards.Found)
		l.Hazards.OnTimeRate = rate(l.Hazards.OnTime, l.Hazards.Due)
	}
	return out
}

// diffStruct reports every field that differs.
func diffStruct(t *testing.T, name string, got, want any) {
	t.Helper()
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := 0; i < gv.NumField(); i++ {
		f := gv.Type().Field(i)
		if f.Type.Kind() == reflect.Struct {
			diffStruct(t, name+"."+f.Name, gv.Field(i).Interface(), wv.Field(i).Interface())
			continue
		}
		if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
			t.Errorf("%s.%s = %v, want %v", name, f.Name, gv.Field(i).Interface(), wv.Field(i).Interface())
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

func yes(b bool) string {
	if b {
		return "y"
	}
	return "n"
}

// TestSummaryXLSX opens the workbook and checks its sheets, frozen headers,
// typed cells and that user text is never a formula.
func TestSummaryXLSX(t *testing.T) {
	fx := reporttest.Small()
	fx.Enterprises = append(fx.Enterprises, reporttest.Ent{Code: reporttest.Code(99), Name: hyperlink, Township: "白沙镇", Category: "一般企业",
		Principal: "evil", PrincipalName: "=1+1"})
	seeded(t, fx, func(t *testing.T, s *store.Store, _ string, _ map[string]int64) {
		r, err := report.Summary(context.Background(), s, opts(fx))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := report.Write(&buf, "xlsx", r, r.Tables(true)); err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sheets := f.GetSheetList()
		for i, want := range []string{"汇总", "公开信签收", "自查自纠", "隐患台账", "带队检查", "现场检查", "关闭取缔"} {
			if i >= len(sheets) || sheets[i] != want {
				t.Fatalf("sheets = %v", sheets)
			}
		}
		for _, sh := range sheets {
			p, err := f.GetPanes(sh)
			if err != nil || !p.Freeze || p.YSplit != 1 {
				t.Errorf("%s: header not frozen: %+v %v", sh, p, err)
			}
		}
		rows, _ := f.GetRows("汇总")
		if rows[0][0] != "镇街" || rows[len(rows)-1][0] != report.CityLabel {
			t.Fatalf("summary rows: %v", rows)
		}
		col := func(header string) string {
			i := slices.Index(rows[0], header)
			if i < 0 {
				t.Fatalf("no column %s", header)
			}
			c, _ := excelize.ColumnNumberToName(i + 1)
			return c
		}
		// 青石镇 is row 3 (白沙镇 sorts first). Numbers are numbers, rates percentages.
		if v, _ := f.GetCellValue("汇总", col("企业数")+"3"); v != "4" {
			t.Errorf("青石镇 企业数 = %q", v)
		}
		if typ, _ := f.GetCellType("汇总", col("企业数")+"3"); typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
			t.Errorf("企业数 cell type = %v", typ)
		}
		raw, _ := f.GetCellValue("汇总", col("签收率")+"3", excelize.Options{RawCellValue: true})
		if raw != "0.5" {
			t.Errorf("签收率 raw = %q, want 0.5", raw)
		}
		shown, _ := f.GetCellValue("汇总", col("签收率")+"3")
		if shown != "50.00%" {
			t.Errorf("签收率 shown = %q, want 50.00%%", shown)
		}
		if w, _ := f.GetColWidth("汇总", col("重大隐患未定跟踪人")); w < 18 {
			t.Errorf("column width %v does not fit the Chinese header", w)
		}
		// Dates are dates.
		hz, _ := f.GetRows("隐患台账")
		di := slices.Index(hz[0], "发现日期")
		cell, _ := excelize.CoordinatesToCellName(di+1, 2)
		if raw, _ := f.GetCellValue("隐患台账", cell, excelize.Options{RawCellValue: true}); strings.Contains(raw, "-") || raw == "" {
			t.Errorf("发现日期 stored as %q, want a serial date", raw)
		}
		if shown, _ := f.GetCellValue("隐患台账", cell); !strings.Contains(shown, "26") {
			t.Errorf("发现日期 shown as %q", shown)
		}
		// No formula anywhere; the formula-like name is text.
		found := false
		for _, sh := range sheets {
			rows, _ := f.GetRows(sh)
			for ri, row := range rows {
				for ci, v := range row {
					c, _ := excelize.CoordinatesToCellName(ci+1, ri+1)
					if fm, _ := f.GetCellFormula(sh, c); fm != "" {
						t.Errorf("%s!%s is a formula: %q", sh, c, fm)
					}
					if v == hyperlink {
						found = true
					}
				}
			}
		}
		if !found {
			t.Error("the formula-like enterprise name is missing from the lists")
		}
	})
}

// TestSummaryFormats checks the text formats carry the summary (and the lists on demand).
func TestSummaryFormats(t *testing.T) {
	fx := reporttest.Small()
	clk := reporttest.NewClock(fx.Now)
	s := storetest.New(t, "sqlite", storetest.Options{Clock: clk})
	reporttest.Seed(t, s, clk, "", fx)
	r, err := report.Summary(context.Background(), s, opts(fx))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	report.Write(&b, "table", r, r.Tables(false))
	if !strings.Contains(b.String(), "青石镇") || strings.Contains(b.String(), "公开信签收") {
		t.Errorf("table without lists:\n%s", b.String())
	}
	b.Reset()
	report.Write(&b, "csv", r, r.Tables(true))
	if !strings.Contains(b.String(), "青石丙宾馆") || !strings.Contains(b.String(), "公开信签收") {
		t.Errorf("csv with lists lacks the names")
	}
	b.Reset()
	report.Write(&b, "json", r, nil)
	var back report.SummaryReport
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.City.LetterSigned != 4 || len(back.Enterprises) != 7 || back.Townships[1].Hazards.Overdue != 1 {
		t.Errorf("json round trip: %+v", back.City)
	}
}

// TestReportSnapshot shows that every read of a report sees the same moment:
// a row committed by someone else during the snapshot is not seen.
func TestReportSnapshot(t *testing.T) {
	fx := reporttest.Small()
	seeded(t, fx, func(t *testing.T, s *store.Store, _ string, _ map[string]int64) {
		ctx := context.Background()
		if s.Dialect() == "sqlite" {
			// One connection: a write cannot happen during the read transaction at all.
			t.Skip("SQLite serialises the store on one connection")
		}
		err := s.ReportSnapshot(ctx, func(ctx context.Context) error {
			before, err := s.ReportHazards(ctx)
			if err != nil {
				return err
			}
			// Another connection adds a hazard (outside the snapshot's transaction).
			if _, err := s.DB().ExecContext(context.Background(), `INSERT INTO hazards (enterprise_id, source, description, grade, status, found_at, found_by, updated_at)
				SELECT id, '自查', '新隐患', '一般', '待整改', now(), 'x', now() FROM enterprises LIMIT 1`); err != nil {
				return err
			}
			after, err := s.ReportHazards(ctx)
			if err != nil {
				return err
			}
			if len(after) != len(before) {
				t.Errorf("snapshot saw %d hazards, then %d", len(before), len(after))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		all, _ := s.ReportHazards(ctx)
		if len(all) != 10 {
			t.Errorf("after the snapshot: %d hazards, want 10", len(all))
		}

		// Parallel reads share one snapshot: a reader that starts after a
		// commit still sees the data as of the start.
		inserted := make(chan struct{})
		var first, second int
		err = s.ReportParallel(ctx,
			func(ctx context.Context) error {
				hs, err := s.ReportHazards(ctx)
				first = len(hs)
				if err == nil {
					_, err = s.DB().ExecContext(context.Background(), `INSERT INTO hazards (enterprise_id, source, description, grade, status, found_at, found_by, updated_at)
						SELECT id, '自查', '又一项', '一般', '待整改', now(), 'x', now() FROM enterprises LIMIT 1`)
				}
				close(inserted)
				return err
			},
			func(ctx context.Context) error {
				<-inserted
				hs, err := s.ReportHazards(ctx)
				second = len(hs)
				return err
			})
		if err != nil {
			t.Fatal(err)
		}
		if first != 10 || second != 10 {
			t.Errorf("parallel readers saw %d and %d hazards, want 10 and 10", first, second)
		}
	})
}
