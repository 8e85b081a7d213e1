package admin

import (
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"safetybot"
	"safetybot/report"
	"safetybot/store"
)

// pageSize is how many rows a list page shows.
const pageSize = 100

// pager is one page of a list.
type pager struct {
	Page, Pages, Total int
	Prev, Next         template.URL // query strings, "" when there is none
}

func paginate[T any](r *http.Request, rows []T) ([]T, pager) {
	p := pager{Total: len(rows), Pages: max(1, (len(rows)+pageSize-1)/pageSize)}
	p.Page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	p.Page = min(max(p.Page, 1), p.Pages)
	link := func(n int) template.URL {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		return template.URL(q.Encode())
	}
	if p.Page > 1 {
		p.Prev = link(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.Next = link(p.Page + 1)
	}
	start := (p.Page - 1) * pageSize
	return rows[start:min(start+pageSize, len(rows))], p
}

// bar is one bar of the progress chart.
type bar struct {
	Metric, Label string
	Rate          float64
	Part, Whole   int
}

type chartRow struct {
	Line report.TownshipSummary
	Bars []bar
}

func bars(l report.TownshipSummary) []bar {
	return []bar{
		{"sign", "公开信签收率", l.LetterRate, l.LetterSigned, l.Enterprises},
		{"self", "本月自查率", l.MonthSubmittedRate, l.MonthSubmitted, l.Enterprises},
		{"fix", "隐患整改率", l.Hazards.Rate, l.Hazards.Rectified, l.Hazards.Found},
	}
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	rep, err := s.summary(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var rows []chartRow
	for _, l := range rep.Townships {
		rows = append(rows, chartRow{Line: l, Bars: bars(l)})
	}
	s.render(w, r, http.StatusOK, "dashboard", view{Title: "工作进度", Nav: "progress", Data: map[string]any{
		"Period": rep.Period, "Rows": rows, "City": chartRow{Line: rep.City, Bars: bars(rep.City)}}})
}

// Enterprise status filters of the list page.
var enterpriseFilters = []struct{ Key, Label string }{
	{"unsigned", "公开信未签收"},
	{"signed", "公开信已签收"},
	{"nosub", "本月未自查"},
	{"nosign", "本月自查未签字"},
	{"open", "有未整改隐患"},
	{"overdue", "有逾期隐患"},
	{"uninspected", "活动期未检查"},
	{"noinsp2y", "两年未检查"},
}

func matchStatus(e report.EnterpriseStatus, status string) bool {
	switch status {
	case "unsigned":
		return e.Letter != report.LetterSigned
	case "signed":
		return e.Letter == report.LetterSigned
	case "nosub":
		return !e.MonthSubmitted()
	case "nosign":
		return !e.MonthSigned()
	case "open":
		return e.OpenHazards > 0
	case "overdue":
		return e.OverdueHazards > 0
	case "uninspected":
		return e.Inspections == 0
	case "noinsp2y":
		return e.NotInspected2y
	}
	return true
}

func (s *Server) enterprises(w http.ResponseWriter, r *http.Request) {
	rep, err := s.summary(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	township, category, key, status := q.Get("t"), q.Get("category"), q.Get("key"), q.Get("status")
	search := strings.TrimSpace(q.Get("q"))
	var line *report.TownshipSummary
	if township != "" {
		l, ok := rep.TownshipLine(township)
		if !ok || township == report.CityLabel {
			s.fail(w, r, safetybot.Errorf(safetybot.ENOTFOUND, "没有名为“%s”的镇街", township))
			return
		}
		line = &l
	}
	var list []report.EnterpriseStatus
	for _, e := range rep.Enterprises {
		switch {
		case township != "" && e.Township != township,
			category != "" && e.Category != category,
			key == "1" && !e.KeyUnit, key == "0" && e.KeyUnit,
			!matchStatus(e, status),
			search != "" && !strings.Contains(e.Name, search) && !strings.HasPrefix(e.CreditCode, strings.ToUpper(search)):
			continue
		}
		list = append(list, e)
	}
	page, p := paginate(r, list)
	title := "企业"
	if township != "" {
		title = township
	}
	s.render(w, r, http.StatusOK, "enterprises", view{Title: title, Nav: "enterprises", Data: map[string]any{
		"Township": township, "Line": line, "Bars": barsOf(line), "Category": category, "Key": key, "Status": status, "Q": search,
		"Rows": page, "Pager": p, "Townships": rep.Townships, "Categories": safetybot.Categories,
		"Filters": enterpriseFilters, "Month": rep.Period.Month}})
}

func barsOf(l *report.TownshipSummary) []bar {
	if l == nil {
		return nil
	}
	return bars(*l)
}

func (s *Server) hazards(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	township, status, grade := q.Get("t"), q.Get("status"), q.Get("grade")
	search := strings.TrimSpace(q.Get("q"))
	if status != "" && !slices.Contains(report.HazardStatuses, status) {
		s.fail(w, r, safetybot.Errorf(safetybot.EINVALID, "隐患状态“%s”不正确", status))
		return
	}
	rep, err := s.summary(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var townships []string
	for _, l := range rep.Townships {
		townships = append(townships, l.Township)
	}
	if township != "" && !slices.Contains(townships, township) {
		s.fail(w, r, safetybot.Errorf(safetybot.ENOTFOUND, "没有名为“%s”的镇街", township))
		return
	}
	var scope, list []report.HazardLine
	for _, h := range rep.Hazards {
		if township != "" && h.Township != township {
			continue
		}
		scope = append(scope, h)
		if grade != "" && h.Grade != grade || status != "" && !h.MatchStatus([]string{status}) {
			continue
		}
		if search != "" && !strings.Contains(h.Enterprise, search) && !strings.Contains(h.Description, search) &&
			!strings.HasPrefix(h.CreditCode, strings.ToUpper(search)) && strconv.FormatInt(h.ID, 10) != search {
			continue
		}
		list = append(list, h)
	}
	page, p := paginate(r, list)
	s.render(w, r, http.StatusOK, "hazards", view{Title: "隐患台账", Nav: "hazards", Data: map[string]any{
		"Township": township, "Status": status, "Grade": grade, "Q": search, "Rows": page, "Pager": p,
		"Townships": townships, "Statuses": report.HazardStatuses, "Grades": report.Grades, "Total": report.CountHazards(scope), "Today": rep.Period.Today}})
}

// event is one step of a hazard's history for the page.
type event struct {
	At              time.Time
	Actor, From, To string
	Note, Deadline  string
	Photos          []string
}

func (s *Server) hazard(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, r, safetybot.Errorf(safetybot.ENOTFOUND, "没有这项隐患"))
		return
	}
	var (
		h      store.ReportHazard
		e      store.ReportEnterprise
		events []store.ReportHazardEvent
	)
	err = s.d.Store.ReportSnapshot(r.Context(), func(ctx context.Context) error {
		var err error
		if h, err = s.d.Store.ReportHazard(ctx, id); err != nil {
			if store.IsNotFound(err) {
				return safetybot.Errorf(safetybot.ENOTFOUND, "没有编号为 %d 的隐患", id)
			}
			return err
		}
		if e, err = s.d.Store.ReportEnterprise(ctx, h.EnterpriseID); err != nil {
			return err
		}
		events, err = s.d.Store.ReportHazardEvents(ctx, id)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var steps []event
	for _, ev := range events {
		steps = append(steps, event{At: ev.At.In(s.d.Location), Actor: ev.Actor, From: ev.FromStatus, To: ev.ToStatus, Note: ev.Note,
			Deadline: deref(ev.Deadline), Photos: photoList(ev.Photos)})
	}
	today := s.d.Clock.Now().In(s.d.Location).Format("2006-01-02")
	deadline := deref(h.Deadline)
	overdue := safetybot.HazardStatus(h.Status).Open() && deadline != "" && deadline < today
	var closed string
	if h.ClosedAt != nil {
		closed = h.ClosedAt.In(s.d.Location).Format("2006-01-02 15:04")
	}
	s.render(w, r, http.StatusOK, "hazard", view{Title: "隐患 " + strconv.FormatInt(id, 10), Nav: "hazards", Data: map[string]any{
		"H": h, "E": e, "Deadline": deadline, "Overdue": overdue, "Found": h.FoundAt.In(s.d.Location).Format("2006-01-02 15:04"),
		"Closed": closed, "Photos": photoList(h.Photos), "Events": steps}})
}

// photoList keeps the valid SHA-256 names of a JSON photo list.
func photoList(raw string) []string {
	var list []string
	json.Unmarshal([]byte(raw), &list)
	return slices.DeleteFunc(list, func(s string) bool { return !report.ValidPhotoSHA(s) })
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// photo serves a stored photo to a logged-in admin.
func (s *Server) photo(w http.ResponseWriter, r *http.Request) {
	report.ServePhoto(w, r, s.d.DataDir, r.PathValue("sha"), "private, max-age=86400, immutable")
}
