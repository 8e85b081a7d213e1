package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"safetybot"
)

// Inspection kinds: a leader-led inspection (S5), the on-site inspection
// opinion form (S9), an undercover visit and a cross-check (S10).
const (
	InspectionLed        = "带队检查"
	InspectionOnSite     = "现场检查"
	InspectionUndercover = "暗查"
	InspectionCross      = "交叉检查"
)

// Inspection states. A led inspection is logged at once; an opinion form
// waits for its signatures and is complete when every required signer has
// signed or refused.
const (
	InspectionLogged   = "已登记"
	InspectionAwaiting = "待签字"
	InspectionComplete = "已完成"
)

// Signer roles of an opinion form (CampaignSettings.InspectionSigners).
const (
	SignerInspector     = "inspector"      // the official who fills the form
	SignerPrincipal     = "principal"      // the enterprise's principal
	SignerSafetyOfficer = "safety_officer" // the enterprise's safety officer
	SignerAccompanying  = "accompanying"   // the township or grid official who came along
	SignerInspector2    = "inspector2"     // a second inspector
)

// SignerRoles lists every signer role a campaign may require.
var SignerRoles = []string{SignerInspector, SignerPrincipal, SignerSafetyOfficer, SignerAccompanying, SignerInspector2}

// SignerLabel is the Chinese name of a signer role.
func SignerLabel(role string) string {
	switch role {
	case SignerInspector:
		return "检查人员"
	case SignerPrincipal:
		return "企业主要负责人"
	case SignerSafetyOfficer:
		return "企业安全管理员"
	case SignerAccompanying:
		return "陪同检查干部"
	case SignerInspector2:
		return "第二检查人员"
	}
	return role
}

// Signature states of an opinion form.
const (
	SignPending = "pending"
	SignSigned  = "signed"
	SignRefused = "refused"
)

// Inspection is one inspection record.
type Inspection struct {
	ID            int64     `db:"id"`
	Kind          string    `db:"kind"`
	EnterpriseID  int64     `db:"enterprise_id"`
	Inspector     string    `db:"inspector"`
	Accompanying  string    `db:"accompanying"`
	Led           bool      `db:"led"`
	InspectedOn   string    `db:"inspected_on"` // YYYY-MM-DD
	Items         string    `db:"items"`
	Findings      string    `db:"findings"`
	Rectification string    `db:"rectification"`
	Deadline      *string   `db:"deadline"` // YYYY-MM-DD
	Photos        []string  `db:"-"`        // SHA-256 names of stored photos
	PhotosJSON    string    `db:"photos"`
	Status        string    `db:"status"`
	CreatedAt     time.Time `db:"created_at"`
}

// InspectionHazard is a hazard found in an inspection: it becomes a hazard of
// the enterprise (status 整改中).
type InspectionHazard struct {
	Description string
	Grade       string // 一般 | 重大
	Deadline    string // YYYY-MM-DD
}

// InspectionSigner is one required signature of an opinion form.
type InspectionSigner struct {
	InspectionID int64      `db:"inspection_id"`
	Role         string     `db:"role"`
	UserID       string     `db:"userid"`
	State        string     `db:"state"`
	Reason       string     `db:"reason"`
	At           *time.Time `db:"at"`
}

const inspectionCols = `id, kind, enterprise_id, inspector, accompanying, led, inspected_on, items, findings, rectification, deadline, photos, status, created_at`

// Validate checks an inspection before it is stored.
func (in *Inspection) Validate() error {
	switch in.Kind {
	case InspectionLed, InspectionOnSite, InspectionUndercover, InspectionCross:
	default:
		return safetybot.Errorf(safetybot.EINVALID, "检查类型不正确：%s", in.Kind)
	}
	if _, err := time.Parse("2006-01-02", in.InspectedOn); err != nil {
		return safetybot.Errorf(safetybot.EINVALID, "检查日期不正确：%s", in.InspectedOn)
	}
	if in.EnterpriseID == 0 || in.Inspector == "" {
		return safetybot.Errorf(safetybot.EINVALID, "缺少被检查企业或检查人员")
	}
	if (in.Kind == InspectionUndercover || in.Kind == InspectionCross) && len(in.Photos) == 0 {
		return safetybot.Errorf(safetybot.EINVALID, "%s必须附照片证据", in.Kind)
	}
	return nil
}

// CreateInspection stores an inspection with the hazards found (each a hazard
// of the enterprise with the inspection's kind as source) and, for an opinion
// form, its required signers: signers already "signed" (the inspector, who
// fills the form) count at once. A record without pending signers is complete
// at once. A led inspection, or a complete record, updates the enterprise's
// last_inspected. in.ID, in.Status and in.CreatedAt are set.
func (s *Store) CreateInspection(ctx context.Context, in *Inspection, hazards []InspectionHazard, signers []InspectionSigner) error {
	if err := in.Validate(); err != nil {
		return err
	}
	if in.Photos == nil {
		in.Photos = []string{}
	}
	pj, err := json.Marshal(in.Photos)
	if err != nil {
		return err
	}
	in.PhotosJSON = string(pj)
	in.Led = in.Kind == InspectionLed
	in.CreatedAt = s.Now()
	in.Status = InspectionLogged
	if !in.Led {
		in.Status = InspectionComplete
		for _, sg := range signers {
			if sg.State == "" || sg.State == SignPending {
				in.Status = InspectionAwaiting
			}
		}
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.get(ctx, &in.ID, `INSERT INTO inspections (kind, enterprise_id, inspector, accompanying, led, inspected_on, items, findings, rectification, deadline, photos, status, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			in.Kind, in.EnterpriseID, in.Inspector, in.Accompanying, in.Led, in.InspectedOn, in.Items, in.Findings, in.Rectification,
			in.Deadline, in.PhotosJSON, in.Status, in.CreatedAt); err != nil {
			return err
		}
		for _, h := range hazards {
			if err := s.insertInspectionHazard(ctx, in, h); err != nil {
				return err
			}
		}
		for _, sg := range signers {
			state, at := SignPending, (*time.Time)(nil)
			if sg.State == SignSigned {
				state, at = SignSigned, &in.CreatedAt
			}
			if _, err := s.exec(ctx, `INSERT INTO inspection_signatures (inspection_id, role, userid, state, reason, at) VALUES (?, ?, ?, ?, '', ?)`,
				in.ID, sg.Role, sg.UserID, state, at); err != nil {
				return err
			}
		}
		if in.Status != InspectionAwaiting {
			if err := s.markInspected(ctx, in.EnterpriseID, in.InspectedOn); err != nil {
				return err
			}
		}
		return s.Audit(ctx, in.Inspector, "inspection.create", fmt.Sprintf("inspection:%d", in.ID),
			map[string]any{"kind": in.Kind, "enterprise_id": in.EnterpriseID, "hazards": len(hazards), "photos": len(in.Photos)}, "")
	})
}

func (s *Store) insertInspectionHazard(ctx context.Context, in *Inspection, h InspectionHazard) error {
	if strings.TrimSpace(h.Description) == "" {
		return safetybot.Errorf(safetybot.EINVALID, "隐患描述不能为空")
	}
	if h.Grade != safetybot.GradeGeneral && h.Grade != safetybot.GradeMajor {
		return safetybot.Errorf(safetybot.EINVALID, "隐患等级应为“一般”或“重大”")
	}
	// S8: every major hazard has a named tracker; the official who found it
	// tracks it until someone else is named.
	tracker := ""
	if h.Grade == safetybot.GradeMajor {
		tracker = in.Inspector
	}
	var deadline *string
	if h.Deadline != "" {
		deadline = &h.Deadline
	}
	now := s.Now()
	var id int64
	if err := s.get(ctx, &id, `INSERT INTO hazards (enterprise_id, inspection_id, source, description, grade, status, deadline, found_at, found_by, tracker, photos, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?) RETURNING id`,
		in.EnterpriseID, in.ID, in.Kind, h.Description, h.Grade, safetybot.HazardRectifying, deadline, now, in.Inspector, tracker, now); err != nil {
		return err
	}
	_, err := s.exec(ctx, `INSERT INTO hazard_events (hazard_id, at, actor, from_status, to_status, note, photos, deadline) VALUES (?, ?, ?, '', ?, ?, '[]', ?)`,
		id, now, in.Inspector, safetybot.HazardRectifying, in.Kind+"发现", deadline)
	return err
}

// markInspected moves the enterprise's last_inspected forward to day.
func (s *Store) markInspected(ctx context.Context, enterpriseID int64, day string) error {
	_, err := s.exec(ctx, `UPDATE enterprises SET last_inspected = ?, updated_at = ? WHERE id = ? AND (last_inspected IS NULL OR last_inspected < ?)`,
		day, s.Now(), enterpriseID, day)
	return err
}

// FindInspection returns an inspection and its signers.
func (s *Store) FindInspection(ctx context.Context, id int64) (Inspection, []InspectionSigner, error) {
	var in Inspection
	if err := s.get(ctx, &in, `SELECT `+inspectionCols+` FROM inspections WHERE id = ?`, id); err != nil {
		if IsNotFound(err) {
			return in, nil, &safetybot.Error{Code: safetybot.ENOTFOUND, Message: "没有找到这份检查记录", Err: err}
		}
		return in, nil, err
	}
	_ = json.Unmarshal([]byte(in.PhotosJSON), &in.Photos)
	var signers []InspectionSigner
	err := s.sel(ctx, &signers, `SELECT inspection_id, role, userid, state, reason, at FROM inspection_signatures WHERE inspection_id = ?`, id)
	orderSigners(signers)
	return in, signers, err
}

// orderSigners sorts signers in the order of SignerRoles.
func orderSigners(signers []InspectionSigner) {
	rank := func(r string) int {
		for i, x := range SignerRoles {
			if x == r {
				return i
			}
		}
		return len(SignerRoles)
	}
	for i := 1; i < len(signers); i++ {
		for j := i; j > 0 && rank(signers[j].Role) < rank(signers[j-1].Role); j-- {
			signers[j], signers[j-1] = signers[j-1], signers[j]
		}
	}
}

// InspectionSignResult says what a signature (or refusal) did.
type InspectionSignResult struct {
	Inspection Inspection
	Signers    []InspectionSigner
	Signer     InspectionSigner // the row as it is now
	Already    bool             // it had been answered before; nothing changed
	Completed  bool             // this answer completed the record
}

// SignInspection records userid's signature (or refusal with a reason) for
// the signer role of an opinion form. Only the person named for the role may
// answer (EFORBIDDEN otherwise); a second answer changes nothing. When the
// last pending signer answers, the record becomes complete and the enterprise's
// last_inspected moves to the inspection date — once, even when two signers
// answer at the same moment.
func (s *Store) SignInspection(ctx context.Context, id int64, role, userid string, refuse bool, reason string) (InspectionSignResult, error) {
	var res InspectionSignResult
	reason = strings.TrimSpace(reason)
	if refuse && reason == "" {
		return res, safetybot.Errorf(safetybot.EINVALID, "请说明拒签理由")
	}
	err := s.InTx(ctx, func(ctx context.Context) error {
		// Lock the record first (a no-op update takes the row lock on both
		// dialects), so two last signers cannot both miss completing it.
		if r, err := s.exec(ctx, `UPDATE inspections SET status = status WHERE id = ?`, id); err != nil {
			return err
		} else if n, _ := r.RowsAffected(); n == 0 {
			return safetybot.Errorf(safetybot.ENOTFOUND, "没有找到这份检查记录")
		}
		in, signers, err := s.FindInspection(ctx, id)
		if err != nil {
			return err
		}
		var me *InspectionSigner
		for i := range signers {
			if signers[i].Role == role {
				me = &signers[i]
			}
		}
		if me == nil || !strings.EqualFold(me.UserID, userid) {
			return safetybot.Errorf(safetybot.EFORBIDDEN, "这份检查意见书不需要您签字。")
		}
		res.Inspection, res.Signers = in, signers
		if me.State != SignPending {
			res.Signer, res.Already = *me, true
			return nil
		}
		now := s.Now()
		me.State, me.At = SignSigned, &now
		if refuse {
			me.State, me.Reason = SignRefused, reason
		}
		if _, err := s.exec(ctx, `UPDATE inspection_signatures SET state = ?, reason = ?, at = ? WHERE inspection_id = ? AND role = ?`,
			me.State, me.Reason, now, id, role); err != nil {
			return err
		}
		res.Signer = *me
		action := "inspection.sign"
		if refuse {
			action = "inspection.refuse"
		}
		if err := s.Audit(ctx, userid, action, fmt.Sprintf("inspection:%d/%s", id, role), map[string]any{"reason": me.Reason}, ""); err != nil {
			return err
		}
		for _, sg := range signers {
			if sg.State == SignPending {
				return nil
			}
		}
		if in.Status != InspectionAwaiting {
			return nil
		}
		if _, err := s.exec(ctx, `UPDATE inspections SET status = ? WHERE id = ?`, InspectionComplete, id); err != nil {
			return err
		}
		res.Inspection.Status, res.Completed = InspectionComplete, true
		return s.markInspected(ctx, in.EnterpriseID, in.InspectedOn)
	})
	return res, err
}

// PendingSignatures returns the opinion forms waiting for userid's signature,
// oldest first.
func (s *Store) PendingSignatures(ctx context.Context, userid string) ([]InspectionSigner, error) {
	var out []InspectionSigner
	err := s.sel(ctx, &out, `SELECT inspection_id, role, userid, state, reason, at FROM inspection_signatures
		WHERE lower(userid) = lower(?) AND state = ? ORDER BY inspection_id, role`, userid, SignPending)
	return out, err
}

// FindOfficials returns up to limit active officials (township, department,
// office) whose name contains part or whose userid is part, by name.
func (s *Store) FindOfficials(ctx context.Context, part string, limit int) ([]safetybot.Person, error) {
	if limit <= 0 {
		limit = 10
	}
	var rows []personRow
	err := s.sel(ctx, &rows, `SELECT `+personCols+` FROM people
		WHERE active = TRUE AND role IN ('township', 'department', 'office') AND (name LIKE ? ESCAPE '\' OR lower(userid) = lower(?))
		ORDER BY length(name), name, id LIMIT `+fmt.Sprint(limit), "%"+likeEscape(part)+"%", part)
	out := make([]safetybot.Person, len(rows))
	for i, r := range rows {
		out[i] = r.Person
	}
	return out, err
}

// SafetyOfficers returns the enterprise's safety officers.
func (s *Store) SafetyOfficers(ctx context.Context, enterpriseID int64) ([]safetybot.Person, error) {
	var rows []personRow
	err := s.sel(ctx, &rows, `SELECT p.id, p.userid, p.name, p.role, p.township, p.department, p.leader, p.phone, p.active, p.created_at, p.updated_at
		FROM people p JOIN contacts c ON c.person_id = p.id WHERE c.enterprise_id = ? AND c.role = 'safety_officer' AND p.active = TRUE ORDER BY p.userid`, enterpriseID)
	out := make([]safetybot.Person, len(rows))
	for i, r := range rows {
		out[i] = r.Person
	}
	return out, err
}

// ActiveCampaignSettings returns the settings of the newest campaign with the
// plan's defaults filled in (the defaults alone when no campaign is stored).
func (s *Store) ActiveCampaignSettings(ctx context.Context) (safetybot.CampaignSettings, error) {
	var raw []string
	if err := s.sel(ctx, &raw, `SELECT settings FROM campaigns ORDER BY id DESC LIMIT 1`); err != nil {
		return safetybot.CampaignSettings{}.WithDefaults(), err
	}
	var cs safetybot.CampaignSettings
	if len(raw) > 0 && strings.TrimSpace(raw[0]) != "" {
		if err := json.Unmarshal([]byte(raw[0]), &cs); err != nil {
			return safetybot.CampaignSettings{}.WithDefaults(), fmt.Errorf("campaign settings: %w", err)
		}
	}
	return cs.WithDefaults(), nil
}
