package e2e

import (
	"context"
	"fmt"
	"time"

	"safetybot"
	"safetybot/store"
)

// FieldRoster is a small roster with a known state on day D: two townships,
// two departments, seven enterprises (one closed), every role, one open
// letter with some signatures, self-inspections, hazards and inspections. The
// role × query tests and the end-to-end query conversations check their
// answers against it; FieldRoster's doc comments say what each one is.
//
//	enterprise      township dept    key  principal  letter   self (month)   last inspected
//	E1 青石小吃店     青石镇   应急管理局  -   Wang       signed   已签字          D-140
//	E2 青石旅馆       青石镇   应急管理局  -   Wang       signed   none           never
//	E3 青石家具厂     青石镇   应急管理局  key Li         unsigned 已签字          D-1200
//	E4 青石建材厂     青石镇   住建局     key (none)     never    none           D-200
//	E5 白沙诊所       白沙镇   应急管理局  -   Zhang      signed   待签字          D-400
//	E6 白沙印染厂     白沙镇   住建局     key Liu        unsigned last month    never
//	E7 白沙老厂       白沙镇   应急管理局  -   Liu        inactive: counted nowhere
//
//	hazard  enterprise grade status   deadline tracker
//	H1      E1         一般  整改中    D-10
//	H2      E1         重大  整改中    D+5
//	H3      E1         一般  已销号    D-15
//	H4      E3         重大  待复查    D-5      Zj (住建局 official tracks an 应急管理局 unit)
//	H5      E5         一般  已整改    D-20
//	H6      E6         一般  整改中    D+12
//	H7      E6         重大  已销号    D-30
//	H8      E7         一般  整改中    D-19     (inactive enterprise)
//
// QsLeader has two led inspections on D, one on the last day of the previous
// month and one on-site (not led) inspection on D. Yj has a spot-check
// assignment of E3.
type FieldRoster struct {
	Day string // D, YYYY-MM-DD

	// Userids (with the tag, unique per run).
	Wang, Li, Zhang, Liu string // principals
	Officer              string // safety officer of E1
	QsLeader, QsStaff    string // 青石镇 officials (leader, not leader)
	BsLeader             string // 白沙镇 leader
	Yj, YjStaff          string // 应急管理局 officials (leader, not leader)
	Zj                   string // 住建局 leader
	Office               string // 市安委办

	E1, E2, E3, E4, E5, E6, E7 int64 // enterprise ids
	Letter                     int64
	SpotCheck                  int64
}

// Names of the roster's places and enterprises.
const (
	RosterQs     = "青石镇"
	RosterBs     = "白沙镇"
	RosterYj     = "应急管理局"
	RosterZj     = "住建局"
	RosterLetter = "致全市企业主要负责人的一封信"
)

// SeedFieldRoster loads the roster into an empty store as it stands on day
// (a date in the campaign time zone). tag makes the userids unique.
func SeedFieldRoster(ctx context.Context, st *store.Store, day time.Time, tag string) (*FieldRoster, error) {
	d := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	on := func(days int) string { return d.AddDate(0, 0, days).Format("2006-01-02") }
	r := &FieldRoster{Day: on(0)}
	u := func(name string) string { return name + "-" + tag }
	r.Wang, r.Li, r.Zhang, r.Liu, r.Officer = u("wang"), u("li"), u("zhang"), u("liu"), u("aq")
	r.QsLeader, r.QsStaff, r.BsLeader = u("qszhen"), u("qsgan"), u("bszhen")
	r.Yj, r.YjStaff, r.Zj, r.Office = u("yjke"), u("yjyuan"), u("zjke"), u("office")

	people := []safetybot.Person{
		{UserID: r.Wang, Name: "王建国", Role: safetybot.RolePrincipal, Township: RosterQs},
		{UserID: r.Li, Name: "李秀英", Role: safetybot.RolePrincipal, Township: RosterQs},
		{UserID: r.Zhang, Name: "张伟", Role: safetybot.RolePrincipal, Township: RosterBs},
		{UserID: r.Liu, Name: "刘洋", Role: safetybot.RolePrincipal, Township: RosterBs},
		{UserID: r.Officer, Name: "孙安全", Role: safetybot.RoleSafetyOfficer, Township: RosterQs},
		{UserID: r.QsLeader, Name: "周镇长", Role: safetybot.RoleTownship, Township: RosterQs, Leader: true},
		{UserID: r.QsStaff, Name: "吴干事", Role: safetybot.RoleTownship, Township: RosterQs},
		{UserID: r.BsLeader, Name: "郑镇长", Role: safetybot.RoleTownship, Township: RosterBs, Leader: true},
		{UserID: r.Yj, Name: "冯科长", Role: safetybot.RoleDepartment, Department: RosterYj, Leader: true},
		{UserID: r.YjStaff, Name: "陈科员", Role: safetybot.RoleDepartment, Department: RosterYj},
		{UserID: r.Zj, Name: "褚科长", Role: safetybot.RoleDepartment, Department: RosterZj, Leader: true},
		{UserID: r.Office, Name: "卫主任", Role: safetybot.RoleOffice, Department: "市安委办"},
	}
	ids := map[string]int64{}
	for i := range people {
		if err := st.CreatePerson(ctx, &people[i]); err != nil {
			return nil, err
		}
		if people[i].Department != "" {
			if err := st.EnsureDepartment(ctx, people[i].Department); err != nil {
				return nil, err
			}
		}
		ids[people[i].UserID] = people[i].ID
	}
	type ent struct {
		id                        *int64
		name, township, dept, cat string
		small                     string
		key                       bool
		principal                 string
		last                      *string
	}
	date := func(days int) *string { s := on(days); return &s }
	ents := []ent{
		{&r.E1, "青石小吃店", RosterQs, RosterYj, safetybot.CategoryNineSmall, "小餐饮", false, r.Wang, date(-140)},
		{&r.E2, "青石旅馆", RosterQs, RosterYj, safetybot.CategoryNineSmall, "小旅馆", false, r.Wang, nil},
		{&r.E3, "青石家具厂", RosterQs, RosterYj, safetybot.CategoryFiveSmall, "小家具", true, r.Li, date(-1200)},
		{&r.E4, "青石建材厂", RosterQs, RosterZj, safetybot.CategoryGeneral, "", true, "", date(-200)},
		{&r.E5, "白沙诊所", RosterBs, RosterYj, safetybot.CategoryNineSmall, "小医院", false, r.Zhang, date(-400)},
		{&r.E6, "白沙印染厂", RosterBs, RosterZj, safetybot.CategoryFiveSmall, "小印染", true, r.Liu, nil},
		{&r.E7, "白沙老厂", RosterBs, RosterYj, safetybot.CategoryGeneral, "", false, r.Liu, nil},
	}
	for i, e := range ents {
		prefix := fmt.Sprintf("91320581MA1FW%04d", i+1)
		en := safetybot.Enterprise{CreditCode: prefix + string(safetybot.CreditCodeCheckChar(prefix)), Name: e.name,
			Township: e.township, Category: e.cat, SmallType: e.small, KeyUnit: e.key, Department: e.dept, Phone: fmt.Sprintf("1380000%04d", i+1)}
		if e.last != nil {
			t, _ := time.Parse("2006-01-02", *e.last)
			en.LastInspected = &t
		}
		if err := st.CreateEnterprise(ctx, &en); err != nil {
			return nil, err
		}
		*e.id = en.ID
		if e.principal != "" {
			if err := st.SetContact(ctx, en.ID, ids[e.principal], safetybot.ContactPrincipal); err != nil {
				return nil, err
			}
		}
	}
	if err := st.SetContact(ctx, r.E1, ids[r.Officer], safetybot.ContactSafetyOfficer); err != nil {
		return nil, err
	}

	// The open letter goes to every active enterprise with a principal, before E7 closes.
	if _, err := st.DB().ExecContext(ctx, st.DB().Rebind(`UPDATE enterprises SET active = FALSE WHERE id = ?`), r.E7); err != nil {
		return nil, err
	}
	aud, err := st.LetterAudience(ctx, safetybot.LetterScope{})
	if err != nil {
		return nil, err
	}
	deadline, _ := time.Parse("2006-01-02", on(11))
	l := safetybot.Letter{Title: RosterLetter, Body: "请认真落实安全生产主体责任。", Deadline: &deadline, Sender: "市安委办", Scope: "{}"}
	if err := st.CreateLetter(ctx, &l, "fieldroster-letter-"+tag, aud); err != nil {
		return nil, err
	}
	r.Letter = l.ID
	for _, signer := range []string{r.Wang, r.Zhang} {
		if _, err := st.SignLetter(ctx, l.ID, signer, safetybot.SignByText); err != nil {
			return nil, err
		}
	}

	period := d.Format("2006-01")
	lastPeriod := d.AddDate(0, 0, -d.Day()).Format("2006-01")
	now := st.Now()
	for _, s := range []struct {
		e             int64
		period, state string
	}{
		{r.E1, period, safetybot.SubmissionSigned},
		{r.E3, period, safetybot.SubmissionSigned},
		{r.E5, period, safetybot.SubmissionAwaitingSignature},
		{r.E6, lastPeriod, safetybot.SubmissionSigned},
	} {
		if _, err := st.DB().ExecContext(ctx, st.DB().Rebind(`INSERT INTO submissions (enterprise_id, period, form_key, form_version, version, answers, filler, signer, state, created_at)
			VALUES (?, ?, 'general', '1', 1, '{}', 'seed', 'seed', ?, ?)`), s.e, s.period, s.state, now); err != nil {
			return nil, err
		}
	}

	for _, h := range []struct {
		e                   int64
		desc, grade, status string
		deadline            int
		tracker             string
	}{
		{r.E1, "灭火器过期", safetybot.GradeGeneral, string(safetybot.HazardRectifying), -10, ""},
		{r.E1, "消防通道堵塞", safetybot.GradeMajor, string(safetybot.HazardRectifying), 5, ""},
		{r.E1, "电线老化", safetybot.GradeGeneral, string(safetybot.HazardClosed), -15, ""},
		{r.E3, "粉尘超标", safetybot.GradeMajor, string(safetybot.HazardReview), -5, r.Zj},
		{r.E5, "药品存放混乱", safetybot.GradeGeneral, string(safetybot.HazardFixed), -20, ""},
		{r.E6, "染缸无防护", safetybot.GradeGeneral, string(safetybot.HazardRectifying), 12, ""},
		{r.E6, "危化品超量", safetybot.GradeMajor, string(safetybot.HazardClosed), -30, ""},
		{r.E7, "旧厂房漏雨", safetybot.GradeGeneral, string(safetybot.HazardRectifying), -19, ""},
	} {
		if _, err := st.DB().ExecContext(ctx, st.DB().Rebind(`INSERT INTO hazards (enterprise_id, source, description, grade, status, deadline, found_at, found_by, tracker, updated_at)
			VALUES (?, '自查', ?, ?, ?, ?, ?, 'seed', ?, ?)`), h.e, h.desc, h.grade, h.status, on(h.deadline), now, h.tracker, now); err != nil {
			return nil, err
		}
	}

	for _, in := range []store.Inspection{
		{Kind: store.InspectionLed, EnterpriseID: r.E1, Inspector: r.QsLeader, InspectedOn: on(0)},
		{Kind: store.InspectionLed, EnterpriseID: r.E2, Inspector: r.QsLeader, InspectedOn: on(0)},
		{Kind: store.InspectionLed, EnterpriseID: r.E3, Inspector: r.QsLeader, InspectedOn: on(-d.Day())},
	} {
		in := in
		if err := st.CreateInspection(ctx, &in, nil, nil); err != nil {
			return nil, err
		}
	}
	onsite := store.Inspection{Kind: store.InspectionOnSite, EnterpriseID: r.E1, Inspector: r.QsLeader, InspectedOn: on(0)}
	if err := st.CreateInspection(ctx, &onsite, nil, []store.InspectionSigner{{Role: store.SignerInspector, UserID: r.QsLeader, State: store.SignSigned}}); err != nil {
		return nil, err
	}
	// The led and on-site inspections above moved E1 and E2's last_inspected
	// to D; put the table's dates back.
	if _, err := st.DB().ExecContext(ctx, st.DB().Rebind(`UPDATE enterprises SET last_inspected = ? WHERE id = ?`), on(-140), r.E1); err != nil {
		return nil, err
	}
	if _, err := st.DB().ExecContext(ctx, st.DB().Rebind(`UPDATE enterprises SET last_inspected = NULL WHERE id = ?`), r.E2); err != nil {
		return nil, err
	}
	if _, err := st.DB().ExecContext(ctx, st.DB().Rebind(`UPDATE enterprises SET last_inspected = ? WHERE id = ?`), on(-1200), r.E3); err != nil {
		return nil, err
	}

	sc := store.SpotCheck{Department: RosterYj, Percent: 100, Seed: 1}
	if err := st.CreateSpotCheck(ctx, &sc, []store.SpotCheckAssignment{{EnterpriseID: r.E3, Official: r.Yj}}); err != nil {
		return nil, err
	}
	r.SpotCheck = sc.ID
	return r, nil
}
