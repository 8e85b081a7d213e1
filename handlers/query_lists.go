package handlers

import (
	"context"
	"time"

	"safetybot"
	"safetybot/messages"
	"safetybot/store"
)

// The paged lists. Each renders the lines of one fetch; show decides how many
// fit in one message.

func (h *queries) mineList(ctx context.Context, sc store.Scope, day string, offset int) (string, []string, int, string, error) {
	ents, err := h.store.MyEnterprises(ctx, sc)
	if err != nil {
		return "", nil, 0, "", err
	}
	due, err := h.selfInspectionDue(ctx, day)
	if err != nil {
		return "", nil, 0, "", err
	}
	var blocks []string
	for i := offset; i < len(ents) && i < offset+pageFetch; i++ {
		st, err := h.store.EnterpriseStatusInScope(ctx, sc, ents[i].ID, day)
		if err != nil {
			return "", nil, 0, "", err
		}
		blocks = append(blocks, messages.MyEnterpriseText(statusView(st), day, due))
	}
	return "您的情况（" + messages.ShortDate(day) + "）：", blocks, len(ents), messages.NoEnterprisesYet, nil
}

func (h *queries) hazardsList(ctx context.Context, sc store.Scope, day string, offset int) (string, []string, int, string, error) {
	pg := store.Page{Offset: offset, Limit: pageFetch}
	if isEnterpriseSide(sc.Role) {
		rows, total, err := h.store.Hazards(ctx, sc, pg)
		if err != nil {
			return "", nil, 0, "", err
		}
		ents, err := h.store.MyEnterprises(ctx, sc)
		if err != nil {
			return "", nil, 0, "", err
		}
		header := messages.ListHeader("", "您企业的隐患共", total, "条（未整改的在前）")
		return header, hazardLines(rows, offset, day, len(ents) > 1, false), total, "您的企业目前没有登记隐患。", nil
	}
	rows, total, err := h.store.OpenHazards(ctx, sc, pg)
	if err != nil {
		return "", nil, 0, "", err
	}
	header := messages.ListHeader(scopeTitle(sc), " 未整改隐患", total, "条")
	return header, hazardLines(rows, offset, day, true, sc.Role != safetybot.RoleTownship), total, scopeTitle(sc) + "目前没有未整改的隐患。", nil
}

func hazardLines(rows []store.HazardLine, offset int, day string, withEnterprise, withTownship bool) []string {
	lines := make([]string, len(rows))
	for i, r := range rows {
		lines[i] = messages.HazardLineText(offset+i+1, r.Enterprise, r.Township, r.Description, r.Grade, r.Status, deref(r.Deadline), day, withEnterprise, withTownship)
	}
	return lines
}

func enterpriseLines(rows []store.EnterpriseLine, offset int, withTownship bool, detail func(store.EnterpriseLine) string) []string {
	lines := make([]string, len(rows))
	for i, r := range rows {
		d := r.Detail
		if detail != nil {
			d = detail(r)
		}
		lines[i] = messages.EnterpriseLineText(offset+i+1, r.Name, r.Township, r.Principal, r.Phone, d, withTownship)
	}
	return lines
}

func (h *queries) cityList(ctx context.Context, sc store.Scope, day string, offset int) (string, []string, int, string, error) {
	rows, err := h.store.ProgressByTownship(ctx, sc, day)
	if err != nil {
		return "", nil, 0, "", err
	}
	var total store.Progress
	for _, r := range rows {
		total.Enterprises += r.Enterprises
		total.Signed += r.Signed
		total.SelfInspected += r.SelfInspected
		total.Hazards += r.Hazards
		total.Rectified += r.Rectified
		total.Open += r.Open
		total.Overdue += r.Overdue
		total.Major += r.Major
		total.MajorOpen += r.MajorOpen
	}
	var lines []string
	for i := offset; i < len(rows); i++ {
		lines = append(lines, messages.CityLine(rows[i].Township, figures(rows[i])))
	}
	return messages.CityHeader(day, figures(total)), lines, len(rows), "还没有登记企业。", nil
}

func (h *queries) unsignedList(ctx context.Context, sc store.Scope, day string, offset int) (string, []string, int, string, error) {
	rows, total, err := h.store.UnsignedEnterprises(ctx, sc, store.Page{Offset: offset, Limit: pageFetch})
	if err != nil {
		return "", nil, 0, "", err
	}
	return messages.ListHeader(scopeTitle(sc), " 未签收公开信的企业", total, "家"),
		enterpriseLines(rows, offset, sc.Role != safetybot.RoleTownship, nil), total, scopeTitle(sc) + "的企业都已签收公开信。", nil
}

func (h *queries) noSelfList(ctx context.Context, sc store.Scope, day string, offset int) (string, []string, int, string, error) {
	rows, total, err := h.store.NotSelfInspected(ctx, sc, day, store.Page{Offset: offset, Limit: pageFetch})
	if err != nil {
		return "", nil, 0, "", err
	}
	detail := func(r store.EnterpriseLine) string {
		switch r.Detail {
		case safetybot.SubmissionAwaitingSignature:
			return "待负责人签字"
		case safetybot.SubmissionReturned:
			return "被退回待补正"
		}
		return ""
	}
	t, _ := time.Parse("2006-01-02", day)
	return messages.ListHeader(scopeTitle(sc), " "+t.Format("1")+"月未完成自查的企业", total, "家"),
		enterpriseLines(rows, offset, sc.Role != safetybot.RoleTownship, detail), total, scopeTitle(sc) + "的企业本月都已完成自查。", nil
}

func (h *queries) overdueList(ctx context.Context, sc store.Scope, day string, offset int) (string, []string, int, string, error) {
	rows, total, err := h.store.OverdueHazards(ctx, sc, day, store.Page{Offset: offset, Limit: pageFetch})
	if err != nil {
		return "", nil, 0, "", err
	}
	return messages.ListHeader(scopeTitle(sc), " 逾期未整改隐患", total, "条"),
		hazardLines(rows, offset, day, true, sc.Role != safetybot.RoleTownship), total, scopeTitle(sc) + "目前没有逾期隐患。", nil
}

// twoYears is the S9 window: places not inspected in the last two years.
const twoYears = 730

func (h *queries) noInspList(ctx context.Context, sc store.Scope, day string, offset int) (string, []string, int, string, error) {
	t, _ := time.Parse("2006-01-02", day)
	cutoff := t.AddDate(0, 0, -twoYears).Format("2006-01-02")
	rows, total, err := h.store.NotInspectedSince(ctx, sc, cutoff, store.Page{Offset: offset, Limit: pageFetch})
	if err != nil {
		return "", nil, 0, "", err
	}
	detail := func(r store.EnterpriseLine) string { return messages.NotInspectedDetail(deref(r.Date)) }
	return messages.ListHeader(scopeTitle(sc), " 两年内未检查的企业", total, "家"),
		enterpriseLines(rows, offset, sc.Role != safetybot.RoleTownship, detail), total, scopeTitle(sc) + "的企业两年内都检查过。", nil
}

func (h *queries) majorList(ctx context.Context, sc store.Scope, day string, offset int) (string, []string, int, string, error) {
	rows, total, err := h.store.MajorHazards(ctx, sc, store.Page{Offset: offset, Limit: pageFetch})
	if err != nil {
		return "", nil, 0, "", err
	}
	lines := hazardLines(rows, offset, day, true, sc.Role != safetybot.RoleTownship)
	for i, r := range rows {
		if r.Tracker == sc.UserID {
			lines[i] += "［我跟踪］"
		}
	}
	return messages.ListHeader("", "未整改的重大隐患（含我跟踪的）", total, "条"), lines, total, "目前没有您需要跟踪的重大隐患。", nil
}

func (h *queries) tasksList(ctx context.Context, sc store.Scope, day string, offset int) (string, []string, int, string, error) {
	rows, total, err := h.store.SpotCheckTasks(ctx, sc, store.Page{Offset: offset, Limit: pageFetch})
	if err != nil {
		return "", nil, 0, "", err
	}
	lines := make([]string, len(rows))
	for i, r := range rows {
		lines[i] = messages.SpotCheckLine(offset+i+1, r.Enterprise, r.Township, r.SpotCheckID, r.Official, sc.Role == safetybot.RoleOffice)
	}
	return messages.ListHeader("", "抽查任务", total, "家"), lines, total, "您目前没有抽查任务。", nil
}

func (h *queries) ledList(ctx context.Context, sc store.Scope, day string, offset int) (string, []string, int, string, error) {
	rows, err := h.store.LedInspections(ctx, sc, day)
	if err != nil {
		return "", nil, 0, "", err
	}
	cs, err := h.store.ActiveCampaignSettings(ctx)
	if err != nil {
		return "", nil, 0, "", err
	}
	header := messages.LedHeader(day, len(rows), cs.LedInspectionTarget)
	var lines []string
	for i := offset; i < len(rows); i++ {
		lines = append(lines, messages.LedLine(i+1, rows[i].InspectedOn, rows[i].Enterprise, rows[i].Township, rows[i].Hazards))
	}
	return header, lines, len(rows), header + "\n发送“带队检查”登记一次。", nil
}
