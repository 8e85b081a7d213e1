package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"safetybot"
)

// HazardAction is one step of the hazard loop (DOMAIN.md §4): 整改 → 复查 →
// 销号, with 退回, 延期, 停产整改 and 关闭取缔.
type HazardAction string

// Hazard loop actions. The comment gives the statuses each one moves between.
const (
	HazardStart    HazardAction = "开始整改" // 待整改 → 整改中 (the principal begins)
	HazardSubmit   HazardAction = "提交整改" // 待整改, 整改中, 停产整改 → 待复查, with a description and photos
	HazardApprove  HazardAction = "复查通过" // 待复查 → 已销号
	HazardReturn   HazardAction = "退回"   // 待复查 → 整改中 (or back to 停产整改), with a reason
	HazardExtend   HazardAction = "延期"   // an open hazard keeps its status and gets a later deadline
	HazardSuspend  HazardAction = "停产整改" // 待整改, 整改中, 待复查 → 停产整改
	HazardShutDown HazardAction = "关闭取缔" // any open status → 关闭取缔
)

// hazardMove says from which statuses an action may start and where it goes
// ("" means the status stays).
type hazardMove struct {
	from  []safetybot.HazardStatus
	to    safetybot.HazardStatus
	audit string // audit_log action
}

var hazardMoves = map[HazardAction]hazardMove{
	HazardStart:    {from: []safetybot.HazardStatus{safetybot.HazardPending}, to: safetybot.HazardRectifying, audit: "hazard.start"},
	HazardSubmit:   {from: []safetybot.HazardStatus{safetybot.HazardPending, safetybot.HazardRectifying, safetybot.HazardSuspended}, to: safetybot.HazardReview, audit: "hazard.submit"},
	HazardApprove:  {from: []safetybot.HazardStatus{safetybot.HazardReview}, to: safetybot.HazardClosed, audit: "hazard.approve"},
	HazardReturn:   {from: []safetybot.HazardStatus{safetybot.HazardReview}, to: safetybot.HazardRectifying, audit: "hazard.return"},
	HazardExtend:   {from: []safetybot.HazardStatus{safetybot.HazardPending, safetybot.HazardRectifying, safetybot.HazardReview, safetybot.HazardSuspended}, audit: "hazard.extend"},
	HazardSuspend:  {from: []safetybot.HazardStatus{safetybot.HazardPending, safetybot.HazardRectifying, safetybot.HazardReview}, to: safetybot.HazardSuspended, audit: "hazard.suspend"},
	HazardShutDown: {from: []safetybot.HazardStatus{safetybot.HazardPending, safetybot.HazardRectifying, safetybot.HazardReview, safetybot.HazardSuspended}, to: safetybot.HazardShutDown, audit: "hazard.shutdown"},
}

// HazardAllowed reports whether action may start from status.
func HazardAllowed(action HazardAction, status safetybot.HazardStatus) bool {
	m, ok := hazardMoves[action]
	return ok && slices.Contains(m.from, status)
}

// HazardTransition asks for one step of the loop.
type HazardTransition struct {
	HazardID int64
	Action   HazardAction
	Actor    string     // userid of who acts ("admin-api" for the HTTP API)
	Note     string     // 提交整改: what was done; 退回, 停产整改, 关闭取缔, 延期: the reason
	Photos   []string   // 提交整改: photos after the fix (SHA-256), at least one
	Deadline *time.Time // 延期: the new deadline (a civil date, required); 退回: an optional new one
	// ExpectEvent, when set, refuses the step (ECONFLICT) unless it is still the
	// hazard's newest status change: a review card tapped after a resubmission
	// or after another official decided.
	ExpectEvent int64
}

// HazardEvent is one row of a hazard's history.
type HazardEvent struct {
	ID       int64                  `db:"id"`
	HazardID int64                  `db:"hazard_id"`
	At       time.Time              `db:"at"`
	Actor    string                 `db:"actor"`
	From     safetybot.HazardStatus `db:"from_status"`
	To       safetybot.HazardStatus `db:"to_status"`
	Note     string                 `db:"note"`
	Photos   []string               `db:"-"`
	Deadline *string                `db:"deadline"`

	RawPhotos string `db:"photos"`
}

const hazardEventCols = `id, hazard_id, at, actor, from_status, to_status, note, photos, deadline`

func (e *HazardEvent) decode() {
	json.Unmarshal([]byte(e.RawPhotos), &e.Photos)
}

// HazardSubject is the audit subject of a hazard.
func HazardSubject(id int64) string { return fmt.Sprintf("hazard:%d", id) }

// maxHazardText bounds free text on a hazard (reasons, 五定 fields), in characters.
const maxHazardText = 500

// lockHazard reads a hazard for update (Postgres row lock; SQLite has one writer).
func (s *Store) lockHazard(ctx context.Context, id int64) (safetybot.Hazard, error) {
	q := `SELECT ` + hazardCols + ` FROM hazards WHERE id = ?`
	if s.dialect == "postgres" {
		q += ` FOR UPDATE`
	}
	var r hazardRow
	err := s.get(ctx, &r, q, id)
	if IsNotFound(err) {
		return safetybot.Hazard{}, &safetybot.Error{Code: safetybot.ENOTFOUND, Message: fmt.Sprintf("没有编号为 %d 的隐患", id), Err: err}
	}
	return r.domain(), err
}

// refusal explains why action cannot start from the hazard's status.
func refusal(h safetybot.Hazard, action HazardAction) error {
	var hint string
	switch {
	case h.Status == safetybot.HazardReview && action == HazardSubmit:
		hint = "整改已经提交，正在等待镇街复查。"
	case action == HazardApprove || action == HazardReturn:
		hint = "只有“待复查”（已提交整改）的隐患才能复查。"
	case !h.Status.Open():
		hint = "这条隐患已经办结。"
	}
	return &safetybot.Error{Code: safetybot.EINVALID,
		Message: fmt.Sprintf("隐患（编号 %d）现在是“%s”，不能%s。%s", h.ID, h.Status, action, hint),
		Err:     fmt.Errorf("hazard %d: %s from %s not allowed", h.ID, action, h.Status)}
}

// TransitionHazard performs one step of the loop in one transaction: it
// checks the step is allowed from the hazard's current status (an illegal one
// is EINVALID with a Chinese reason), updates the hazard, and writes a
// hazard_events row and an audit row. 提交整改 from 待整改 first records the
// implied 开始整改. It returns the hazard after the step and the step's event.
func (s *Store) TransitionHazard(ctx context.Context, t HazardTransition) (safetybot.Hazard, HazardEvent, error) {
	move, ok := hazardMoves[t.Action]
	if !ok {
		return safetybot.Hazard{}, HazardEvent{}, fmt.Errorf("hazard %d: unknown action %q", t.HazardID, t.Action)
	}
	t.Note = strings.TrimSpace(t.Note)
	switch {
	case utf8.RuneCountInString(t.Note) > maxHazardText:
		return safetybot.Hazard{}, HazardEvent{}, safetybot.Errorf(safetybot.EINVALID, "说明太长了，请控制在 %d 字以内。", maxHazardText)
	case t.Action == HazardSubmit && len(t.Photos) == 0:
		return safetybot.Hazard{}, HazardEvent{}, safetybot.Errorf(safetybot.EINVALID, "提交整改至少要一张整改后的照片。")
	case t.Action == HazardSubmit && t.Note == "":
		return safetybot.Hazard{}, HazardEvent{}, safetybot.Errorf(safetybot.EINVALID, "请写一句整改情况说明。")
	case t.Action == HazardReturn && t.Note == "":
		return safetybot.Hazard{}, HazardEvent{}, safetybot.Errorf(safetybot.EINVALID, "退回要写明原因。")
	case t.Action == HazardExtend && t.Deadline == nil:
		return safetybot.Hazard{}, HazardEvent{}, safetybot.Errorf(safetybot.EINVALID, "延期要给出新的整改期限。")
	}
	var out safetybot.Hazard
	var ev HazardEvent
	err := s.InTx(ctx, func(ctx context.Context) error {
		h, err := s.lockHazard(ctx, t.HazardID)
		if err != nil {
			return err
		}
		if t.ExpectEvent != 0 {
			latest, err := s.latestHazardEvent(ctx, h.ID)
			if err != nil {
				return err
			}
			if latest.ID != t.ExpectEvent {
				return &safetybot.Error{Code: safetybot.ECONFLICT,
					Message: fmt.Sprintf("这张卡片已过期：隐患（编号 %d）现在是“%s”。", h.ID, h.Status),
					Err:     fmt.Errorf("hazard %d: expected event %d, newest is %d", h.ID, t.ExpectEvent, latest.ID)}
			}
		}
		if !slices.Contains(move.from, h.Status) {
			return refusal(h, t.Action)
		}
		if t.Action == HazardSubmit && h.Status == safetybot.HazardPending {
			if h, _, err = s.applyHazardStep(ctx, h, HazardTransition{HazardID: h.ID, Action: HazardStart, Actor: t.Actor}, hazardMoves[HazardStart]); err != nil {
				return err
			}
		}
		if t.Action == HazardExtend && t.Deadline != nil && h.Deadline != nil && !t.Deadline.After(*h.Deadline) {
			return safetybot.Errorf(safetybot.EINVALID, "新期限要晚于原期限（%s）。", h.Deadline.Format("2006-01-02"))
		}
		if t.Action == HazardReturn {
			// A suspended enterprise that was sent back stays suspended.
			sub, err := s.latestEventTo(ctx, h.ID, safetybot.HazardReview)
			if err != nil && !IsNotFound(err) {
				return err
			}
			if err == nil && sub.From == safetybot.HazardSuspended {
				move.to = safetybot.HazardSuspended
			}
		}
		out, ev, err = s.applyHazardStep(ctx, h, t, move)
		return err
	})
	return out, ev, err
}

// applyHazardStep writes one allowed step: the hazard row, its event and the audit row.
func (s *Store) applyHazardStep(ctx context.Context, h safetybot.Hazard, t HazardTransition, move hazardMove) (safetybot.Hazard, HazardEvent, error) {
	now := s.Now()
	to := move.to
	if to == "" {
		to = h.Status
	}
	deadline := dateString(h.Deadline)
	if t.Deadline != nil {
		deadline = dateString(t.Deadline)
	}
	var closedAt *time.Time
	if to == safetybot.HazardClosed || to == safetybot.HazardShutDown {
		closedAt = &now
	}
	if _, err := s.exec(ctx, `UPDATE hazards SET status = ?, deadline = ?, closed_at = ?, updated_at = ? WHERE id = ?`,
		string(to), deadline, closedAt, now, h.ID); err != nil {
		return h, HazardEvent{}, fmt.Errorf("hazard %d %s: %w", h.ID, t.Action, err)
	}
	photos := jsonList(t.Photos)
	var evDeadline *string
	if t.Deadline != nil {
		evDeadline = deadline
	}
	note := t.Note
	if note == "" {
		note = string(t.Action)
	}
	var id int64
	if err := s.get(ctx, &id, `INSERT INTO hazard_events (hazard_id, at, actor, from_status, to_status, note, photos, deadline)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, h.ID, now, t.Actor, string(h.Status), string(to), note, photos, evDeadline); err != nil {
		return h, HazardEvent{}, err
	}
	detail := map[string]any{"action": string(t.Action), "from": string(h.Status), "to": string(to)}
	if t.Note != "" {
		detail["note"] = t.Note
	}
	if len(t.Photos) > 0 {
		detail["photos"] = t.Photos
	}
	if evDeadline != nil {
		detail["deadline"] = *evDeadline
		if h.Deadline != nil {
			detail["old_deadline"] = h.Deadline.Format("2006-01-02")
		}
	}
	if err := s.Audit(ctx, t.Actor, move.audit, HazardSubject(h.ID), detail, ""); err != nil {
		return h, HazardEvent{}, err
	}
	ev := HazardEvent{ID: id, HazardID: h.ID, At: now, Actor: t.Actor, From: h.Status, To: to, Note: note,
		Photos: t.Photos, Deadline: evDeadline, RawPhotos: photos}
	h.Status, h.Deadline, h.ClosedAt, h.UpdatedAt = to, parseDate(deadline), closedAt, now
	return h, ev, nil
}

// latestHazardEvent returns the newest event that changed the hazard's
// status: cards name it, so a 五定 edit or an extension (same status) does
// not make them stale, while any decision does.
func (s *Store) latestHazardEvent(ctx context.Context, id int64) (HazardEvent, error) {
	var e HazardEvent
	err := s.get(ctx, &e, `SELECT `+hazardEventCols+` FROM hazard_events WHERE hazard_id = ? AND from_status <> to_status
		ORDER BY id DESC LIMIT 1`, id)
	e.decode()
	return e, err
}

// latestEventTo returns the newest event that moved the hazard into status.
func (s *Store) latestEventTo(ctx context.Context, id int64, status safetybot.HazardStatus) (HazardEvent, error) {
	var e HazardEvent
	err := s.get(ctx, &e, `SELECT `+hazardEventCols+` FROM hazard_events WHERE hazard_id = ? AND to_status = ? AND from_status <> to_status
		ORDER BY id DESC LIMIT 1`, id, string(status))
	e.decode()
	return e, err
}

// HazardEvents returns a hazard's history, oldest first.
func (s *Store) HazardEvents(ctx context.Context, id int64) ([]HazardEvent, error) {
	var out []HazardEvent
	if err := s.sel(ctx, &out, `SELECT `+hazardEventCols+` FROM hazard_events WHERE hazard_id = ? ORDER BY id`, id); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].decode()
	}
	return out, nil
}

// LatestRectification returns the newest 提交整改 event of a hazard (ENOTFOUND
// when it was never submitted): the description and photos the review shows.
func (s *Store) LatestRectification(ctx context.Context, id int64) (HazardEvent, error) {
	return s.latestEventTo(ctx, id, safetybot.HazardReview)
}

// HazardInfo is a hazard with what the loop needs around it.
type HazardInfo struct {
	safetybot.Hazard
	Enterprise string   // enterprise name
	Township   string   // enterprise township
	Department string   // supervising department
	Before     []string // photos registered with the hazard (SHA-256)
	LastEvent  int64    // id of the newest event that changed the status (what cards carry)
}

type hazardInfoRow struct {
	hazardRow
	Enterprise string `db:"enterprise"`
	Township   string `db:"township"`
	Department string `db:"department"`
	LastEvent  *int64 `db:"last_event"`
}

const hazardInfoSelect = `SELECT h.id, h.enterprise_id, h.submission_id, h.inspection_id, h.source, h.item_key, h.description, h.grade,
	h.status, h.deadline, h.found_at, h.found_by, h.closed_at, h.tracker, h.measures, h.owner, h.funds, h.plan, h.photos, h.updated_at,
	e.name AS enterprise, e.township, e.department,
	(SELECT MAX(ev.id) FROM hazard_events ev WHERE ev.hazard_id = h.id AND ev.from_status <> ev.to_status) AS last_event
	FROM hazards h JOIN enterprises e ON e.id = h.enterprise_id`

func (r hazardInfoRow) info() HazardInfo {
	hi := HazardInfo{Hazard: r.domain(), Enterprise: r.Enterprise, Township: r.Township, Department: r.Department}
	json.Unmarshal([]byte(r.Photos), &hi.Before)
	if r.LastEvent != nil {
		hi.LastEvent = *r.LastEvent
	}
	return hi
}

// FindHazardInfo returns one hazard with its enterprise.
func (s *Store) FindHazardInfo(ctx context.Context, id int64) (HazardInfo, error) {
	var r hazardInfoRow
	err := s.get(ctx, &r, hazardInfoSelect+` WHERE h.id = ?`, id)
	if IsNotFound(err) {
		return HazardInfo{}, &safetybot.Error{Code: safetybot.ENOTFOUND, Message: fmt.Sprintf("没有编号为 %d 的隐患", id), Err: err}
	}
	return r.info(), err
}

func (s *Store) hazardInfos(ctx context.Context, where string, args ...any) ([]HazardInfo, error) {
	var rows []hazardInfoRow
	if err := s.sel(ctx, &rows, hazardInfoSelect+` WHERE `+where, args...); err != nil {
		return nil, err
	}
	out := make([]HazardInfo, len(rows))
	for i, r := range rows {
		out[i] = r.info()
	}
	return out, nil
}

// RectifiableHazards returns the hazards a principal or safety officer can
// submit rectification for — 待整改, 整改中 and 停产整改 hazards of the active
// enterprises they are a contact of — earliest deadline first.
func (s *Store) RectifiableHazards(ctx context.Context, userid string) ([]HazardInfo, error) {
	return s.hazardInfos(ctx, `e.active = TRUE AND h.status IN (?, ?, ?)
		AND h.enterprise_id IN (SELECT c.enterprise_id FROM contacts c JOIN people p ON p.id = c.person_id WHERE p.userid = ?)
		ORDER BY COALESCE(h.deadline, '9999-12-31'), h.id`,
		string(safetybot.HazardPending), string(safetybot.HazardRectifying), string(safetybot.HazardSuspended), userid)
}

// ReviewQueue returns the hazards waiting for review (待复查) that the
// official may decide — their township's, their department's, every one for
// the office, and the ones they track — oldest submission first.
func (s *Store) ReviewQueue(ctx context.Context, p safetybot.Person) ([]HazardInfo, error) {
	cond := `h.tracker = ?`
	args := []any{string(safetybot.HazardReview), p.UserID}
	switch p.Role {
	case safetybot.RoleOffice:
		cond = `1 = 1`
		args = args[:1]
	case safetybot.RoleTownship:
		cond += ` OR e.township = ?`
		args = append(args, p.Township)
	case safetybot.RoleDepartment:
		cond += ` OR e.department = ?`
		args = append(args, p.Department)
	}
	return s.hazardInfos(ctx, `h.status = ? AND (`+cond+`) ORDER BY h.updated_at, h.id`, args...)
}

// MayDecide reports whether the person may review, extend, suspend or close
// the hazard: the office; officials of its township or its supervising
// department; its named tracker.
func MayDecide(p safetybot.Person, h HazardInfo) bool {
	if !p.Active {
		return false
	}
	switch {
	case p.Role == safetybot.RoleOffice:
		return true
	case h.Tracker != "" && strings.EqualFold(h.Tracker, p.UserID) && p.Role.IsOfficial():
		return true
	case p.Role == safetybot.RoleTownship:
		return p.Township != "" && p.Township == h.Township
	case p.Role == safetybot.RoleDepartment:
		return p.Department != "" && p.Department == h.Department
	}
	return false
}

// HazardReviewers returns the userids that get a hazard's review card: the
// active township officials of its enterprise's township and its tracker.
func (s *Store) HazardReviewers(ctx context.Context, h HazardInfo) ([]string, error) {
	var ids []string
	if err := s.sel(ctx, &ids, `SELECT userid FROM people WHERE active = TRUE AND role = 'township' AND township = ? ORDER BY userid`, h.Township); err != nil {
		return nil, err
	}
	if h.Tracker != "" && !slices.ContainsFunc(ids, func(u string) bool { return strings.EqualFold(u, h.Tracker) }) {
		ids = append(ids, h.Tracker)
	}
	return ids, nil
}

// HazardContacts returns the userids of the active principals of the hazard's
// enterprise (who is told of a review's outcome).
func (s *Store) HazardContacts(ctx context.Context, enterpriseID int64) ([]string, error) {
	var ids []string
	err := s.sel(ctx, &ids, `SELECT p.userid FROM contacts c JOIN people p ON p.id = c.person_id
		WHERE c.enterprise_id = ? AND c.role = 'principal' AND p.active = TRUE ORDER BY p.userid`, enterpriseID)
	return ids, err
}

// HazardPlan changes the 五定 fields (S8; DOMAIN.md §3) and the named tracker
// of a hazard. Nil fields stay as they are; an empty string clears a field.
type HazardPlan struct {
	Measures *string    `json:"measures,omitempty"` // 措施
	Owner    *string    `json:"owner,omitempty"`    // 责任人
	Funds    *string    `json:"funds,omitempty"`    // 资金
	Deadline *time.Time `json:"-"`                  // 时限 (a civil date)
	Plan     *string    `json:"plan,omitempty"`     // 预案
	Tracker  *string    `json:"tracker,omitempty"`  // userid of the named tracker, an official
}

// Empty reports whether the plan changes nothing.
func (p HazardPlan) Empty() bool {
	return p.Measures == nil && p.Owner == nil && p.Funds == nil && p.Deadline == nil && p.Plan == nil && p.Tracker == nil
}

// Validate checks the texts' lengths.
func (p HazardPlan) Validate() error {
	for _, f := range []struct {
		name string
		v    *string
	}{{"措施", p.Measures}, {"责任人", p.Owner}, {"资金", p.Funds}, {"预案", p.Plan}} {
		if f.v != nil && utf8.RuneCountInString(*f.v) > maxHazardText {
			return safetybot.Errorf(safetybot.EINVALID, "%s太长了，请控制在 %d 字以内。", f.name, maxHazardText)
		}
	}
	if p.Tracker != nil && *p.Tracker != "" && !safetybot.ValidUserID(*p.Tracker) {
		return safetybot.Errorf(safetybot.EINVALID, "跟踪人账号格式不正确：%q", *p.Tracker)
	}
	return nil
}

// SetHazardPlan applies p to an open hazard, writing an audit row and a
// hazard_events row (status unchanged; the deadline when it changed). The
// tracker must be an active official (township, department or office); it
// is stored as the roster spells the userid.
func (s *Store) SetHazardPlan(ctx context.Context, id int64, actor string, p HazardPlan) (safetybot.Hazard, error) {
	if p.Empty() {
		return safetybot.Hazard{}, safetybot.Errorf(safetybot.EINVALID, "没有要修改的内容（可改：measures, owner, funds, deadline, plan, tracker）。")
	}
	if err := p.Validate(); err != nil {
		return safetybot.Hazard{}, err
	}
	var out safetybot.Hazard
	err := s.InTx(ctx, func(ctx context.Context) error {
		h, err := s.lockHazard(ctx, id)
		if err != nil {
			return err
		}
		if !h.Status.Open() {
			return safetybot.Errorf(safetybot.EINVALID, "隐患（编号 %d）已经是“%s”，不能再修改五定。", h.ID, h.Status)
		}
		if p.Tracker != nil && strings.TrimSpace(*p.Tracker) != "" {
			t, err := s.FindPerson(ctx, strings.TrimSpace(*p.Tracker))
			if IsNotFound(err) || (err == nil && (!t.Active || !t.Role.IsOfficial())) {
				return safetybot.Errorf(safetybot.EINVALID, "跟踪人 %s 不是在册的干部（镇街、部门或市安委办）。", *p.Tracker)
			}
			if err != nil {
				return err
			}
			u := t.UserID
			p.Tracker = &u
		}
		changed := map[string]any{}
		var notes []string
		set := func(col, label string, cur *string, v *string) {
			if v == nil || *v == *cur {
				return
			}
			*cur = strings.TrimSpace(*v)
			changed[col] = *cur
			notes = append(notes, label)
		}
		set("measures", "措施", &h.Measures, p.Measures)
		set("owner", "责任人", &h.Owner, p.Owner)
		set("funds", "资金", &h.Funds, p.Funds)
		set("plan", "预案", &h.Plan, p.Plan)
		set("tracker", "跟踪人", &h.Tracker, p.Tracker)
		var evDeadline *string
		if p.Deadline != nil && (h.Deadline == nil || !h.Deadline.Equal(*p.Deadline)) {
			evDeadline = dateString(p.Deadline)
			if h.Deadline != nil {
				changed["old_deadline"] = h.Deadline.Format("2006-01-02")
			}
			changed["deadline"] = *evDeadline
			notes = append(notes, "时限")
			d := *p.Deadline
			h.Deadline = &d
		}
		if len(changed) == 0 {
			out = h
			return nil
		}
		now := s.Now()
		if _, err := s.exec(ctx, `UPDATE hazards SET measures = ?, owner = ?, funds = ?, plan = ?, tracker = ?, deadline = ?, updated_at = ? WHERE id = ?`,
			h.Measures, h.Owner, h.Funds, h.Plan, h.Tracker, dateString(h.Deadline), now, h.ID); err != nil {
			return err
		}
		if _, err := s.exec(ctx, `INSERT INTO hazard_events (hazard_id, at, actor, from_status, to_status, note, photos, deadline)
			VALUES (?, ?, ?, ?, ?, ?, '[]', ?)`, h.ID, now, actor, string(h.Status), string(h.Status), "五定："+strings.Join(notes, "、"), evDeadline); err != nil {
			return err
		}
		if err := s.Audit(ctx, actor, "hazard.plan", HazardSubject(h.ID), changed, ""); err != nil {
			return err
		}
		h.UpdatedAt = now
		out = h
		return nil
	})
	return out, err
}
