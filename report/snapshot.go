package report

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"safetybot"
	"safetybot/store"
)

// Options select what a campaign report covers.
type Options struct {
	// Campaign is a campaign name or id. Empty: the campaign running today, else
	// the latest one; with no campaign at all, every record counts.
	Campaign string
	// Townships limits the report to these townships (empty: all).
	Townships []string
	// Now is the moment the report is made (zero: the store's clock).
	Now time.Time
	// Location is the campaign time zone (nil: Asia/Shanghai).
	Location *time.Location
}

// Period says what a report covers. Dates are YYYY-MM-DD in the campaign time
// zone, months YYYY-MM.
type Period struct {
	Campaign  string   `json:"campaign"`            // campaign name, "" when no campaign is defined
	From      string   `json:"from,omitempty"`      // first day counted ("" = since the beginning)
	To        string   `json:"to,omitempty"`        // last day counted ("" = until today)
	Today     string   `json:"today"`               // the day the report was made
	Month     string   `json:"month"`               // this month, for the monthly figures
	LedTarget int      `json:"led_target"`          // led inspections a leader owes per month (S5: 3)
	Townships []string `json:"townships,omitempty"` // the townships asked for, when limited
}

// Label is a one-line Chinese description of the period.
func (p Period) Label() string {
	var b strings.Builder
	if p.Campaign != "" {
		b.WriteString(p.Campaign + "：")
	}
	switch {
	case p.From != "" && p.To != "":
		b.WriteString(p.From + " 至 " + p.To)
	case p.From != "":
		b.WriteString(p.From + " 起")
	default:
		b.WriteString("全部记录")
	}
	b.WriteString("，统计日 " + p.Today)
	return b.String()
}

// in reports whether the date (YYYY-MM-DD) falls in the period.
func (p Period) in(date string) bool {
	return date != "" && (p.From == "" || date >= p.From) && (p.To == "" || date <= p.To)
}

// monthIn reports whether the month (YYYY-MM) overlaps the period.
func (p Period) monthIn(month string) bool {
	return month != "" && (p.From == "" || month >= p.From[:7]) && (p.To == "" || month <= p.To[:7])
}

// Hazard statuses that count as rectified (整改完成): closed after review, or
// fixed on the spot with a photo.
var rectifiedStatuses = []string{string(safetybot.HazardClosed), string(safetybot.HazardFixed)}

// Grades in the order reports show them.
var Grades = []string{safetybot.GradeGeneral, "较大", safetybot.GradeMajor}

// Letter statuses of an enterprise.
const (
	LetterSigned   = "已签收"
	LetterUnsigned = "未签收"
	LetterNotSent  = "未发送"
)

// MonthNotSubmitted is the self-inspection status of an enterprise with no
// submission for the month.
const MonthNotSubmitted = "未提交"

// EnterpriseStatus is one enterprise in scope with where it stands: the names
// behind every enterprise rate of the summary.
type EnterpriseStatus struct {
	ID              int64      `json:"id"`
	CreditCode      string     `json:"credit_code"`
	Name            string     `json:"name"`
	Township        string     `json:"township"`
	Category        string     `json:"category"`
	SmallType       string     `json:"small_type,omitempty"`
	KeyUnit         bool       `json:"key_unit"`
	Principal       string     `json:"principal"`
	PrincipalUserID string     `json:"principal_userid"`
	Phone           string     `json:"phone,omitempty"`
	Letter          string     `json:"letter"` // 已签收 | 未签收 | 未发送
	SignedAt        *time.Time `json:"signed_at,omitempty"`
	// Month is this month's self-inspection: the state of its latest version
	// (待签字, 已签字, 已退回 …) or 未提交.
	Month             string `json:"month"`
	CampaignSubmitted bool   `json:"campaign_submitted"` // a self-inspection in the campaign not sent back
	CampaignSigned    bool   `json:"campaign_signed"`    // … and signed by the principal
	Hazards           int    `json:"hazards"`            // found in the period
	OpenHazards       int    `json:"open_hazards"`
	OverdueHazards    int    `json:"overdue_hazards"`
	Inspections       int    `json:"inspections"`              // on-site inspections in the period
	LastInspected     string `json:"last_inspected,omitempty"` // latest known inspection, any time
	NotInspected2y    bool   `json:"not_inspected_2y"`         // none in the two years before today
}

// MonthSubmitted reports whether this month's self-inspection is in (not sent back).
func (e EnterpriseStatus) MonthSubmitted() bool { return submitted(e.Month) }

// MonthSigned reports whether this month's self-inspection is signed.
func (e EnterpriseStatus) MonthSigned() bool { return e.Month == safetybot.SubmissionSigned }

func submitted(state string) bool {
	return state != "" && state != MonthNotSubmitted && state != safetybot.SubmissionReturned
}

// HazardLine is one hazard of the ledger (隐患台账).
type HazardLine struct {
	ID           int64      `json:"id"`
	EnterpriseID int64      `json:"enterprise_id"`
	Township     string     `json:"township"`
	Enterprise   string     `json:"enterprise"`
	CreditCode   string     `json:"credit_code"`
	Source       string     `json:"source"`
	Grade        string     `json:"grade"`
	Description  string     `json:"description"`
	Status       string     `json:"status"`
	FoundOn      string     `json:"found_on"`           // YYYY-MM-DD
	Deadline     string     `json:"deadline,omitempty"` // YYYY-MM-DD
	ClosedOn     string     `json:"closed_on,omitempty"`
	Rectified    bool       `json:"rectified"`
	Open         bool       `json:"open"`
	Overdue      bool       `json:"overdue"`
	OnTime       *bool      `json:"on_time,omitempty"` // nil while not yet due
	Tracker      string     `json:"tracker,omitempty"`
	Measures     string     `json:"measures,omitempty"`
	Photos       []string   `json:"photos"`
	FoundAt      time.Time  `json:"found_at"`
	ClosedAt     *time.Time `json:"closed_at,omitempty"`
}

// LeaderLine is one leader's led inspections against the monthly target (S5).
type LeaderLine struct {
	UserID     string `json:"userid"`
	Name       string `json:"name"`
	Role       string `json:"role"`
	Township   string `json:"township,omitempty"`
	Department string `json:"department,omitempty"`
	ThisMonth  int    `json:"this_month"`
	Campaign   int    `json:"campaign"`
	Target     int    `json:"target"`
	OnTarget   bool   `json:"on_target"`
}

// Unit is where the leader belongs: the township, or the department.
func (l LeaderLine) Unit() string {
	if l.Township != "" {
		return l.Township
	}
	if l.Department != "" {
		return l.Department
	}
	return "市安委办"
}

// Closure kinds.
const (
	ClosureSuspended = string(safetybot.HazardSuspended) // 停产整改
	ClosureShutDown  = string(safetybot.HazardShutDown)  // 关闭取缔
)

// ClosureLine is an enterprise ordered to stop (停产整改) or closed and banned
// (关闭取缔) over a hazard.
type ClosureLine struct {
	Township    string `json:"township"`
	Enterprise  string `json:"enterprise"`
	CreditCode  string `json:"credit_code"`
	Kind        string `json:"kind"` // 停产整改 | 关闭取缔
	HazardID    int64  `json:"hazard_id"`
	Grade       string `json:"grade"`
	Description string `json:"description"`
	Status      string `json:"status"` // the hazard's status now
	On          string `json:"on"`     // YYYY-MM-DD of the order
}

// snapshot is everything one report reads, taken in one transaction.
type snapshot struct {
	period      Period
	loc         *time.Location
	townships   []string // in scope, sorted
	enterprises []EnterpriseStatus
	entByID     map[int64]*store.ReportEnterprise
	hazards     []HazardLine
	rawHazards  map[int64]store.ReportHazard
	leaders     []LeaderLine
	closures    []ClosureLine
	inspections []store.ReportInspection // in the period, of enterprises in scope
}

var shanghai = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
})

func invalid(format string, args ...any) error {
	return safetybot.Errorf(safetybot.EINVALID, format, args...)
}

// load reads everything in one snapshot and derives the per-enterprise,
// per-hazard and per-leader lines.
// hazardsOnly, for the hazard ledger, skips what only the summary needs
// (letters, self-inspections, inspections, leaders). more, when given, runs
// inside the same snapshot after the hazards are read.
func load(ctx context.Context, s *store.Store, opt Options, hazardsOnly bool, more ...func(ctx context.Context, hazards []store.ReportHazard) error) (*snapshot, error) {
	sn := &snapshot{loc: opt.Location}
	if sn.loc == nil {
		sn.loc = shanghai()
	}
	now := opt.Now
	if now.IsZero() {
		now = s.Now()
	}
	now = now.In(sn.loc)
	sn.period.Today = now.Format("2006-01-02")
	sn.period.Month = now.Format("2006-01")
	var (
		campaigns   []store.ReportCampaign
		townships   []string
		ents        []store.ReportEnterprise
		principals  []store.ReportContact
		letters     []store.ReportLetter
		recipients  []store.ReportAddressed
		submissions []store.ReportSubmission
		hazards     []store.ReportHazard
		events      []store.ReportHazardEvent
		inspections []store.ReportInspection
		leaders     []store.ReportLeader
	)
	// Three groups of reads of about equal weight run side by side on one snapshot.
	reads := []func(ctx context.Context) error{
		func(ctx context.Context) (err error) {
			if campaigns, err = s.ReportCampaigns(ctx); err != nil {
				return err
			}
			if townships, err = s.ReportTownships(ctx); err != nil {
				return err
			}
			if ents, err = s.ReportEnterprises(ctx); err != nil {
				return err
			}
			if !hazardsOnly {
				principals, err = s.ReportPrincipals(ctx)
			}
			return err
		},
		func(ctx context.Context) (err error) {
			if hazards, err = s.ReportHazards(ctx); err != nil {
				return err
			}
			if events, err = s.ReportStatusEvents(ctx, ClosureSuspended, ClosureShutDown); err != nil {
				return err
			}
			for _, f := range more {
				if err := f(ctx, hazards); err != nil {
					return err
				}
			}
			return nil
		},
	}
	if !hazardsOnly {
		reads = append(reads, func(ctx context.Context) (err error) {
			if letters, err = s.ReportLetters(ctx); err != nil {
				return err
			}
			if recipients, err = s.ReportLetterRecipients(ctx); err != nil {
				return err
			}
			if submissions, err = s.ReportSubmissions(ctx); err != nil {
				return err
			}
			if inspections, err = s.ReportInspections(ctx); err != nil {
				return err
			}
			leaders, err = s.ReportLeaders(ctx)
			return err
		})
	}
	err := s.ReportParallel(ctx, reads...)
	if err != nil {
		return nil, err
	}

	// The campaign: the one asked for, else the one running today, else the latest.
	settings := safetybot.CampaignSettings{}
	if c, err := pickCampaign(campaigns, opt.Campaign, sn.period.Today); err != nil {
		return nil, err
	} else if c != nil {
		sn.period.Campaign, sn.period.From, sn.period.To = c.Name, c.StartsOn, c.EndsOn
		json.Unmarshal([]byte(c.Settings), &settings)
	}
	settings = settings.WithDefaults()
	sn.period.LedTarget = settings.LedInspectionTarget

	// Townships in scope.
	all := map[string]bool{}
	for _, t := range townships {
		all[t] = true
	}
	for _, e := range ents {
		all[e.Township] = true
	}
	want := map[string]bool{}
	for _, t := range opt.Townships {
		if !all[t] {
			return nil, invalid("没有名为“%s”的镇街", t)
		}
		want[t] = true
	}
	for t := range all {
		if len(want) == 0 || want[t] {
			sn.townships = append(sn.townships, t)
		}
	}
	slices.Sort(sn.townships)
	if len(want) > 0 {
		sn.period.Townships = sn.townships
	}
	inScope := func(township string) bool { return len(want) == 0 || want[township] }

	// Enterprises.
	sn.entByID = make(map[int64]*store.ReportEnterprise, len(ents))
	for i := range ents {
		sn.entByID[ents[i].ID] = &ents[i]
	}
	principal := make(map[int64]store.ReportContact, len(principals))
	for _, p := range principals {
		if _, ok := principal[p.EnterpriseID]; !ok {
			principal[p.EnterpriseID] = p
		}
	}
	idx := map[int64]int{} // enterprise id → index in sn.enterprises
	for _, e := range ents {
		if !e.Active || !inScope(e.Township) {
			continue
		}
		p := principal[e.ID]
		idx[e.ID] = len(sn.enterprises)
		sn.enterprises = append(sn.enterprises, EnterpriseStatus{ID: e.ID, CreditCode: e.CreditCode, Name: e.Name,
			Township: e.Township, Category: e.Category, SmallType: e.SmallType, KeyUnit: e.KeyUnit,
			Principal: p.Name, PrincipalUserID: p.UserID, Phone: firstNonEmpty(e.Phone, p.Phone),
			Letter: LetterNotSent, Month: MonthNotSubmitted, LastInspected: deref(e.LastInspected)})
	}

	// Letters of the campaign: those filed under it, and those filed under none
	// that were sent while it ran. An enterprise has signed when it signed every
	// campaign letter addressed to it.
	campaignID := int64(0)
	for _, c := range campaigns {
		if c.Name == sn.period.Campaign {
			campaignID = c.ID
		}
	}
	ofCampaign := map[int64]bool{}
	for _, l := range letters {
		switch {
		case sn.period.Campaign == "":
			ofCampaign[l.ID] = true
		case l.CampaignID != nil:
			ofCampaign[l.ID] = *l.CampaignID == campaignID
		default:
			ofCampaign[l.ID] = sn.period.in(l.CreatedAt.In(sn.loc).Format("2006-01-02"))
		}
	}
	addressed, signed := map[int64]int{}, map[int64]int{}
	for _, r := range recipients {
		i, ok := idx[r.EnterpriseID]
		if !ok || !ofCampaign[r.LetterID] {
			continue
		}
		addressed[r.EnterpriseID]++
		if r.SignedAt != nil {
			signed[r.EnterpriseID]++
			if e := &sn.enterprises[i]; e.SignedAt == nil || r.SignedAt.After(*e.SignedAt) {
				t := *r.SignedAt
				e.SignedAt = &t
			}
		}
	}
	for id, n := range addressed {
		e := &sn.enterprises[idx[id]]
		if signed[id] == n {
			e.Letter = LetterSigned
		} else {
			e.Letter = LetterUnsigned
			e.SignedAt = nil
		}
	}

	// Self-inspections: the latest version of each period counts.
	for i, sub := range submissions {
		if i+1 < len(submissions) && submissions[i+1].EnterpriseID == sub.EnterpriseID && submissions[i+1].Period == sub.Period {
			continue // a later version of the same period follows
		}
		j, ok := idx[sub.EnterpriseID]
		if !ok {
			continue
		}
		e := &sn.enterprises[j]
		if sub.Period == sn.period.Month {
			e.Month = sub.State
		}
		if sn.period.monthIn(sub.Period) && submitted(sub.State) {
			e.CampaignSubmitted = true
			if sub.State == safetybot.SubmissionSigned {
				e.CampaignSigned = true
			}
		}
	}

	// Inspections: the latest date of each enterprise ever, and the period's count.
	twoYearsAgo := now.AddDate(-2, 0, 0).Format("2006-01-02")
	for _, in := range inspections {
		j, ok := idx[in.EnterpriseID]
		if !ok {
			continue
		}
		e := &sn.enterprises[j]
		if in.InspectedOn > e.LastInspected && in.InspectedOn <= sn.period.Today {
			e.LastInspected = in.InspectedOn
		}
		if sn.period.in(in.InspectedOn) {
			e.Inspections++
			sn.inspections = append(sn.inspections, in)
		}
	}
	for i := range sn.enterprises {
		e := &sn.enterprises[i]
		e.NotInspected2y = e.LastInspected == "" || e.LastInspected < twoYearsAgo
	}

	// Hazards found in the period, of enterprises in the townships asked for
	// (an enterprise deactivated later keeps its hazards in the ledger).
	sn.rawHazards = make(map[int64]store.ReportHazard)
	for _, h := range hazards {
		e := sn.entByID[h.EnterpriseID]
		if e == nil || !inScope(e.Township) {
			continue
		}
		found := h.FoundAt.In(sn.loc).Format("2006-01-02")
		if !sn.period.in(found) {
			continue
		}
		sn.rawHazards[h.ID] = h
		line := HazardLine{ID: h.ID, EnterpriseID: h.EnterpriseID, Township: e.Township, Enterprise: e.Name,
			CreditCode: e.CreditCode, Source: h.Source, Grade: h.Grade, Description: h.Description, Status: h.Status,
			FoundOn: found, Deadline: deref(h.Deadline), Tracker: h.Tracker, Measures: h.Measures,
			Photos: parsePhotos(h.Photos), FoundAt: h.FoundAt, ClosedAt: h.ClosedAt}
		line.Rectified = slices.Contains(rectifiedStatuses, h.Status)
		line.Open = safetybot.HazardStatus(h.Status).Open()
		if line.Rectified {
			closed := h.UpdatedAt
			if h.ClosedAt != nil {
				closed = *h.ClosedAt
			}
			line.ClosedOn = closed.In(sn.loc).Format("2006-01-02")
			onTime := line.Deadline == "" || line.ClosedOn <= line.Deadline
			line.OnTime = &onTime
		}
		if line.Open && line.Deadline != "" && line.Deadline < sn.period.Today {
			line.Overdue = true
			late := false
			line.OnTime = &late
		}
		sn.hazards = append(sn.hazards, line)
		if j, ok := idx[h.EnterpriseID]; ok {
			es := &sn.enterprises[j]
			es.Hazards++
			if line.Open {
				es.OpenHazards++
			}
			if line.Overdue {
				es.OverdueHazards++
			}
		}
	}
	sortHazards(sn.hazards)

	// Closures: an enterprise is counted as ordered to stop when one of its
	// hazards is in 停产整改 or went through it; as closed when one is 关闭取缔.
	type hazardStatus struct {
		id     int64
		status string
	}
	firstEvent := map[hazardStatus]string{} // date of the first event into the status
	for _, ev := range events {
		k := hazardStatus{ev.HazardID, ev.ToStatus}
		if _, ok := firstEvent[k]; !ok {
			firstEvent[k] = ev.At.In(sn.loc).Format("2006-01-02")
		}
	}
	for _, h := range sn.hazards {
		for _, kind := range []string{ClosureSuspended, ClosureShutDown} {
			on, went := firstEvent[hazardStatus{h.ID, kind}]
			if h.Status != kind && !(kind == ClosureSuspended && went) {
				continue
			}
			if !went {
				on = h.FoundOn
			}
			sn.closures = append(sn.closures, ClosureLine{Township: h.Township, Enterprise: h.Enterprise, CreditCode: h.CreditCode,
				Kind: kind, HazardID: h.ID, Grade: h.Grade, Description: h.Description, Status: h.Status, On: on})
		}
	}

	// Leaders and their led inspections.
	ledMonth, ledPeriod := map[string]int{}, map[string]int{}
	for _, in := range inspections {
		if !in.Led {
			continue
		}
		u := strings.ToLower(in.Inspector)
		if strings.HasPrefix(in.InspectedOn, sn.period.Month) {
			ledMonth[u]++
		}
		if sn.period.in(in.InspectedOn) {
			ledPeriod[u]++
		}
	}
	for _, l := range leaders {
		if l.Role == string(safetybot.RoleTownship) && !inScope(l.Township) || l.Role != string(safetybot.RoleTownship) && len(want) > 0 {
			continue
		}
		u := strings.ToLower(l.UserID)
		line := LeaderLine{UserID: l.UserID, Name: l.Name, Role: l.Role, Department: l.Department,
			ThisMonth: ledMonth[u], Campaign: ledPeriod[u], Target: sn.period.LedTarget}
		if l.Role == string(safetybot.RoleTownship) {
			line.Township = l.Township
		}
		line.OnTarget = line.ThisMonth >= line.Target
		sn.leaders = append(sn.leaders, line)
	}
	slices.SortStableFunc(sn.leaders, func(a, b LeaderLine) int {
		// Township leaders first, then department leaders; by unit and name.
		if (a.Township == "") != (b.Township == "") {
			if a.Township != "" {
				return -1
			}
			return 1
		}
		return cmpStrings(a.Unit()+"\x00"+a.Name+"\x00"+a.UserID, b.Unit()+"\x00"+b.Name+"\x00"+b.UserID)
	})
	slices.SortStableFunc(sn.enterprises, func(a, b EnterpriseStatus) int {
		if c := cmpStrings(a.Township, b.Township); c != 0 {
			return c
		}
		if c := cmpStrings(a.Name, b.Name); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	return sn, nil
}

func pickCampaign(cs []store.ReportCampaign, want, today string) (*store.ReportCampaign, error) {
	if want != "" {
		for i, c := range cs {
			if c.Name == want || strconv.FormatInt(c.ID, 10) == want {
				return &cs[i], nil
			}
		}
		return nil, invalid("没有名为“%s”的专项活动", want)
	}
	if len(cs) == 0 {
		return nil, nil
	}
	for i := len(cs) - 1; i >= 0; i-- {
		if cs[i].StartsOn <= today && today <= cs[i].EndsOn {
			return &cs[i], nil
		}
	}
	for i := len(cs) - 1; i >= 0; i-- {
		if cs[i].StartsOn <= today {
			return &cs[i], nil
		}
	}
	return &cs[len(cs)-1], nil
}

func sortHazards(hs []HazardLine) {
	slices.SortStableFunc(hs, func(a, b HazardLine) int {
		if c := cmpStrings(a.Township, b.Township); c != 0 {
			return c
		}
		if c := cmpStrings(a.Enterprise, b.Enterprise); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
}

func cmpStrings(a, b string) int { return strings.Compare(a, b) }

func parsePhotos(s string) []string {
	var out []string
	if json.Unmarshal([]byte(s), &out) != nil || out == nil {
		return []string{}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(*s)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// parseDay turns YYYY-MM-DD into a date cell value (zero when empty or bad).
func parseDay(s string) time.Time {
	t, _ := time.Parse("2006-01-02", s)
	return t
}
