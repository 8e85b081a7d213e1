package scheduler

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"safetybot"
	"safetybot/messages"
	"safetybot/store"
)

// Each builder below scans what is due today for one kind (one store query)
// and returns one reminder per target; store.SendReminders drops the ones the
// ledger already holds. The builders of the kinds sent to principals (many
// targets) leave out the targets the ledger holds already before making
// their messages; the kinds sent to officials are left out whole when every
// official they could go to holds today's (run.unclaimed).

// letterPrincipals: each working day from the day after sending until the
// deadline, a card to every principal with an unsigned letter.
func letterPrincipals(ctx context.Context, u *run) ([]store.Reminder, error) {
	all, err := u.unsignedLetters(ctx)
	if err != nil {
		return nil, err
	}
	// Letters sent before today whose deadline is today or later, or unset.
	var rows []store.UnsignedLetterRow
	for _, r := range all {
		if r.Active && r.SentAt.Before(u.day) && (r.Deadline == nil || *r.Deadline == "" || *r.Deadline >= u.today) {
			rows = append(rows, r)
		}
	}
	users := groupBy(rows, func(r store.UnsignedLetterRow) string { return r.UserID })
	targets := make([]string, len(users))
	for i, user := range users {
		targets[i] = user[0].UserID
	}
	claimed := u.claimedTargets(ctx, KindLetterUnsigned, targets)
	var out []store.Reminder
	for _, user := range users {
		if claimed[user[0].UserID] {
			continue
		}
		var letters []messages.LetterDue
		for _, r := range user {
			if len(letters) == 0 || letters[len(letters)-1].LetterID != r.LetterID {
				ld := messages.LetterDue{LetterID: r.LetterID, Title: r.Title}
				if r.Deadline != nil {
					ld.Deadline = *r.Deadline
				}
				letters = append(letters, ld)
			}
			l := &letters[len(letters)-1]
			l.Enterprises = append(l.Enterprises, r.Enterprise)
		}
		// The button signs the letter due first.
		slices.SortStableFunc(letters, func(a, b messages.LetterDue) int {
			return strings.Compare(orFar(a.Deadline), orFar(b.Deadline))
		})
		rem, err := u.card(KindLetterUnsigned, user[0].UserID, messages.LetterReminderCard(letters, u.r.d.PublicURL, ""))
		if err != nil {
			return nil, err
		}
		out = append(out, rem)
	}
	return out, nil
}

func orFar(day string) string {
	if day == "" {
		return "9999-12-31"
	}
	return day
}

// letterTownships: from the configured day after sending, each working
// morning, the township officials get one list of their unsigned enterprises.
func letterTownships(ctx context.Context, u *run) ([]store.Reminder, error) {
	from := max(u.plan.LetterTownshipFromDay, 1)
	all, err := u.unsignedLetters(ctx)
	if err != nil {
		return nil, err
	}
	sentBefore := u.day.AddDate(0, 0, -(from - 1))
	var rows []store.UnsignedLetterRow
	for _, r := range all {
		if r.SentAt.Before(sentBefore) {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return nil, nil
	}
	slices.SortStableFunc(rows, func(a, b store.UnsignedLetterRow) int {
		if c := strings.Compare(a.Township, b.Township); c != 0 {
			return c
		}
		if c := strings.Compare(a.Enterprise, b.Enterprise); c != 0 {
			return c
		}
		return cmp.Compare(a.EnterpriseID, b.EnterpriseID)
	})
	officials, err := u.townshipOfficials(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.Reminder
	for _, town := range groupBy(rows, func(r store.UnsignedLetterRow) string { return r.Township }) {
		var lines []messages.UnsignedLine
		seen := map[int64]int{}
		for _, r := range town {
			days := int(u.day.Sub(civilMidnight(r.SentAt, u.r.d.Location)).Hours()/24 + 0.5)
			if i, ok := seen[r.EnterpriseID]; ok {
				lines[i].Days = max(lines[i].Days, days)
				if !strings.Contains(lines[i].Principal, r.Principal) {
					lines[i].Principal += "、" + r.Principal
				}
				continue
			}
			seen[r.EnterpriseID] = len(lines)
			lines = append(lines, messages.UnsignedLine{Enterprise: r.Enterprise, Principal: r.Principal, Phone: r.Phone, Days: days})
		}
		text := messages.TownshipUnsignedText(town[0].Township, lines)
		for _, o := range officials[town[0].Township] {
			rem, err := u.text(KindLetterTownship, o.UserID, text)
			if err != nil {
				return nil, err
			}
			out = append(out, rem)
		}
	}
	return out, nil
}

// letterOffice: each working day after a letter's deadline, the city office
// gets the unsigned enterprises per township.
func letterOffice(ctx context.Context, u *run) ([]store.Reminder, error) {
	all, err := u.unsignedLetters(ctx)
	if err != nil {
		return nil, err
	}
	behind := map[string]map[int64]bool{}
	for _, r := range all {
		if r.Deadline != nil && *r.Deadline != "" && *r.Deadline < u.today {
			if behind[r.Township] == nil {
				behind[r.Township] = map[int64]bool{}
			}
			behind[r.Township][r.EnterpriseID] = true
		}
	}
	if len(behind) == 0 {
		return nil, nil
	}
	counts, err := u.townshipCounts(ctx)
	if err != nil {
		return nil, err
	}
	var lines []messages.TownshipCountLine
	for _, town := range sortedKeys(behind) {
		lines = append(lines, messages.TownshipCountLine{Township: town, Behind: len(behind[town]), Total: counts[town].PastDeadline})
	}
	text := messages.OfficeUnsignedText(u.today, lines)
	office, err := u.officialsOf(ctx, func(o store.Official) bool { return o.Role == safetybot.RoleOffice })
	if err != nil {
		return nil, err
	}
	var out []store.Reminder
	for _, o := range office {
		rem, err := u.text(KindLetterOffice, o.UserID, text)
		if err != nil {
			return nil, err
		}
		out = append(out, rem)
	}
	return out, nil
}

// selfCheckDue says which self-inspection reminders today carries: the
// monthly ones (period and its day) and whether today covers the campaign's
// 100% deadline.
type selfCheckDue struct {
	monthly  []struct{ period, due string }
	deadline string // YYYY-MM-DD when today covers it
}

func (u *run) selfCheckDue() selfCheckDue {
	var d selfCheckDue
	for _, m := range []time.Time{u.day, u.date(u.day.Year(), u.day.Month()+1, 1)} {
		day := u.monthlyDay(m.Year(), m.Month())
		for _, k := range u.plan.SelfCheckDaysBefore {
			if u.covers(day.AddDate(0, 0, -k)) {
				d.monthly = append(d.monthly, struct{ period, due string }{day.Format("2006-01"), day.Format(time.DateOnly)})
				break
			}
		}
	}
	if t, err := time.ParseInLocation(time.DateOnly, u.cs.SelfInspectionDeadline, u.r.d.Location); err == nil && u.covers(t) {
		d.deadline = u.cs.SelfInspectionDeadline
	}
	return d
}

// selfCheckPrincipals: principals of enterprises without a signed
// self-inspection, 3 days before the monthly day and on it, and on the
// campaign's deadline (one card a day, naming the deadline when it is today).
func selfCheckPrincipals(ctx context.Context, u *run) ([]store.Reminder, error) {
	due := u.selfCheckDue()
	type pending struct {
		ents       []messages.EnterpriseRef
		period     string
		due        string
		atDeadline bool
	}
	byUser := map[string]*pending{}
	add := func(rows []store.SelfCheckRow, period, dueDay string, atDeadline bool) {
		for _, r := range rows {
			if r.UserID == "" {
				continue
			}
			p := byUser[r.UserID]
			if p == nil {
				p = &pending{period: period, due: dueDay, atDeadline: atDeadline}
				byUser[r.UserID] = p
			}
			if atDeadline {
				p.atDeadline, p.due = true, dueDay
			}
			if !slices.ContainsFunc(p.ents, func(e messages.EnterpriseRef) bool { return e.ID == r.EnterpriseID }) {
				p.ents = append(p.ents, messages.EnterpriseRef{ID: r.EnterpriseID, Name: r.Enterprise})
			}
		}
	}
	for _, m := range due.monthly {
		rows, err := u.missingSelfChecks(ctx, m.period, m.period)
		if err != nil {
			return nil, err
		}
		add(rows, m.period, m.due, false)
	}
	if due.deadline != "" {
		rows, err := u.missingSelfChecks(ctx, "", due.deadline[:7])
		if err != nil {
			return nil, err
		}
		add(rows, u.today[:7], due.deadline, true)
	}
	users := sortedKeys(byUser)
	claimed := u.claimedTargets(ctx, KindSelfCheckDue, users)
	var out []store.Reminder
	for _, user := range users {
		if claimed[user] {
			continue
		}
		p := byUser[user]
		rem, err := u.card(KindSelfCheckDue, user, messages.SelfCheckDueCard(p.ents, p.period, p.due, p.atDeadline, u.r.d.PublicURL, ""))
		if err != nil {
			return nil, err
		}
		out = append(out, rem)
	}
	return out, nil
}

// selfCheckTownships: on the campaign's self-inspection deadline, each
// township official gets the enterprises of their township still missing.
func selfCheckTownships(ctx context.Context, u *run) ([]store.Reminder, error) {
	due := u.selfCheckDue()
	if due.deadline == "" {
		return nil, nil
	}
	rows, err := u.missingSelfChecks(ctx, "", due.deadline[:7])
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	rows = slices.Clone(rows)
	officials, err := u.townshipOfficials(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(rows, func(a, b store.SelfCheckRow) int {
		if c := strings.Compare(a.Township, b.Township); c != 0 {
			return c
		}
		return strings.Compare(a.Enterprise, b.Enterprise)
	})
	var out []store.Reminder
	for _, town := range groupBy(rows, func(r store.SelfCheckRow) string { return r.Township }) {
		var lines []messages.SelfCheckMissingLine
		seen := map[int64]int{}
		for _, r := range town {
			if i, ok := seen[r.EnterpriseID]; ok {
				if r.Principal != "" {
					lines[i].Principal = strings.TrimPrefix(lines[i].Principal+"、"+r.Principal, "、")
				}
				continue
			}
			seen[r.EnterpriseID] = len(lines)
			lines = append(lines, messages.SelfCheckMissingLine{Enterprise: r.Enterprise, Principal: r.Principal, Phone: r.Phone})
		}
		text := messages.TownshipSelfCheckDeadlineText(town[0].Township, due.deadline, lines)
		for _, o := range officials[town[0].Township] {
			rem, err := u.text(KindSelfCheckTownship, o.UserID, text)
			if err != nil {
				return nil, err
			}
			out = append(out, rem)
		}
	}
	return out, nil
}

func hazardRef(r store.HazardDueRow) messages.HazardRef {
	return messages.HazardRef{ID: r.HazardID, Enterprise: r.Enterprise, Township: r.Township, Description: r.Description,
		Grade: r.Grade, Status: r.Status, Deadline: r.Deadline}
}

// hazardCards builds one 提交整改 card per principal not reminded yet today.
func hazardCards(ctx context.Context, u *run, kind string, rows []store.HazardDueRow, overdue bool) ([]store.Reminder, error) {
	users := groupBy(rows, func(r store.HazardDueRow) string { return r.UserID })
	targets := make([]string, len(users))
	for i, user := range users {
		targets[i] = user[0].UserID
	}
	claimed := u.claimedTargets(ctx, kind, targets)
	var out []store.Reminder
	for _, user := range users {
		if claimed[user[0].UserID] {
			continue
		}
		var hs []messages.HazardRef
		for _, r := range user {
			if !slices.ContainsFunc(hs, func(h messages.HazardRef) bool { return h.ID == r.HazardID }) {
				hs = append(hs, hazardRef(r))
			}
		}
		rem, err := u.card(kind, user[0].UserID, messages.HazardReminderCard(hs, u.today, overdue, ""))
		if err != nil {
			return nil, err
		}
		out = append(out, rem)
	}
	return out, nil
}

// hazardsDue: principals, 3 days before a hazard's deadline and on the day
// (on the last working day before, when that day is off).
func hazardsDue(ctx context.Context, u *run) ([]store.Reminder, error) {
	rows, err := u.hazardsDueSoon(ctx)
	if err != nil {
		return nil, err
	}
	return hazardCards(ctx, u, KindHazardDue, rows, false)
}

// hazardsOverdue: principals, each working day a hazard is past its deadline.
func hazardsOverdue(ctx context.Context, u *run) ([]store.Reminder, error) {
	rows, err := u.hazardsPastDue(ctx)
	if err != nil {
		return nil, err
	}
	return hazardCards(ctx, u, KindHazardOverdue, rows, true)
}

// hazardsOverdueTownship: township officials, each working day, their
// township's overdue hazards (oldest first, the first TownshipListMax named).
func hazardsOverdueTownship(ctx context.Context, u *run) ([]store.Reminder, error) {
	all, err := u.overdueByTownship(ctx)
	if err != nil || len(all) == 0 {
		return nil, err
	}
	var rows []store.HazardDueRow
	for _, r := range all {
		if r.Rank <= u.plan.TownshipListMax {
			rows = append(rows, r)
		}
	}
	officials, err := u.townshipOfficials(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.Reminder
	for _, town := range groupBy(rows, func(r store.HazardDueRow) string { return r.Township }) {
		hs := make([]messages.HazardRef, len(town))
		for i, r := range town {
			hs[i] = hazardRef(r)
		}
		text := messages.TownshipOverdueText(town[0].Township, u.today, hs, town[0].Total)
		for _, o := range officials[town[0].Township] {
			rem, err := u.text(KindHazardOverdueTownship, o.UserID, text)
			if err != nil {
				return nil, err
			}
			out = append(out, rem)
		}
	}
	return out, nil
}

// hazardsMajorOverdue: each working day an overdue 重大 hazard goes to its
// named tracker and to the officials of its supervising department.
func hazardsMajorOverdue(ctx context.Context, u *run) ([]store.Reminder, error) {
	rows, err := u.majorOverdue(ctx)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	active, err := u.officialsOf(ctx, func(store.Official) bool { return true })
	if err != nil {
		return nil, err
	}
	type list struct {
		hs       []messages.HazardRef
		seen     map[int64]bool
		tracking bool
	}
	byUser := map[string]*list{}
	add := func(user string, r store.HazardDueRow, tracking bool) {
		l := byUser[user]
		if l == nil {
			l = &list{seen: map[int64]bool{}}
			byUser[user] = l
		}
		l.tracking = l.tracking || tracking
		if !l.seen[r.HazardID] {
			l.seen[r.HazardID] = true
			l.hs = append(l.hs, hazardRef(r))
		}
	}
	for _, r := range rows {
		for _, o := range active {
			switch {
			case r.Tracker != "" && strings.EqualFold(o.UserID, r.Tracker):
				add(o.UserID, r, true)
			case o.Role == safetybot.RoleDepartment && r.Department != "" && o.Department == r.Department:
				add(o.UserID, r, false)
			}
		}
	}
	var out []store.Reminder
	for _, user := range sortedKeys(byUser) {
		l := byUser[user]
		rem, err := u.text(KindHazardMajorOverdue, user, messages.MajorOverdueText(u.today, l.hs, l.tracking))
		if err != nil {
			return nil, err
		}
		out = append(out, rem)
	}
	return out, nil
}

// reviewsPending: township officials whose township has rectifications
// waiting for review more than ReviewAfterWorkingDays working days (counted
// after the day of submission).
func reviewsPending(ctx context.Context, u *run) ([]store.Reminder, error) {
	n := max(u.plan.ReviewAfterWorkingDays, 0)
	// Submitted before the (n+1)-th working day back from today (today
	// counted first): more than n working days have passed since.
	rows, err := u.pendingReviews(ctx)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	officials, err := u.townshipOfficials(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(rows, func(a, b store.HazardDueRow) int { return strings.Compare(a.Township, b.Township) })
	var out []store.Reminder
	for _, town := range groupBy(rows, func(r store.HazardDueRow) string { return r.Township }) {
		lines := make([]messages.ReviewLine, len(town))
		for i, r := range town {
			since, _ := time.Parse(time.RFC3339, *r.Since)
			since = since.In(u.r.d.Location)
			lines[i] = messages.ReviewLine{Hazard: hazardRef(r), Since: since.Format(time.DateOnly),
				Days: u.r.d.Calendar.WorkingDaysBetween(since, u.day)}
		}
		text := messages.ReviewPendingText(lines, n)
		for _, o := range officials[town[0].Township] {
			rem, err := u.text(KindReviewPending, o.UserID, text)
			if err != nil {
				return nil, err
			}
			out = append(out, rem)
		}
	}
	return out, nil
}

// ledInspections: on the first working day from the LedCheckDay (20th) of
// the month, leaders below the monthly target of led inspections (S5).
func ledInspections(ctx context.Context, u *run) ([]store.Reminder, error) {
	y, m := u.day.Year(), u.day.Month()
	check := u.date(y, m, min(u.plan.LedCheckDay, u.date(y, m+1, 0).Day()))
	for !u.r.d.Calendar.IsWorkingDay(check) {
		check = check.AddDate(0, 0, 1)
	}
	if !check.Equal(u.day) {
		return nil, nil
	}
	target := u.cs.LedInspectionTarget
	rows, err := u.r.d.Store.LedInspectionCounts(ctx, u.date(y, m, 1).Format(time.DateOnly), u.today)
	if err != nil {
		return nil, err
	}
	var out []store.Reminder
	for _, r := range rows {
		if r.Led >= target {
			continue
		}
		rem, err := u.text(KindLedInspections, r.UserID, messages.LedInspectionText(u.today[:7], r.Led, target))
		if err != nil {
			return nil, err
		}
		out = append(out, rem)
	}
	return out, nil
}

// dailyDigest: every township official, each working day: sign-off and
// self-inspection against the total, open hazards by grade, overdue count and
// the oldest overdue ones.
func dailyDigest(ctx context.Context, u *run) ([]store.Reminder, error) {
	officials, err := u.townshipOfficials(ctx)
	if err != nil || len(officials) == 0 {
		return nil, err
	}
	counts, err := u.townshipCounts(ctx)
	if err != nil {
		return nil, err
	}
	open, err := u.openByTownship(ctx)
	if err != nil {
		return nil, err
	}
	top, err := u.overdueByTownship(ctx)
	if err != nil {
		return nil, err
	}
	// Signed: addressed by a letter and not behind on any (the compliance
	// queries' definition), from the shared scan of unsigned letters.
	unsigned, err := u.unsignedLetters(ctx)
	if err != nil {
		return nil, err
	}
	behind := map[string]map[int64]bool{}
	for _, r := range unsigned {
		if behind[r.Township] == nil {
			behind[r.Township] = map[int64]bool{}
		}
		behind[r.Township][r.EnterpriseID] = true
	}
	byTown := map[string]*messages.Digest{}
	for _, c := range counts {
		byTown[c.Township] = &messages.Digest{Township: c.Township, Enterprises: c.Enterprises,
			Signed: c.Addressed - len(behind[c.Township]), Submitted: c.SelfInspected}
	}
	for _, o := range open {
		if d := byTown[o.Township]; d != nil {
			d.OpenGeneral, d.OpenMajor, d.Overdue = o.General, o.Major, o.Overdue
		}
	}
	for _, r := range top {
		if d := byTown[r.Township]; d != nil && r.Rank <= u.plan.DigestTop {
			d.TopOverdue = append(d.TopOverdue, hazardRef(r))
		}
	}
	var out []store.Reminder
	for _, town := range sortedKeys(officials) {
		d := byTown[town]
		if d == nil {
			d = &messages.Digest{Township: town}
		}
		text := messages.DigestText(u.today, *d)
		for _, o := range officials[town] {
			rem, err := u.text(KindDailyDigest, o.UserID, text)
			if err != nil {
				return nil, err
			}
			out = append(out, rem)
		}
	}
	return out, nil
}

// groupBy splits rows sorted by key into runs of equal key.
func groupBy[T any](rows []T, key func(T) string) [][]T {
	var out [][]T
	for i, r := range rows {
		if i == 0 || key(rows[i-1]) != key(r) {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], r)
	}
	return out
}

// civilMidnight is midnight of t's date in loc.
func civilMidnight(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}
