package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"safetybot"
)

// Notice is a message the office sends to groups of people; with Ack the
// recipients confirm they read it (已阅).
type Notice struct {
	ID        int64     `db:"id"`
	Body      string    `db:"body"`
	Groups    []string  `db:"-"`
	GroupsRaw string    `db:"groups"` // JSON list of the group names
	Ack       bool      `db:"ack"`
	Sender    string    `db:"sender"`
	TaskID    string    `db:"task_id"`
	CreatedAt time.Time `db:"created_at"`
}

// Notice groups. A group is one of the words or "township:NAME",
// "category:NAME", "department:NAME".
const (
	GroupPrincipals = "principals"  // principals of every active enterprise
	GroupOfficials  = "officials"   // every township, department and office official
	GroupKeyUnits   = "key-units"   // principals of the key supervised units
	GroupTownship   = "township:"   // principals of the township's enterprises and its officials
	GroupCategory   = "category:"   // principals of the category's enterprises
	GroupDepartment = "department:" // officials of the department
	// GroupTownshipOfficials is the township's officials only (S10 written notices).
	GroupTownshipOfficials = "township-officials:"
)

// MaxNoticeBytes caps a notice body: one WeCom text message.
const MaxNoticeBytes = 2048

// ValidateNotice checks a notice body and its groups, resolving township and
// department names against the directory.
func (s *Store) ValidateNotice(ctx context.Context, body string, groups []string) error {
	switch {
	case strings.TrimSpace(body) == "":
		return safetybot.Errorf(safetybot.EINVALID, "通知内容不能为空")
	case len(body) > MaxNoticeBytes:
		return safetybot.Errorf(safetybot.EINVALID, "通知内容过长（最多约680个汉字）")
	case len(groups) == 0:
		return safetybot.Errorf(safetybot.EINVALID, "请指定通知对象")
	}
	for _, g := range groups {
		kind, name, _ := strings.Cut(g, ":")
		switch {
		case g == GroupPrincipals || g == GroupOfficials || g == GroupKeyUnits:
		case (kind+":" == GroupTownship || kind+":" == GroupTownshipOfficials) && name != "":
			var n int
			if err := s.get(ctx, &n, `SELECT (SELECT COUNT(*) FROM townships WHERE name = ?) + (SELECT COUNT(*) FROM people WHERE township = ?)`, name, name); err != nil {
				return err
			}
			if n == 0 {
				return safetybot.Errorf(safetybot.EINVALID, "没有名为“%s”的镇街", name)
			}
		case kind+":" == GroupCategory && name != "":
			if !slices.Contains(safetybot.Categories, name) {
				return safetybot.Errorf(safetybot.EINVALID, "类别“%s”不正确（应为 %s）", name, strings.Join(safetybot.Categories, "、"))
			}
		case kind+":" == GroupDepartment && name != "":
			var n int
			if err := s.get(ctx, &n, `SELECT (SELECT COUNT(*) FROM departments WHERE name = ?) + (SELECT COUNT(*) FROM people WHERE department = ?)`, name, name); err != nil {
				return err
			}
			if n == 0 {
				return safetybot.Errorf(safetybot.EINVALID, "没有名为“%s”的部门", name)
			}
		default:
			return safetybot.Errorf(safetybot.EINVALID, "通知对象“%s”不正确（可用 principals、officials、key-units、township:镇街名、township-officials:镇街名、category:类别、department:部门）", g)
		}
	}
	return nil
}

const principalsOf = `SELECT p.userid FROM people p JOIN contacts c ON c.person_id = p.id AND c.role = 'principal'
	JOIN enterprises e ON e.id = c.enterprise_id WHERE p.active = TRUE AND e.active = TRUE`

// NoticeAudience returns the userids the groups stand for: the union, each
// once, sorted. Groups must have passed ValidateNotice.
func (s *Store) NoticeAudience(ctx context.Context, groups []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, g := range groups {
		kind, name, _ := strings.Cut(g, ":")
		var q string
		var args []any
		switch {
		case g == GroupPrincipals:
			q = principalsOf
		case g == GroupOfficials:
			q = `SELECT userid FROM people WHERE active = TRUE AND role IN ('township', 'department', 'office')`
		case g == GroupKeyUnits:
			q = principalsOf + ` AND e.key_unit = TRUE`
		case kind+":" == GroupTownship:
			q = principalsOf + ` AND e.township = ? UNION SELECT userid FROM people WHERE active = TRUE AND role = 'township' AND township = ?`
			args = []any{name, name}
		case kind+":" == GroupTownshipOfficials:
			q = `SELECT userid FROM people WHERE active = TRUE AND role = 'township' AND township = ?`
			args = []any{name}
		case kind+":" == GroupCategory:
			q = principalsOf + ` AND e.category = ?`
			args = []any{name}
		case kind+":" == GroupDepartment:
			q = `SELECT userid FROM people WHERE active = TRUE AND role = 'department' AND department = ?`
			args = []any{name}
		default:
			return nil, safetybot.Errorf(safetybot.EINVALID, "通知对象“%s”不正确", g)
		}
		var ids []string
		if err := s.sel(ctx, &ids, q, args...); err != nil {
			return nil, err
		}
		for _, id := range ids {
			if !seen[strings.ToLower(id)] {
				seen[strings.ToLower(id)] = true
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// CreateNotice stores a notice and its recipients. n.ID and n.CreatedAt are set.
func (s *Store) CreateNotice(ctx context.Context, n *Notice, recipients []string) error {
	g, err := json.Marshal(n.Groups)
	if err != nil {
		return err
	}
	n.GroupsRaw = string(g)
	n.CreatedAt = s.Now()
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.get(ctx, &n.ID, `INSERT INTO notices (body, groups, ack, sender, task_id, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			n.Body, n.GroupsRaw, n.Ack, n.Sender, n.TaskID, n.CreatedAt); err != nil {
			return err
		}
		const chunk = 400
		for start := 0; start < len(recipients); start += chunk {
			end := min(start+chunk, len(recipients))
			var q strings.Builder
			q.WriteString(`INSERT INTO notice_recipients (notice_id, userid) VALUES `)
			args := make([]any, 0, 2*(end-start))
			for i := start; i < end; i++ {
				if i > start {
					q.WriteString(", ")
				}
				q.WriteString("(?, ?)")
				args = append(args, n.ID, recipients[i])
			}
			if _, err := s.exec(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		return s.Audit(ctx, n.Sender, "notice.send", fmt.Sprintf("notice:%d", n.ID),
			map[string]any{"groups": n.Groups, "recipients": len(recipients), "ack": n.Ack}, safetybot.BodyHash(n.Body))
	})
}

// FindNotice returns one notice.
func (s *Store) FindNotice(ctx context.Context, id int64) (Notice, error) {
	var n Notice
	err := s.get(ctx, &n, `SELECT id, body, groups, ack, sender, task_id, created_at FROM notices WHERE id = ?`, id)
	if IsNotFound(err) {
		return n, &safetybot.Error{Code: safetybot.ENOTFOUND, Message: fmt.Sprintf("没有编号为 %d 的通知", id), Err: err}
	}
	_ = json.Unmarshal([]byte(n.GroupsRaw), &n.Groups)
	return n, err
}

// LatestNoticeID returns the newest notice's id (ENOTFOUND when none was sent).
func (s *Store) LatestNoticeID(ctx context.Context) (int64, error) {
	var id int64
	err := s.get(ctx, &id, `SELECT id FROM notices ORDER BY id DESC LIMIT 1`)
	if IsNotFound(err) {
		return 0, &safetybot.Error{Code: safetybot.ENOTFOUND, Message: "还没有发过通知", Err: err}
	}
	return id, err
}

// AckResult says what an acknowledgement did.
type AckResult struct {
	Notice  Notice
	AckedAt time.Time
	Already bool // acknowledged before; AckedAt is that first time
}

// AckNotice records that userid has read a notice that asks for it. A user the
// notice did not go to gets EFORBIDDEN; a second acknowledgement keeps the first time.
func (s *Store) AckNotice(ctx context.Context, id int64, userid string) (AckResult, error) {
	var res AckResult
	err := s.InTx(ctx, func(ctx context.Context) error {
		n, err := s.FindNotice(ctx, id)
		if err != nil {
			return err
		}
		res.Notice = n
		var rows []struct {
			UserID  string     `db:"userid"`
			AckedAt *time.Time `db:"acked_at"`
		}
		if err := s.sel(ctx, &rows, `SELECT userid, acked_at FROM notice_recipients WHERE notice_id = ? AND lower(userid) = lower(?)`, id, userid); err != nil {
			return err
		}
		if len(rows) == 0 || !n.Ack {
			return safetybot.Errorf(safetybot.EFORBIDDEN, "这条通知无需您确认。")
		}
		if rows[0].AckedAt != nil {
			res.AckedAt, res.Already = *rows[0].AckedAt, true
			return nil
		}
		res.AckedAt = s.Now()
		if _, err := s.exec(ctx, `UPDATE notice_recipients SET acked_at = ? WHERE notice_id = ? AND userid = ? AND acked_at IS NULL`,
			res.AckedAt, id, rows[0].UserID); err != nil {
			return err
		}
		return s.Audit(ctx, userid, "notice.ack", fmt.Sprintf("notice:%d", id), nil, "")
	})
	return res, err
}

// PendingAcks returns the ids of notices asking userid for 已阅 that they have
// not acknowledged, newest first.
func (s *Store) PendingAcks(ctx context.Context, userid string) ([]int64, error) {
	var ids []int64
	err := s.sel(ctx, &ids, `SELECT r.notice_id FROM notice_recipients r JOIN notices n ON n.id = r.notice_id
		WHERE lower(r.userid) = lower(?) AND n.ack = TRUE AND r.acked_at IS NULL ORDER BY r.notice_id DESC`, userid)
	return ids, err
}

// NoticeRecipient is one recipient of a notice with their acknowledgement.
type NoticeRecipient struct {
	UserID   string     `db:"userid"`
	Name     string     `db:"name"`
	Role     string     `db:"role"`
	Township string     `db:"township"`
	AckedAt  *time.Time `db:"acked_at"`
}

// NoticeRecipients returns who a notice went to, acknowledged ones last,
// each group ordered by township and userid.
func (s *Store) NoticeRecipients(ctx context.Context, id int64) ([]NoticeRecipient, error) {
	var out []NoticeRecipient
	err := s.sel(ctx, &out, `SELECT r.userid, COALESCE(p.name, '') AS name, COALESCE(p.role, '') AS role, COALESCE(p.township, '') AS township, r.acked_at
		FROM notice_recipients r LEFT JOIN people p ON p.userid = r.userid
		WHERE r.notice_id = ? ORDER BY CASE WHEN r.acked_at IS NULL THEN 0 ELSE 1 END, COALESCE(p.township, ''), r.userid`, id)
	return out, err
}
