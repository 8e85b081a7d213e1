package handlers

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"safetybot"
	"safetybot/messages"
	"safetybot/store"
)

// queries answers the compliance queries in chat (rules on Chinese words and
// menu keys, no language model). Every answer comes from a scoped store query:
// the store adds the WHERE clauses of the asker's scope itself.
type queries struct {
	store *store.Store
	loc   *time.Location
	lists map[string]listFunc
}

// Conversation kinds of the queries.
const (
	convMore      = "query_more" // a paged list: 更多 shows the next page
	convPickQuery = "query_pick" // 企业 名称 matched several: pick by number
)

// moreState is where a paged list stands: how many lines were shown, and
// for keyset lists the key of the last one.
type moreState struct {
	List  string        `json:"list"`
	Shown int           `json:"shown"`
	After *store.Cursor `json:"after,omitempty"`
}

type pickQuery struct {
	IDs []int64 `json:"ids"`
}

// A listFunc fetches the next lines of a list from where st says it stands.
type listFunc func(ctx context.Context, sc store.Scope, day string, st moreState) (listPart, error)

// listPart is what a listFunc fetched.
type listPart struct {
	header func(total int) string // the list's header for its total (-1: unknown)
	lines  []pageLine
	next   *store.Cursor // keyset lists: where the list continues after the last line; nil at its end
	total  int           // the whole list's length, -1 when not counted
	// figure, when set, gives the total from the progress snapshot for a
	// list whose total was not counted.
	figure func(store.Progress) int
	empty  string // the answer when the list is empty
}

// pageLine is one line of a list and, for keyset lists, its key.
type pageLine struct {
	text string
	key  *store.Cursor
}

func plain(texts []string) []pageLine {
	out := make([]pageLine, len(texts))
	for i, t := range texts {
		out[i] = pageLine{text: t}
	}
	return out
}

// Lists that can be paged.
const (
	listMine     = "mine"
	listHazards  = "hazards"
	listCity     = "city"
	listUnsigned = "unsigned"
	listNoSelf   = "noself"
	listOverdue  = "overdue"
	listNoInsp   = "noinsp"
	listMajor    = "major"
	listTasks    = "tasks"
	listLed      = "led"
)

// pageFetch is how many rows a page fetches: more than fit in one message.
const pageFetch = 40

// progressMaxAge is how old officials' progress figures (and the totals of
// their long lists) may be: they come from a snapshot recomputed at most
// this often, so that no question aggregates every hazard of the city.
const progressMaxAge = time.Minute

func newQueries(s *store.Store, loc *time.Location) *queries {
	h := &queries{store: s, loc: loc}
	h.lists = map[string]listFunc{
		listMine:     h.mineList,
		listHazards:  h.hazardsList,
		listCity:     h.cityList,
		listUnsigned: h.unsignedList,
		listNoSelf:   h.noSelfList,
		listOverdue:  h.overdueList,
		listNoInsp:   h.noInspList,
		listMajor:    h.majorList,
		listTasks:    h.tasksList,
		listLed:      h.ledList,
	}
	return h
}

// today is the campaign day as YYYY-MM-DD.
func (h *queries) today() string { return h.store.Now().In(h.loc).Format("2006-01-02") }

// scopeOf returns the asker's scope; ok is false (with the answer to give)
// for someone not in the roster.
func scopeOf(req *Request) (store.Scope, messages.Reply, bool) {
	if req.Person == nil {
		return store.Scope{}, messages.Reply{messages.Text(messages.NotRegistered)}, false
	}
	return store.ScopeOf(*req.Person), nil, true
}

func isEnterpriseSide(r safetybot.Role) bool {
	return r == safetybot.RolePrincipal || r == safetybot.RoleSafetyOfficer
}

// scopeTitle names the asker's area in headers.
func scopeTitle(sc store.Scope) string {
	switch sc.Role {
	case safetybot.RoleTownship:
		return sc.Township
	case safetybot.RoleDepartment:
		return sc.Department + "监管企业"
	case safetybot.RoleOffice:
		return "全市"
	}
	return ""
}

// show renders the next page of a list (from st) and remembers where it
// ends, so that 更多 continues it.
func (h *queries) show(ctx context.Context, req *Request, list string, st moreState) (messages.Reply, error) {
	sc, reply, ok := scopeOf(req)
	if !ok {
		return reply, nil
	}
	day := h.today()
	part, err := h.lists[list](ctx, sc, day, st)
	if err != nil {
		return nil, err
	}
	if len(part.lines) == 0 {
		if err := h.forgetMore(ctx, req.In.From); err != nil {
			return nil, err
		}
		if st.Shown > 0 {
			return messages.Reply{messages.Text(messages.NoMore)}, nil
		}
		return messages.Reply{messages.Text(part.empty)}, nil
	}
	total := part.total
	switch {
	case total >= 0:
	case part.next == nil:
		total = st.Shown + len(part.lines) // the list ends with these lines
	case part.figure != nil:
		rows, _, err := h.store.ProgressSnapshot(ctx, sc, day, progressMaxAge)
		if err != nil {
			return nil, err
		}
		total = max(part.figure(sumProgress(rows)), st.Shown+len(part.lines)+1)
	}
	texts := make([]string, len(part.lines))
	for i, l := range part.lines {
		texts[i] = l.text
	}
	more := part.next != nil || (part.total >= 0 && st.Shown+len(part.lines) < part.total)
	text, n := messages.PageText(part.header(total), texts, st.Shown, total, more)
	next := moreState{List: list, Shown: st.Shown + n, After: part.next}
	if n < len(part.lines) {
		next.After, more = part.lines[n-1].key, true
	}
	if more {
		err = h.rememberMore(ctx, req.In.From, next)
	} else {
		err = h.forgetMore(ctx, req.In.From)
	}
	return messages.Reply{messages.Text(text)}, err
}

// rememberMore stores the paging state unless another conversation (a form
// being filled) is open: that one is not overwritten.
func (h *queries) rememberMore(ctx context.Context, user string, st moreState) error {
	conv, err := h.store.FindConversation(ctx, user)
	switch {
	case err == nil && conv.Kind != convMore:
		return nil
	case err != nil && !store.IsNotFound(err):
		return err
	}
	return h.store.PutConversation(ctx, user, convMore, st, 24*time.Hour)
}

func (h *queries) forgetMore(ctx context.Context, user string) error {
	conv, err := h.store.FindConversation(ctx, user)
	if err != nil {
		if store.IsNotFound(err) {
			return nil
		}
		return err
	}
	if conv.Kind != convMore {
		return nil
	}
	return h.store.DeleteConversation(ctx, user)
}

// more answers 更多 inside a paged list; any other input leaves the list.
func (h *queries) more(ctx context.Context, req *Request) (messages.Reply, error) {
	conv, err := h.store.FindConversation(ctx, req.In.From)
	if err != nil {
		return nil, err
	}
	if req.In.Kind != messages.KindText || req.Text != messages.WordMore {
		if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
			return nil, err
		}
		return nil, errPass
	}
	var st moreState
	if err := json.Unmarshal([]byte(conv.Data), &st); err != nil || h.lists[st.List] == nil {
		return messages.Reply{messages.Text(messages.NoMore)}, h.store.DeleteConversation(ctx, req.In.From)
	}
	return h.show(ctx, req, st.List, st)
}

// noMore answers 更多 when no list is open.
func (h *queries) noMore(context.Context, *Request) (messages.Reply, error) {
	return messages.Reply{messages.Text(messages.NoMore)}, nil
}

// mine answers 我的情况: a principal's letters, self-inspection and hazards;
// officials get their progress.
func (h *queries) mine(ctx context.Context, req *Request) (messages.Reply, error) {
	if req.Person != nil && req.Person.Role.IsOfficial() {
		return h.progress(ctx, req)
	}
	return h.show(ctx, req, listMine, moreState{})
}

// hazards answers 隐患: a principal's hazards; an official's open hazards.
func (h *queries) hazards(ctx context.Context, req *Request) (messages.Reply, error) {
	return h.show(ctx, req, listHazards, moreState{})
}

// progress answers 本镇进度, 本部门进度 and 进度 (the office: 全市进度).
func (h *queries) progress(ctx context.Context, req *Request) (messages.Reply, error) {
	sc, reply, ok := scopeOf(req)
	if !ok {
		return reply, nil
	}
	switch {
	case isEnterpriseSide(sc.Role):
		return h.show(ctx, req, listMine, moreState{})
	case sc.Role == safetybot.RoleOffice:
		return h.show(ctx, req, listCity, moreState{})
	}
	day := h.today()
	rows, at, err := h.store.ProgressSnapshot(ctx, sc, day, progressMaxAge)
	if err != nil {
		return nil, err
	}
	return messages.Reply{messages.Text(messages.ProgressText(scopeTitle(sc), day, at.In(h.loc).Format("15:04"), figures(sumProgress(rows))))}, nil
}

func sumProgress(rows []store.Progress) store.Progress {
	var t store.Progress
	for _, r := range rows {
		t.Enterprises += r.Enterprises
		t.Signed += r.Signed
		t.SelfInspected += r.SelfInspected
		t.NotInspected += r.NotInspected
		t.Hazards += r.Hazards
		t.Rectified += r.Rectified
		t.Open += r.Open
		t.Overdue += r.Overdue
		t.Major += r.Major
		t.MajorOpen += r.MajorOpen
	}
	return t
}

// city answers 全市进度 (office only).
func (h *queries) city(ctx context.Context, req *Request) (messages.Reply, error) {
	if req.Person != nil && req.Person.Role != safetybot.RoleOffice {
		return messages.Reply{messages.Text(messages.OnlyOffice)}, nil
	}
	return h.show(ctx, req, listCity, moreState{})
}

// officialList answers a list only officials may ask for.
func (h *queries) officialList(list string) Func {
	return func(ctx context.Context, req *Request) (messages.Reply, error) {
		if req.Person != nil && !req.Person.Role.IsOfficial() {
			return messages.Reply{messages.Text(messages.OnlyOfficials)}, nil
		}
		return h.show(ctx, req, list, moreState{})
	}
}

// deadline answers 期限: the next deadline of a principal's enterprises.
func (h *queries) deadline(ctx context.Context, req *Request) (messages.Reply, error) {
	sc, reply, ok := scopeOf(req)
	if !ok {
		return reply, nil
	}
	if !isEnterpriseSide(sc.Role) {
		return messages.Reply{messages.Text("期限查询供企业使用。干部请发送“逾期隐患”查看逾期名单。")}, nil
	}
	day := h.today()
	ents, err := h.store.MyEnterprises(ctx, sc)
	if err != nil {
		return nil, err
	}
	if len(ents) == 0 {
		return messages.Reply{messages.Text(messages.NoEnterprisesYet)}, nil
	}
	dl, err := h.store.Deadlines(ctx, sc, 20)
	if err != nil {
		return nil, err
	}
	var items []messages.DeadlineItem
	for _, d := range dl {
		what := "隐患整改：" + d.What
		if d.Kind == "letter" {
			what = "签收公开信《" + d.What + "》"
		}
		items = append(items, messages.DeadlineItem{Date: d.Date, What: what, Enterprise: d.Enterprise})
	}
	due, err := h.selfInspectionDue(ctx, day)
	if err != nil {
		return nil, err
	}
	done, err := h.store.SelfInspected(ctx, sc, day)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if !done[e.ID] {
			items = append(items, messages.DeadlineItem{Date: due, What: "本月自查自纠", Enterprise: e.Name})
		}
	}
	sortDeadlines(items)
	return messages.Reply{messages.Text(messages.DeadlinesText(items, day, len(ents) > 1))}, nil
}

func sortDeadlines(items []messages.DeadlineItem) {
	for i := 1; i < len(items); i++ {
		for j := i; j > 0 && items[j].Date < items[j-1].Date; j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
}

// selfInspectionDue is this month's self-inspection due date (the campaign's
// day of month, or the month's last day when shorter).
func (h *queries) selfInspectionDue(ctx context.Context, day string) (string, error) {
	cs, err := h.store.ActiveCampaignSettings(ctx)
	if err != nil {
		return "", err
	}
	t, _ := time.Parse("2006-01-02", day)
	last := time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return time.Date(t.Year(), t.Month(), min(cs.SelfInspectionDay, last), 0, 0, 0, 0, time.UTC).Format("2006-01-02"), nil
}

// enterprise answers 企业 名称片段: one enterprise's status, or a numbered
// list to pick from when several match.
func (h *queries) enterprise(ctx context.Context, req *Request) (messages.Reply, error) {
	sc, reply, ok := scopeOf(req)
	if !ok {
		return reply, nil
	}
	if req.Args == "" {
		return messages.Reply{messages.Text(messages.AskEnterprisePart)}, nil
	}
	found, total, err := h.store.FindEnterprisesInScope(ctx, sc, req.Args, 8)
	if err != nil {
		return nil, err
	}
	switch len(found) {
	case 0:
		return messages.Reply{messages.Text(messages.NoEnterpriseFound(req.Args))}, nil
	case 1:
		return h.status(ctx, sc, found[0].ID)
	}
	p := pickQuery{}
	var names []string
	for _, e := range found {
		p.IDs = append(p.IDs, e.ID)
		names = append(names, e.Name+"［"+e.Township+"］")
	}
	if err := h.store.PutConversation(ctx, req.In.From, convPickQuery, p, time.Hour); err != nil {
		return nil, err
	}
	return messages.Reply{messages.Text(messages.PickEnterpriseText(names, total))}, nil
}

// pick answers the numbered list of 企业 名称.
func (h *queries) pick(ctx context.Context, req *Request) (messages.Reply, error) {
	conv, err := h.store.FindConversation(ctx, req.In.From)
	if err != nil {
		return nil, err
	}
	var p pickQuery
	if err := json.Unmarshal([]byte(conv.Data), &p); err != nil {
		return nil, err
	}
	if req.Text == "取消" {
		return messages.Reply{messages.Text("好的。")}, h.store.DeleteConversation(ctx, req.In.From)
	}
	n, err := strconv.Atoi(req.Text)
	if err != nil || req.In.Kind != messages.KindText {
		if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
			return nil, err
		}
		return nil, errPass
	}
	if n < 1 || n > len(p.IDs) {
		return messages.Reply{messages.Text(messages.PickRange(len(p.IDs)))}, nil
	}
	if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
		return nil, err
	}
	sc, reply, ok := scopeOf(req)
	if !ok {
		return reply, nil
	}
	return h.status(ctx, sc, p.IDs[n-1])
}

func (h *queries) status(ctx context.Context, sc store.Scope, id int64) (messages.Reply, error) {
	day := h.today()
	st, err := h.store.EnterpriseStatusInScope(ctx, sc, id, day)
	if err != nil {
		return nil, err
	}
	return messages.Reply{messages.Text(messages.EnterpriseStatusText(statusView(st), day))}, nil
}

func statusView(st store.EnterpriseStatus) messages.EnterpriseStatusView {
	e := st.Enterprise
	v := messages.EnterpriseStatusView{Name: e.Name, Township: e.Township, Category: e.Category, SmallType: e.SmallType,
		KeyUnit: e.KeyUnit, Principals: st.Principals, Phone: e.Phone, Letters: st.Letters, Unsigned: st.Unsigned,
		Submission: st.Submission, Overdue: st.Overdue, Rectified: st.Rectified, Inspections: st.Inspections}
	if st.LastInspSelf != nil {
		v.LastInspected = *st.LastInspSelf
	}
	for _, hz := range st.OpenHazards {
		v.OpenHazards = append(v.OpenHazards, messages.HazardView{Description: hz.Description, Grade: hz.Grade, Status: hz.Status, Deadline: deref(hz.Deadline)})
	}
	return v
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func figures(p store.Progress) messages.Figures {
	return messages.Figures{Enterprises: p.Enterprises, Signed: p.Signed, SelfInspected: p.SelfInspected,
		NotInspected: p.NotInspected, Hazards: p.Hazards, Rectified: p.Rectified, Open: p.Open, Overdue: p.Overdue, Major: p.Major, MajorOpen: p.MajorOpen}
}
