package report

import (
	"context"
	"slices"
	"strconv"
	"time"

	"safetybot"
	"safetybot/store"
)

// SummaryReport is the campaign summary per township and city-wide (S11, S12):
// coverage of the open letter and of self-inspections, hazards and their
// rectification, closures, led and on-site inspections. The lists behind every
// rate are part of it. Its JSON form is stable: field names only get added.
type SummaryReport struct {
	Period      Period             `json:"period"`
	Townships   []TownshipSummary  `json:"townships"`
	City        TownshipSummary    `json:"city"`
	Enterprises []EnterpriseStatus `json:"enterprises"`
	Hazards     []HazardLine       `json:"hazards"`
	Leaders     []LeaderLine       `json:"leaders"`
	Closures    []ClosureLine      `json:"closures"`

	loc *time.Location
}

// TownshipSummary is one line of the summary (the city line has Township 全市合计).
//
// Definitions (every denominator is the enterprises in scope: active ones):
//   - letter_signed: signed every campaign open letter addressed to it;
//   - month_*: this month's self-inspection, latest version, submitted (not
//     sent back) and signed by the principal;
//   - campaign_*: at least one such self-inspection in a month of the campaign;
//   - hazards: see HazardCounts;
//   - suspended / shut_down: enterprises ordered to stop (停产整改, now or
//     earlier) and enterprises closed and banned (关闭取缔);
//   - leaders: township leaders (the city line adds department leaders) and
//     those with at least the monthly target of led inspections this month;
//   - inspections / inspected: on-site inspections in the period and the
//     enterprises they covered; key_*: the same for key supervised units;
//   - not_inspected_2y: no inspection known in the two years before today.
type TownshipSummary struct {
	Township              string       `json:"township"`
	Enterprises           int          `json:"enterprises"`
	KeyUnits              int          `json:"key_units"`
	LetterSigned          int          `json:"letter_signed"`
	LetterRate            float64      `json:"letter_rate"`
	MonthSubmitted        int          `json:"month_submitted"`
	MonthSubmittedRate    float64      `json:"month_submitted_rate"`
	MonthSigned           int          `json:"month_signed"`
	MonthSignedRate       float64      `json:"month_signed_rate"`
	CampaignSubmitted     int          `json:"campaign_submitted"`
	CampaignSubmittedRate float64      `json:"campaign_submitted_rate"`
	CampaignSigned        int          `json:"campaign_signed"`
	CampaignSignedRate    float64      `json:"campaign_signed_rate"`
	Hazards               HazardCounts `json:"hazards"`
	Suspended             int          `json:"suspended"`
	ShutDown              int          `json:"shut_down"`
	Leaders               int          `json:"leaders"`
	LeadersOnTarget       int          `json:"leaders_on_target"`
	LedThisMonth          int          `json:"led_this_month"`
	Inspections           int          `json:"inspections"`
	Inspected             int          `json:"inspected"`
	InspectedRate         float64      `json:"inspected_rate"`
	KeyInspected          int          `json:"key_inspected"`
	KeyInspectedRate      float64      `json:"key_inspected_rate"`
	NotInspected2y        int          `json:"not_inspected_2y"`
}

// HazardCounts are the hazard figures of a township (or a township and grade).
//
//   - found: hazards found in the period; general/larger/major by grade;
//   - rectified: status 已销号 or 已整改; rate = rectified ÷ found;
//   - due: rectified ones plus open ones past their deadline; on_time: rectified
//     on or before the deadline (or without one); on_time_rate = on_time ÷ due;
//   - overdue: open (待整改, 整改中, 待复查, 停产整改) and past the deadline;
//   - major_open: 重大 hazards not yet rectified, each under supervision
//     (挂牌督办) until closed; major_no_tracker: of those, without a named tracker;
//   - suspended / shut_down: hazards now in 停产整改 / 关闭取缔.
type HazardCounts struct {
	Found          int     `json:"found"`
	General        int     `json:"general"`
	Larger         int     `json:"larger"`
	Major          int     `json:"major"`
	Rectified      int     `json:"rectified"`
	Rate           float64 `json:"rate"`
	Due            int     `json:"due"`
	OnTime         int     `json:"on_time"`
	OnTimeRate     float64 `json:"on_time_rate"`
	Overdue        int     `json:"overdue"`
	Open           int     `json:"open"`
	MajorRectified int     `json:"major_rectified"`
	MajorOpen      int     `json:"major_open"`
	MajorNoTracker int     `json:"major_no_tracker"`
	Suspended      int     `json:"suspended"`
	ShutDown       int     `json:"shut_down"`
}

func (c *HazardCounts) add(h HazardLine) {
	c.Found++
	switch h.Grade {
	case safetybot.GradeGeneral:
		c.General++
	case "较大":
		c.Larger++
	case safetybot.GradeMajor:
		c.Major++
	}
	if h.Rectified {
		c.Rectified++
		if h.Grade == safetybot.GradeMajor {
			c.MajorRectified++
		}
	}
	if h.OnTime != nil {
		c.Due++
		if *h.OnTime {
			c.OnTime++
		}
	}
	if h.Overdue {
		c.Overdue++
	}
	if h.Open {
		c.Open++
		if h.Grade == safetybot.GradeMajor {
			c.MajorOpen++
			if h.Tracker == "" {
				c.MajorNoTracker++
			}
		}
	}
	switch h.Status {
	case ClosureSuspended:
		c.Suspended++
	case ClosureShutDown:
		c.ShutDown++
	}
}

// CountHazards returns the figures of a list of hazards.
func CountHazards(hs []HazardLine) HazardCounts {
	var c HazardCounts
	for _, h := range hs {
		c.add(h)
	}
	c.rates()
	return c
}

func (c *HazardCounts) rates() {
	c.Rate = Rate(c.Rectified, c.Found)
	c.OnTimeRate = Rate(c.OnTime, c.Due)
}

// CityLabel names the city-wide line.
const CityLabel = "全市合计"

// Summary computes the summary report from one consistent snapshot.
func Summary(ctx context.Context, s *store.Store, opt Options) (*SummaryReport, error) {
	sn, err := load(ctx, s, opt, false)
	if err != nil {
		return nil, err
	}
	return sn.summary(), nil
}

func (sn *snapshot) summary() *SummaryReport {
	r := &SummaryReport{loc: sn.loc, Period: sn.period, Enterprises: sn.enterprises, Hazards: sn.hazards, Leaders: sn.leaders, Closures: sn.closures}
	if r.Enterprises == nil {
		r.Enterprises = []EnterpriseStatus{}
	}
	if r.Hazards == nil {
		r.Hazards = []HazardLine{}
	}
	if r.Leaders == nil {
		r.Leaders = []LeaderLine{}
	}
	if r.Closures == nil {
		r.Closures = []ClosureLine{}
	}
	lines := make(map[string]*TownshipSummary, len(sn.townships))
	r.Townships = make([]TownshipSummary, len(sn.townships))
	for i, t := range sn.townships {
		r.Townships[i].Township = t
		lines[t] = &r.Townships[i]
	}
	city := &r.City
	city.Township = CityLabel
	both := func(t string, f func(l *TownshipSummary)) {
		if l := lines[t]; l != nil {
			f(l)
		}
		f(city)
	}
	for _, e := range sn.enterprises {
		both(e.Township, func(l *TownshipSummary) {
			l.Enterprises++
			if e.KeyUnit {
				l.KeyUnits++
			}
			if e.Letter == LetterSigned {
				l.LetterSigned++
			}
			if e.MonthSubmitted() {
				l.MonthSubmitted++
			}
			if e.MonthSigned() {
				l.MonthSigned++
			}
			if e.CampaignSubmitted {
				l.CampaignSubmitted++
			}
			if e.CampaignSigned {
				l.CampaignSigned++
			}
			l.Inspections += e.Inspections
			if e.Inspections > 0 {
				l.Inspected++
				if e.KeyUnit {
					l.KeyInspected++
				}
			}
			if e.NotInspected2y {
				l.NotInspected2y++
			}
		})
	}
	for _, h := range sn.hazards {
		both(h.Township, func(l *TownshipSummary) { l.Hazards.add(h) })
	}
	type key struct {
		kind string
		id   int64
	}
	seen := map[key]bool{}
	for _, c := range sn.closures {
		h := sn.rawHazards[c.HazardID]
		k := key{c.Kind, h.EnterpriseID}
		if seen[k] {
			continue
		}
		seen[k] = true
		both(c.Township, func(l *TownshipSummary) {
			if c.Kind == ClosureShutDown {
				l.ShutDown++
			} else {
				l.Suspended++
			}
		})
	}
	for _, ld := range sn.leaders {
		f := func(l *TownshipSummary) {
			l.Leaders++
			l.LedThisMonth += ld.ThisMonth
			if ld.OnTarget {
				l.LeadersOnTarget++
			}
		}
		if ld.Township != "" {
			both(ld.Township, f)
		} else {
			f(city)
		}
	}
	for i := range r.Townships {
		r.Townships[i].rates()
	}
	city.rates()
	return r
}

func (l *TownshipSummary) rates() {
	l.LetterRate = Rate(l.LetterSigned, l.Enterprises)
	l.MonthSubmittedRate = Rate(l.MonthSubmitted, l.Enterprises)
	l.MonthSignedRate = Rate(l.MonthSigned, l.Enterprises)
	l.CampaignSubmittedRate = Rate(l.CampaignSubmitted, l.Enterprises)
	l.CampaignSignedRate = Rate(l.CampaignSigned, l.Enterprises)
	l.InspectedRate = Rate(l.Inspected, l.Enterprises)
	l.KeyInspectedRate = Rate(l.KeyInspected, l.KeyUnits)
	l.Hazards.rates()
}

// Sheet names of the summary workbook, in order.
const (
	SheetSummary     = "汇总"
	SheetLetters     = "公开信签收"
	SheetSelf        = "自查自纠"
	SheetHazards     = "隐患台账"
	SheetLed         = "带队检查"
	SheetInspections = "现场检查"
	SheetClosures    = "关闭取缔"
	SheetNotes       = "统计口径"
)

var summaryHeaders = []string{"镇街", "企业数", "重点监管单位",
	"公开信已签收", "签收率",
	"本月自查已提交", "本月自查率", "本月已签字", "本月签字率",
	"活动期自查已提交", "活动期自查率", "活动期已签字", "活动期签字率",
	"一般隐患", "较大隐患", "重大隐患", "隐患合计", "已整改", "整改率", "按期整改", "应按期整改", "按期整改率", "逾期未整改",
	"重大隐患已整改", "重大隐患督办中", "重大隐患未定跟踪人",
	"停产整改企业", "关闭取缔企业",
	"带队领导", "本月达标领导", "本月带队检查",
	"现场检查次数", "已检查企业", "检查覆盖率", "重点单位已检查", "重点单位覆盖率", "两年未检查企业"}

func (l TownshipSummary) row() []Cell {
	h := l.Hazards
	return []Cell{Text(l.Township), Int(l.Enterprises), Int(l.KeyUnits),
		Int(l.LetterSigned), Percent(l.LetterRate),
		Int(l.MonthSubmitted), Percent(l.MonthSubmittedRate), Int(l.MonthSigned), Percent(l.MonthSignedRate),
		Int(l.CampaignSubmitted), Percent(l.CampaignSubmittedRate), Int(l.CampaignSigned), Percent(l.CampaignSignedRate),
		Int(h.General), Int(h.Larger), Int(h.Major), Int(h.Found), Int(h.Rectified), Percent(h.Rate), Int(h.OnTime), Int(h.Due), Percent(h.OnTimeRate), Int(h.Overdue),
		Int(h.MajorRectified), Int(h.MajorOpen), Int(h.MajorNoTracker),
		Int(l.Suspended), Int(l.ShutDown),
		Int(l.Leaders), Int(l.LeadersOnTarget), Int(l.LedThisMonth),
		Int(l.Inspections), Int(l.Inspected), Percent(l.InspectedRate), Int(l.KeyInspected), Percent(l.KeyInspectedRate), Int(l.NotInspected2y)}
}

// Tables renders the report. The summary sheet always; with lists, the sheets
// with the names behind every rate (the XLSX workbook always has them).
func (r *SummaryReport) Tables(lists bool) []Table {
	sum := Table{Name: SheetSummary, Headers: summaryHeaders}
	for _, l := range r.Townships {
		sum.Rows = append(sum.Rows, l.row())
	}
	sum.Rows = append(sum.Rows, r.City.row())
	if !lists {
		return []Table{sum}
	}
	return []Table{sum, r.LetterTable(), r.SelfTable(), HazardTable(r.Hazards), r.LeaderTable(),
		r.InspectionTable(), ClosureTable(r.Closures), r.NotesTable()}
}

func (r *SummaryReport) location() *time.Location {
	if r.loc == nil {
		return shanghai()
	}
	return r.loc
}

func yesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

func timeCell(t *time.Time, loc *time.Location) Cell {
	if t == nil {
		return Date(time.Time{})
	}
	y, m, d := t.In(loc).Date()
	return Date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

// LetterTable lists every enterprise in scope with its sign-off.
func (r *SummaryReport) LetterTable() Table {
	t := Table{Name: SheetLetters, Headers: []string{"镇街", "统一社会信用代码", "企业名称", "类别", "主要负责人", "企业微信账号", "联系电话", "签收状态", "签收日期"}}
	for _, e := range r.Enterprises {
		t.Rows = append(t.Rows, []Cell{Text(e.Township), Text(e.CreditCode), Text(e.Name), Text(e.Category), Text(e.Principal),
			Text(e.PrincipalUserID), Text(e.Phone), Text(e.Letter), timeCell(e.SignedAt, r.location())})
	}
	return t
}

// SelfTable lists every enterprise in scope with its self-inspections.
func (r *SummaryReport) SelfTable() Table {
	t := Table{Name: SheetSelf, Headers: []string{"镇街", "统一社会信用代码", "企业名称", "类别", "重点监管单位", "主要负责人", "企业微信账号",
		"本月（" + r.Period.Month + "）自查", "活动期已提交", "活动期已签字"}}
	for _, e := range r.Enterprises {
		t.Rows = append(t.Rows, []Cell{Text(e.Township), Text(e.CreditCode), Text(e.Name), Text(e.Category), Text(yesNo(e.KeyUnit)),
			Text(e.Principal), Text(e.PrincipalUserID), Text(e.Month), Text(yesNo(e.CampaignSubmitted)), Text(yesNo(e.CampaignSigned))})
	}
	return t
}

// HazardTable is the hazard ledger (隐患台账).
func HazardTable(hs []HazardLine) Table {
	t := Table{Name: SheetHazards, Headers: []string{"隐患编号", "镇街", "企业名称", "统一社会信用代码", "来源", "等级", "隐患描述", "状态",
		"发现日期", "整改期限", "整改完成日期", "逾期未整改", "按期整改", "跟踪人", "照片数"}}
	for _, h := range hs {
		onTime := "—"
		if h.OnTime != nil {
			onTime = yesNo(*h.OnTime)
		}
		t.Rows = append(t.Rows, []Cell{Int(int(h.ID)), Text(h.Township), Text(h.Enterprise), Text(h.CreditCode), Text(h.Source), Text(h.Grade),
			Text(h.Description), Text(h.Status), Date(parseDay(h.FoundOn)), Date(parseDay(h.Deadline)), Date(parseDay(h.ClosedOn)),
			Text(yesNo(h.Overdue)), Text(onTime), Text(h.Tracker), Int(len(h.Photos))})
	}
	return t
}

// LeaderTable lists every leader's led inspections against the monthly target.
func (r *SummaryReport) LeaderTable() Table {
	t := Table{Name: SheetLed, Headers: []string{"镇街/部门", "姓名", "企业微信账号", "身份", "本月（" + r.Period.Month + "）带队检查", "每月目标", "本月达标", "活动期带队检查"}}
	for _, l := range r.Leaders {
		role := "镇街领导"
		if l.Township == "" {
			role = "部门领导"
		}
		t.Rows = append(t.Rows, []Cell{Text(l.Unit()), Text(l.Name), Text(l.UserID), Text(role), Int(l.ThisMonth), Int(l.Target),
			Text(yesNo(l.OnTarget)), Int(l.Campaign)})
	}
	return t
}

// InspectionTable lists every enterprise in scope with its on-site inspections.
func (r *SummaryReport) InspectionTable() Table {
	t := Table{Name: SheetInspections, Headers: []string{"镇街", "统一社会信用代码", "企业名称", "类别", "重点监管单位", "活动期现场检查次数", "最近检查日期", "两年未检查"}}
	for _, e := range r.Enterprises {
		t.Rows = append(t.Rows, []Cell{Text(e.Township), Text(e.CreditCode), Text(e.Name), Text(e.Category), Text(yesNo(e.KeyUnit)),
			Int(e.Inspections), Date(parseDay(e.LastInspected)), Text(yesNo(e.NotInspected2y))})
	}
	return t
}

// ClosureTable lists the enterprises stopped or closed over a hazard.
func ClosureTable(cs []ClosureLine) Table {
	t := Table{Name: SheetClosures, Headers: []string{"镇街", "企业名称", "统一社会信用代码", "处置", "日期", "隐患编号", "等级", "隐患描述", "隐患现状态"}}
	for _, c := range cs {
		t.Rows = append(t.Rows, []Cell{Text(c.Township), Text(c.Enterprise), Text(c.CreditCode), Text(c.Kind), Date(parseDay(c.On)),
			Int(int(c.HazardID)), Text(c.Grade), Text(c.Description), Text(c.Status)})
	}
	return t
}

// NotesTable says what period the report covers and how each figure is counted.
func (r *SummaryReport) NotesTable() Table {
	t := Table{Name: SheetNotes, Headers: []string{"项目", "口径"}}
	add := func(k, v string) { t.Rows = append(t.Rows, []Cell{Text(k), Text(v)}) }
	add("统计范围", r.Period.Label())
	add("企业数", "名册中在册（未停用）的企业")
	add("签收率", "已签收本活动全部公开信的企业 ÷ 企业数；名单见“"+SheetLetters+"”")
	add("本月自查率", r.Period.Month+" 已提交自查（最新版本未被退回）的企业 ÷ 企业数；签字率只计主要负责人已签字的；名单见“"+SheetSelf+"”")
	add("活动期自查率", "活动期间任一月份已提交自查的企业 ÷ 企业数")
	add("整改率", "已整改（已销号、已整改）隐患 ÷ 活动期间发现的隐患；台账见“"+SheetHazards+"”")
	add("按期整改率", "在整改期限内（含当天，未定期限视为按期）完成整改的隐患 ÷（已整改 + 已逾期未整改）")
	add("逾期未整改", "未整改完毕（待整改、整改中、待复查、停产整改）且已过整改期限的隐患")
	add("重大隐患督办中", "尚未整改完毕的重大隐患，逐项挂牌督办、专人跟踪")
	add("停产整改/关闭取缔企业", "有隐患处于或经历过停产整改的企业 / 有隐患处于关闭取缔的企业；名单见“"+SheetClosures+"”")
	add("带队检查", "领导本人带队（led）的检查；每月目标 "+strconv.Itoa(r.Period.LedTarget)+" 次；名单见“"+SheetLed+"”")
	add("检查覆盖率", "活动期间至少有一次现场检查的企业 ÷ 企业数；重点单位覆盖率同理；名单见“"+SheetInspections+"”")
	add("两年未检查", "统计日前两年内没有任何检查记录（含名册中的最近检查日期）的企业")
	return t
}

// TownshipLine returns the summary line of a township (the city line for CityLabel).
func (r *SummaryReport) TownshipLine(name string) (TownshipSummary, bool) {
	if name == CityLabel {
		return r.City, true
	}
	i := slices.IndexFunc(r.Townships, func(l TownshipSummary) bool { return l.Township == name })
	if i < 0 {
		return TownshipSummary{}, false
	}
	return r.Townships[i], true
}
