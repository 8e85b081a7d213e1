package handlers

import (
	"context"
	"time"

	"safetybot"
	"safetybot/messages"
	"safetybot/store"
)

// The paged lists. Each fetches the next lines from where the list stands;
// show decides how many fit in one message. Officials' lists are keyset
// paged and take their totals from the progress snapshot; a principal's
// lists are short, counted exactly.

func header(h string) func(int) string { return func(int) string { return h } }

// keyPage is the store page of a keyset list continuing from st.
func keyPage(sc store.Scope, st moreState) store.Page {
	return store.Page{After: st.After, Limit: pageFetch, Count: isEnterpriseSide(sc.Role)}
}

func (h *queries) mineList(ctx context.Context, sc store.Scope, day string, st moreState) (listPart, error) {
	ents, err := h.store.MyEnterprises(ctx, sc)
	if err != nil {
		return listPart{}, err
	}
	due, err := h.selfInspectionDue(ctx, day)
	if err != nil {
		return listPart{}, err
	}
	var blocks []string
	for i := st.Shown; i < len(ents) && i < st.Shown+pageFetch; i++ {
		status, err := h.store.EnterpriseStatusInScope(ctx, sc, ents[i].ID, day)
		if err != nil {
			return listPart{}, err
		}
		blocks = append(blocks, messages.MyEnterpriseText(statusView(status), day, due))
	}
	return listPart{header: header("您的情况（" + messages.ShortDate(day) + "）："), lines: plain(blocks), total: len(ents),
		empty: messages.NoEnterprisesYet}, nil
}

func hazardLines(rows []store.HazardLine, offset int, day string, withEnterprise, withTownship bool) []pageLine {
	lines := make([]pageLine, len(rows))
	for i, r := range rows {
		key := store.Cursor{Deadline: "9999-12-31", ID: r.ID}
		if r.Deadline != nil {
			key.Deadline = *r.Deadline
		}
		lines[i] = pageLine{text: messages.HazardLineText(offset+i+1, r.Enterprise, r.Township, r.Description, r.Grade, r.Status, deref(r.Deadline), day, withEnterprise, withTownship), key: &key}
	}
	return lines
}

func enterpriseLines(rows []store.EnterpriseLine, offset int, withTownship bool, detail func(store.EnterpriseLine) string) []pageLine {
	lines := make([]pageLine, len(rows))
	for i, r := range rows {
		d := r.Detail
		if detail != nil {
			d = detail(r)
		}
		lines[i] = pageLine{text: messages.EnterpriseLineText(offset+i+1, r.Name, r.Township, r.Principal, r.Phone, d, withTownship),
			key: &store.Cursor{Township: r.Township, Name: r.Name, ID: r.ID}}
	}
	return lines
}

func (h *queries) hazardsList(ctx context.Context, sc store.Scope, day string, st moreState) (listPart, error) {
	if isEnterpriseSide(sc.Role) {
		rows, total, err := h.store.Hazards(ctx, sc, store.Page{Offset: st.Shown, Limit: pageFetch, Count: true})
		if err != nil {
			return listPart{}, err
		}
		ents, err := h.store.MyEnterprises(ctx, sc)
		if err != nil {
			return listPart{}, err
		}
		lines := hazardLines(rows, st.Shown, day, len(ents) > 1, false)
		for i := range lines {
			lines[i].key = nil // paged by offset
		}
		return listPart{header: func(total int) string {
			return messages.ListHeader("", "您企业的隐患共", total, "条（未整改的在前）")
		},
			lines: lines, total: total, empty: "您的企业目前没有登记隐患。"}, nil
	}
	rows, next, total, err := h.store.OpenHazards(ctx, sc, keyPage(sc, st))
	if err != nil {
		return listPart{}, err
	}
	return listPart{header: func(total int) string { return messages.ListHeader(scopeTitle(sc), " 未整改隐患", total, "条") },
		lines: hazardLines(rows, st.Shown, day, true, sc.Role != safetybot.RoleTownship), next: next, total: total,
		figure: func(p store.Progress) int { return p.Open }, empty: scopeTitle(sc) + "目前没有未整改的隐患。"}, nil
}

func (h *queries) cityList(ctx context.Context, sc store.Scope, day string, st moreState) (listPart, error) {
	rows, at, err := h.store.ProgressSnapshot(ctx, sc, day, progressMaxAge)
	if err != nil {
		return listPart{}, err
	}
	var lines []string
	for i := st.Shown; i < len(rows); i++ {
		lines = append(lines, messages.CityLine(rows[i].Township, figures(rows[i])))
	}
	return listPart{header: header(messages.CityHeader(day, at.In(h.loc).Format("15:04"), figures(sumProgress(rows)))),
		lines: plain(lines), total: len(rows), empty: "还没有登记企业。"}, nil
}

func (h *queries) unsignedList(ctx context.Context, sc store.Scope, day string, st moreState) (listPart, error) {
	rows, next, total, err := h.store.UnsignedEnterprises(ctx, sc, keyPage(sc, st))
	if err != nil {
		return listPart{}, err
	}
	return listPart{header: func(total int) string {
		return messages.ListHeader(scopeTitle(sc), " 未签收公开信的企业", total, "家")
	},
		lines: enterpriseLines(rows, st.Shown, sc.Role != safetybot.RoleTownship, nil), next: next, total: total,
		figure: func(p store.Progress) int { return p.Enterprises - p.Signed }, empty: scopeTitle(sc) + "的企业都已签收公开信。"}, nil
}

func (h *queries) noSelfList(ctx context.Context, sc store.Scope, day string, st moreState) (listPart, error) {
	rows, next, total, err := h.store.NotSelfInspected(ctx, sc, day, keyPage(sc, st))
	if err != nil {
		return listPart{}, err
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
	return listPart{header: func(total int) string {
		return messages.ListHeader(scopeTitle(sc), " "+t.Format("1")+"月未完成自查的企业", total, "家")
	}, lines: enterpriseLines(rows, st.Shown, sc.Role != safetybot.RoleTownship, detail), next: next, total: total,
		figure: func(p store.Progress) int { return p.Enterprises - p.SelfInspected }, empty: scopeTitle(sc) + "的企业本月都已完成自查。"}, nil
}

func (h *queries) overdueList(ctx context.Context, sc store.Scope, day string, st moreState) (listPart, error) {
	rows, next, total, err := h.store.OverdueHazards(ctx, sc, day, keyPage(sc, st))
	if err != nil {
		return listPart{}, err
	}
	return listPart{header: func(total int) string {
		return messages.ListHeader(scopeTitle(sc), " 逾期未整改隐患", total, "条")
	},
		lines: hazardLines(rows, st.Shown, day, true, sc.Role != safetybot.RoleTownship), next: next, total: total,
		figure: func(p store.Progress) int { return p.Overdue }, empty: scopeTitle(sc) + "目前没有逾期隐患。"}, nil
}

func (h *queries) noInspList(ctx context.Context, sc store.Scope, day string, st moreState) (listPart, error) {
	rows, next, total, err := h.store.NotInspectedSince(ctx, sc, store.InspectionCutoff(day), keyPage(sc, st))
	if err != nil {
		return listPart{}, err
	}
	detail := func(r store.EnterpriseLine) string { return messages.NotInspectedDetail(deref(r.Date)) }
	return listPart{header: func(total int) string {
		return messages.ListHeader(scopeTitle(sc), " 两年内未检查的企业", total, "家")
	},
		lines: enterpriseLines(rows, st.Shown, sc.Role != safetybot.RoleTownship, detail), next: next, total: total,
		figure: func(p store.Progress) int { return p.NotInspected }, empty: scopeTitle(sc) + "的企业两年内都检查过。"}, nil
}

func (h *queries) majorList(ctx context.Context, sc store.Scope, day string, st moreState) (listPart, error) {
	rows, next, total, err := h.store.MajorHazards(ctx, sc, keyPage(sc, st))
	if err != nil {
		return listPart{}, err
	}
	lines := hazardLines(rows, st.Shown, day, true, sc.Role != safetybot.RoleTownship)
	for i, r := range rows {
		if r.Tracker == sc.UserID {
			lines[i].text += "［我跟踪］"
		}
	}
	// Tracked hazards outside the scope are not in the snapshot: the
	// total is the scope's open major hazards at least.
	return listPart{header: func(total int) string {
		return messages.ListHeader("", "未整改的重大隐患（含我跟踪的）", total, "条")
	},
		lines: lines, next: next, total: total, figure: func(p store.Progress) int { return p.MajorOpen },
		empty: "目前没有您需要跟踪的重大隐患。"}, nil
}

func (h *queries) tasksList(ctx context.Context, sc store.Scope, day string, st moreState) (listPart, error) {
	rows, total, err := h.store.SpotCheckTasks(ctx, sc, store.Page{Offset: st.Shown, Limit: pageFetch, Count: true})
	if err != nil {
		return listPart{}, err
	}
	lines := make([]string, len(rows))
	for i, r := range rows {
		lines[i] = messages.SpotCheckLine(st.Shown+i+1, r.Enterprise, r.Township, r.SpotCheckID, r.Official, sc.Role == safetybot.RoleOffice)
	}
	return listPart{header: func(total int) string { return messages.ListHeader("", "抽查任务", total, "家") },
		lines: plain(lines), total: total, empty: "您目前没有抽查任务。"}, nil
}

func (h *queries) ledList(ctx context.Context, sc store.Scope, day string, st moreState) (listPart, error) {
	rows, err := h.store.LedInspections(ctx, sc, day)
	if err != nil {
		return listPart{}, err
	}
	cs, err := h.store.ActiveCampaignSettings(ctx)
	if err != nil {
		return listPart{}, err
	}
	head := messages.LedHeader(day, len(rows), cs.LedInspectionTarget)
	var lines []string
	for i := st.Shown; i < len(rows); i++ {
		lines = append(lines, messages.LedLine(i+1, rows[i].InspectedOn, rows[i].Enterprise, rows[i].Township, rows[i].Hazards))
	}
	return listPart{header: header(head), lines: plain(lines), total: len(rows), empty: head + "\n发送“带队检查”登记一次。"}, nil
}
