package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"safetybot"
	"safetybot/messages"
	"safetybot/store"
)

// fieldwork is officials' work in the field: leader-led inspections (S5), the
// on-site inspection opinion form with its signatures (S9), and undercover and
// cross-check visits with photo evidence and a written notice (S10). Each is a
// short chat form whose state lives in the conversation row.
type fieldwork struct {
	store *store.Store
	loc   *time.Location
	// isCommand reports whether text is a command word of the router: such
	// input inside a form is answered as a command and the form stays open.
	isCommand func(text string) bool
}

// Conversation kinds of field work.
const (
	convField  = "fieldwork"   // a form being filled
	convRefuse = "insp_refuse" // waiting for the reason of a refusal
)

// Steps of the forms.
const (
	stepEnterprise    = "enterprise"
	stepDate          = "date"
	stepFindings      = "findings" // led: what was found
	stepItems         = "items"
	stepProblems      = "problems"
	stepRectification = "rectification"
	stepPhotos        = "photos"
	stepHazards       = "hazards"
	stepSigner        = "signer" // an official signer named in chat
	stepConfirm       = "confirm"
)

// fieldForm is the state of a form being filled.
type fieldForm struct {
	Kind          string                   `json:"kind"`
	Step          string                   `json:"step"`
	Candidates    []int64                  `json:"candidates,omitempty"`
	EnterpriseID  int64                    `json:"enterprise_id,omitempty"`
	Enterprise    string                   `json:"enterprise,omitempty"`
	Township      string                   `json:"township,omitempty"`
	Date          string                   `json:"date,omitempty"`
	Items         string                   `json:"items,omitempty"`
	Findings      string                   `json:"findings,omitempty"`
	Rectification string                   `json:"rectification,omitempty"`
	Deadline      string                   `json:"deadline,omitempty"`
	Photos        []string                 `json:"photos,omitempty"`
	Hazards       []store.InspectionHazard `json:"hazards,omitempty"`
	// Official signers named in chat: role → userid and name.
	Signers     map[string]string `json:"signers,omitempty"`
	SignerNames map[string]string `json:"signer_names,omitempty"`
	SignerRole  string            `json:"signer_role,omitempty"` // asked at stepSigner
	People      []string          `json:"people,omitempty"`      // userids offered by number
}

func (f *fieldForm) led() bool { return f.Kind == store.InspectionLed }

// evidenceRequired: undercover and cross-check visits need photo evidence (S10).
func (f *fieldForm) evidenceRequired() bool {
	return f.Kind == store.InspectionUndercover || f.Kind == store.InspectionCross
}

// cityWide: cross-checks and undercover visits go outside one's own area.
func (f *fieldForm) cityWide() bool { return f.evidenceRequired() }

const fieldTTL = 24 * time.Hour

func (h *fieldwork) today() time.Time { return h.store.Now().In(h.loc) }

// startLed answers 带队检查: only township and department leaders log them.
func (h *fieldwork) startLed(ctx context.Context, req *Request) (messages.Reply, error) {
	p := req.Person
	switch {
	case p == nil:
		return messages.Reply{messages.Text(messages.NotRegistered)}, nil
	case !p.Leader || (p.Role != safetybot.RoleTownship && p.Role != safetybot.RoleDepartment):
		return messages.Reply{messages.Text(messages.OnlyLeadersLog)}, nil
	}
	return h.start(ctx, req, store.InspectionLed)
}

// startForm answers 现场检查, 暗查 and 交叉检查: any official fills them.
func (h *fieldwork) startForm(kind string) Func {
	return func(ctx context.Context, req *Request) (messages.Reply, error) {
		switch {
		case req.Person == nil:
			return messages.Reply{messages.Text(messages.NotRegistered)}, nil
		case !req.Person.Role.IsOfficial():
			return messages.Reply{messages.Text(messages.OnlyOfficialsForm)}, nil
		}
		return h.start(ctx, req, kind)
	}
}

func (h *fieldwork) start(ctx context.Context, req *Request, kind string) (messages.Reply, error) {
	f := &fieldForm{Kind: kind, Step: stepEnterprise}
	if req.Args != "" {
		return h.enterpriseStep(ctx, req, f, req.Args)
	}
	return h.save(ctx, req, f, messages.AskFieldEnterprise)
}

func (h *fieldwork) save(ctx context.Context, req *Request, f *fieldForm, text string) (messages.Reply, error) {
	if err := h.store.PutConversation(ctx, req.In.From, convField, f, fieldTTL); err != nil {
		return nil, err
	}
	return messages.Reply{messages.Text(text)}, nil
}

// answer takes the next answer of an open form.
func (h *fieldwork) answer(ctx context.Context, req *Request) (messages.Reply, error) {
	conv, err := h.store.FindConversation(ctx, req.In.From)
	if err != nil {
		return nil, err
	}
	f := &fieldForm{}
	if err := json.Unmarshal([]byte(conv.Data), f); err != nil {
		return nil, err
	}
	if req.Person == nil {
		return messages.Reply{messages.Text(messages.NotRegistered)}, h.store.DeleteConversation(ctx, req.In.From)
	}
	switch req.In.Kind {
	case messages.KindImage:
		return h.photo(ctx, req, f)
	case messages.KindText:
	default:
		return messages.Reply{messages.Text(h.prompt(ctx, f))}, nil
	}
	text := req.Text
	if text == "取消" {
		return messages.Reply{messages.Text(messages.FieldCancelled)}, h.store.DeleteConversation(ctx, req.In.From)
	}
	if h.isCommand != nil && h.isCommand(text) && !isFormWord(text) {
		return nil, errPass
	}
	today := h.today()
	switch f.Step {
	case stepEnterprise:
		return h.enterpriseStep(ctx, req, f, text)
	case stepDate:
		d, ok := parseInspectionDay(text, today)
		switch {
		case !ok:
			return messages.Reply{messages.Text(messages.AskDateAgain)}, nil
		case d.After(civil(today)):
			return messages.Reply{messages.Text(messages.FutureDate)}, nil
		}
		f.Date = d.Format("2006-01-02")
		f.Step = stepItems
		if f.led() {
			f.Step = stepFindings
		}
	case stepFindings:
		if !isNone(text) {
			f.Findings = text
		}
		f.Step = stepPhotos
	case stepProblems:
		if !isNone(text) {
			f.Findings = text
		}
		f.Step = stepRectification
	case stepItems:
		if !isNone(text) {
			f.Items = text
		}
		f.Step = stepProblems
	case stepRectification:
		if !isNone(text) {
			f.Rectification, f.Deadline = parseRectification(text, today)
		}
		f.Step = stepPhotos
	case stepPhotos:
		if !isDone(text) && !isNone(text) {
			return messages.Reply{messages.Text(h.prompt(ctx, f))}, nil
		}
		if f.evidenceRequired() && len(f.Photos) == 0 {
			return messages.Reply{messages.Text(messages.NeedPhoto)}, nil
		}
		if f.led() {
			f.Step = stepHazards
		} else if err := h.nextSigner(ctx, f); err != nil {
			return nil, err
		}
	case stepHazards:
		if isDone(text) || isNone(text) {
			f.Step = stepConfirm
			break
		}
		cs, err := h.store.ActiveCampaignSettings(ctx)
		if err != nil {
			return nil, err
		}
		hz, err := parseHazard(text, today, cs.DefaultDeadlineDays)
		if err != nil {
			return messages.Reply{messages.Text(safetybot.ErrorMessage(err))}, nil
		}
		f.Hazards = append(f.Hazards, hz)
		return h.save(ctx, req, f, messages.HazardNoted(len(f.Hazards), hz.Description, hz.Grade, hz.Deadline))
	case stepSigner:
		return h.signerStep(ctx, req, f, text)
	case stepConfirm:
		if text != "确认" {
			return messages.Reply{messages.Text(messages.AskConfirm)}, nil
		}
		if f.led() {
			return h.submitLed(ctx, req, f)
		}
		return h.submitForm(ctx, req, f)
	}
	return h.save(ctx, req, f, h.prompt(ctx, f))
}

// prompt is the question of the form's current step.
func (h *fieldwork) prompt(ctx context.Context, f *fieldForm) string {
	switch f.Step {
	case stepEnterprise:
		return messages.AskFieldEnterprise
	case stepDate:
		return messages.AskFieldDate
	case stepFindings:
		return messages.AskFindings
	case stepItems:
		return messages.AskItems
	case stepProblems:
		return messages.AskProblems
	case stepRectification:
		return messages.AskRectification
	case stepPhotos:
		if f.evidenceRequired() {
			return messages.AskPhotosRequired
		}
		return messages.AskPhotos
	case stepHazards:
		return messages.AskHazards
	case stepSigner:
		return messages.AskSigner(store.SignerLabel(f.SignerRole))
	case stepConfirm:
		if f.led() {
			return messages.LedSummary(h.view(f, ""))
		}
		return messages.InspectionSummary(h.view(f, ""))
	}
	return messages.AskConfirm
}

func (h *fieldwork) view(f *fieldForm, inspector string) messages.InspectionView {
	v := messages.InspectionView{Kind: f.Kind, Enterprise: f.Enterprise, Township: f.Township, Date: f.Date, Inspector: inspector,
		Items: f.Items, Findings: f.Findings, Rectification: f.Rectification, Deadline: f.Deadline, Photos: len(f.Photos)}
	for _, hz := range f.Hazards {
		v.Hazards = append(v.Hazards, messages.FieldHazard{Description: hz.Description, Grade: hz.Grade, Deadline: hz.Deadline})
	}
	return v
}

// photo takes a photo at any step; the photo step asks for more.
func (h *fieldwork) photo(ctx context.Context, req *Request, f *fieldForm) (messages.Reply, error) {
	if req.In.PhotoError != "" {
		return messages.Reply{messages.Text(req.In.PhotoError)}, nil
	}
	if req.In.PhotoSHA256 == "" {
		return messages.Reply{messages.Text("照片没有收到，请重新发送。")}, nil
	}
	if !slices.Contains(f.Photos, req.In.PhotoSHA256) {
		f.Photos = append(f.Photos, req.In.PhotoSHA256)
	}
	if f.Step == stepPhotos {
		return h.save(ctx, req, f, messages.PhotoNoted(len(f.Photos)))
	}
	return h.save(ctx, req, f, fmt.Sprintf(messages.PhotoAtWrongStep, len(f.Photos))+"\n"+h.prompt(ctx, f))
}

// fieldScope is where the asker may pick enterprises: their own scope, or the
// whole city for cross-checks and undercover visits.
func fieldScope(req *Request, f *fieldForm) store.Scope {
	sc := store.ScopeOf(*req.Person)
	if f.cityWide() {
		sc.Role = safetybot.RoleOffice
	}
	return sc
}

// enterpriseStep searches by part of the name, or takes a number of the list.
func (h *fieldwork) enterpriseStep(ctx context.Context, req *Request, f *fieldForm, text string) (messages.Reply, error) {
	sc := fieldScope(req, f)
	if n, err := strconv.Atoi(text); err == nil && len(f.Candidates) > 0 {
		if n < 1 || n > len(f.Candidates) {
			return messages.Reply{messages.Text(messages.PickRange(len(f.Candidates)))}, nil
		}
		e, err := h.store.EnterpriseInScope(ctx, sc, f.Candidates[n-1])
		if err != nil {
			return nil, err
		}
		return h.chooseEnterprise(ctx, req, f, e)
	}
	found, total, err := h.store.FindEnterprisesInScope(ctx, sc, text, 8)
	if msg := safetybot.ErrorMessage(err); msg != "" && safetybot.ErrorCode(err) == safetybot.EFORBIDDEN {
		return h.save(ctx, req, f, msg+"\n"+messages.AskFieldEnterprise)
	} else if err != nil {
		return nil, err
	}
	switch len(found) {
	case 0:
		return h.save(ctx, req, f, messages.NoEnterpriseFound(text))
	case 1:
		return h.chooseEnterprise(ctx, req, f, found[0])
	}
	f.Candidates = nil
	var names []string
	for _, e := range found {
		f.Candidates = append(f.Candidates, e.ID)
		names = append(names, e.Name+"［"+e.Township+"］")
	}
	return h.save(ctx, req, f, messages.PickEnterpriseText(names, total))
}

func (h *fieldwork) chooseEnterprise(ctx context.Context, req *Request, f *fieldForm, e safetybot.Enterprise) (messages.Reply, error) {
	if !f.led() {
		// The enterprise's signers must be in the roster before the form is filled.
		cs, err := h.store.ActiveCampaignSettings(ctx)
		if err != nil {
			return nil, err
		}
		for _, role := range cs.InspectionSigners {
			switch role {
			case store.SignerPrincipal:
				ps, err := h.store.Principals(ctx, e.ID)
				if err != nil {
					return nil, err
				}
				if len(ps) == 0 {
					f.Candidates = nil
					return h.save(ctx, req, f, messages.NoEnterprisePrincipal)
				}
			case store.SignerSafetyOfficer:
				ps, err := h.store.SafetyOfficers(ctx, e.ID)
				if err != nil {
					return nil, err
				}
				if len(ps) == 0 {
					f.Candidates = nil
					return h.save(ctx, req, f, messages.NoEnterpriseOfficer)
				}
			}
		}
	}
	f.Candidates, f.EnterpriseID, f.Enterprise, f.Township = nil, e.ID, e.Name, e.Township
	f.Step = stepDate
	return h.save(ctx, req, f, "企业："+e.Name+"［"+e.Township+"］\n"+messages.AskFieldDate)
}

// officialSigner reports whether a signer role is an official named in chat
// (not the inspector, not someone of the enterprise).
func officialSigner(role string) bool {
	return role != store.SignerInspector && role != store.SignerPrincipal && role != store.SignerSafetyOfficer
}

// nextSigner moves the form to the next official signer still to be named,
// or to the confirmation.
func (h *fieldwork) nextSigner(ctx context.Context, f *fieldForm) error {
	cs, err := h.store.ActiveCampaignSettings(ctx)
	if err != nil {
		return err
	}
	for _, role := range cs.InspectionSigners {
		if officialSigner(role) && f.Signers[role] == "" {
			f.Step, f.SignerRole, f.People = stepSigner, role, nil
			return nil
		}
	}
	f.Step, f.SignerRole, f.People = stepConfirm, "", nil
	return nil
}

// signerStep finds the official named for f.SignerRole.
func (h *fieldwork) signerStep(ctx context.Context, req *Request, f *fieldForm, text string) (messages.Reply, error) {
	var p *safetybot.Person
	if n, err := strconv.Atoi(text); err == nil && len(f.People) > 0 {
		if n < 1 || n > len(f.People) {
			return messages.Reply{messages.Text(messages.PickRange(len(f.People)))}, nil
		}
		found, err := h.store.FindPerson(ctx, f.People[n-1])
		if err != nil {
			return nil, err
		}
		p = &found
	} else {
		found, err := h.store.FindOfficials(ctx, text, 8)
		if err != nil {
			return nil, err
		}
		switch len(found) {
		case 0:
			return h.save(ctx, req, f, messages.NoPersonFound(text))
		case 1:
			p = &found[0]
		default:
			f.People = nil
			var lines []string
			for _, o := range found {
				f.People = append(f.People, o.UserID)
				where := o.Township
				if where == "" {
					where = o.Department
				}
				lines = append(lines, o.Name+"［"+where+"］")
			}
			return h.save(ctx, req, f, messages.PickPersonText(lines))
		}
	}
	if strings.EqualFold(p.UserID, req.In.From) {
		f.People = nil
		return h.save(ctx, req, f, "不能填写您自己，请发送另一位干部的姓名。")
	}
	for role, u := range f.Signers {
		if strings.EqualFold(u, p.UserID) && role != f.SignerRole {
			f.People = nil
			return h.save(ctx, req, f, p.Name+"已是"+store.SignerLabel(role)+"，请换一位。")
		}
	}
	if f.Signers == nil {
		f.Signers, f.SignerNames = map[string]string{}, map[string]string{}
	}
	f.Signers[f.SignerRole], f.SignerNames[f.SignerRole] = p.UserID, p.Name
	named := store.SignerLabel(f.SignerRole) + "：" + p.Name
	if err := h.nextSigner(ctx, f); err != nil {
		return nil, err
	}
	return h.save(ctx, req, f, named+"\n"+h.prompt(ctx, f))
}

// submitLed stores a led inspection with its hazards.
func (h *fieldwork) submitLed(ctx context.Context, req *Request, f *fieldForm) (messages.Reply, error) {
	in := &store.Inspection{Kind: f.Kind, EnterpriseID: f.EnterpriseID, Inspector: req.Person.UserID, InspectedOn: f.Date,
		Findings: f.Findings, Photos: f.Photos}
	if err := h.store.CreateInspection(ctx, in, f.Hazards, nil); err != nil {
		return nil, err
	}
	if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
		return nil, err
	}
	led, err := h.store.LedInspections(ctx, store.ScopeOf(*req.Person), h.today().Format("2006-01-02"))
	if err != nil {
		return nil, err
	}
	cs, err := h.store.ActiveCampaignSettings(ctx)
	if err != nil {
		return nil, err
	}
	return messages.Reply{messages.Text(messages.LedDone(f.Enterprise, len(f.Hazards), len(led), cs.LedInspectionTarget))}, nil
}

// submitForm stores an opinion form, sends each pending signer the record and
// a card to sign, and for undercover and cross-check visits sends the written
// notice to the township officials and the supervising department (S10).
func (h *fieldwork) submitForm(ctx context.Context, req *Request, f *fieldForm) (messages.Reply, error) {
	cs, err := h.store.ActiveCampaignSettings(ctx)
	if err != nil {
		return nil, err
	}
	e, err := h.store.FindEnterprise(ctx, f.EnterpriseID)
	if err != nil {
		return nil, err
	}
	var signers []store.InspectionSigner
	names := map[string]string{} // role → name
	for _, role := range cs.InspectionSigners {
		sg := store.InspectionSigner{Role: role}
		switch role {
		case store.SignerInspector:
			sg.UserID, sg.State, names[role] = req.Person.UserID, store.SignSigned, req.Person.Name
		case store.SignerPrincipal, store.SignerSafetyOfficer:
			list, err := h.store.Principals(ctx, e.ID)
			if role == store.SignerSafetyOfficer {
				list, err = h.store.SafetyOfficers(ctx, e.ID)
			}
			if err != nil {
				return nil, err
			}
			if len(list) == 0 {
				return nil, safetybot.Errorf(safetybot.EINVALID, "%s未登记，无法签字，记录没有保存。", store.SignerLabel(role))
			}
			sg.UserID, names[role] = list[0].UserID, list[0].Name
		default:
			sg.UserID, names[role] = f.Signers[role], f.SignerNames[role]
			if sg.UserID == "" {
				return nil, safetybot.Errorf(safetybot.EINVALID, "还没有填写%s。", store.SignerLabel(role))
			}
		}
		signers = append(signers, sg)
	}
	in := &store.Inspection{Kind: f.Kind, EnterpriseID: e.ID, Inspector: req.Person.UserID, Accompanying: f.Signers[store.SignerAccompanying],
		InspectedOn: f.Date, Items: f.Items, Findings: f.Findings, Rectification: f.Rectification, Photos: f.Photos}
	if f.Deadline != "" {
		in.Deadline = &f.Deadline
	}
	if err := h.store.CreateInspection(ctx, in, nil, signers); err != nil {
		return nil, err
	}
	if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
		return nil, err
	}
	v := h.view(f, req.Person.Name)
	v.ID = in.ID
	for _, sg := range signers {
		v.Signers = append(v.Signers, names[sg.Role]+"（"+store.SignerLabel(sg.Role)+"）")
	}
	var reply messages.Reply
	var waiting []string
	for _, sg := range signers {
		if sg.State == store.SignSigned {
			continue
		}
		waiting = append(waiting, names[sg.Role])
		to := []string{sg.UserID}
		reply = append(reply, messages.TextTo(to, messages.InspectionText(v)),
			messages.Card(to, messages.InspectionCard(v, sg.Role, store.SignerLabel(sg.Role))))
	}
	notified := 0
	if f.evidenceRequired() {
		groups := []string{store.GroupTownshipOfficials + e.Township}
		if e.Department != "" {
			groups = append(groups, store.GroupDepartment+e.Department)
		}
		n, out, err := h.writtenNotice(ctx, req.Person, groups, messages.WrittenNotice(v))
		if err != nil {
			return nil, err
		}
		notified = n
		reply = append(reply, out...)
	}
	return append(messages.Reply{messages.Text(messages.InspectionCreated(in.ID, waiting, notified))}, reply...), nil
}

// writtenNotice stores the S10 notice and returns the messages that carry it.
// Groups naming a department not in the directory are left out.
func (h *fieldwork) writtenNotice(ctx context.Context, sender *safetybot.Person, groups []string, body string) (int, messages.Reply, error) {
	var valid []string
	for _, g := range groups {
		if err := h.store.ValidateNotice(ctx, body, []string{g}); err == nil {
			valid = append(valid, g)
		} else if safetybot.ErrorCode(err) != safetybot.EINVALID {
			return 0, nil, err
		}
	}
	if len(valid) == 0 {
		return 0, nil, nil
	}
	to, err := h.store.NoticeAudience(ctx, valid)
	if err != nil {
		return 0, nil, err
	}
	to = slices.DeleteFunc(to, func(u string) bool { return strings.EqualFold(u, sender.UserID) })
	n := &store.Notice{Body: body, Groups: valid, Sender: sender.UserID, TaskID: fmt.Sprintf("notice-s10-%d", h.store.Now().UnixNano())}
	if err := h.store.CreateNotice(ctx, n, to); err != nil {
		return 0, nil, err
	}
	if len(to) == 0 {
		return 0, nil, nil
	}
	return len(to), messages.Reply{messages.TextTo(to, body)}, nil
}

// button handles a tap on 签字确认 or 拒签: req.Args is "sign:<id>:<role>" or "refuse:<id>:<role>".
func (h *fieldwork) button(ctx context.Context, req *Request) (messages.Reply, error) {
	parts := strings.SplitN(req.Args, ":", 3)
	if len(parts) != 3 {
		return messages.Reply{messages.Text(messages.StaleCard)}, nil
	}
	id, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return messages.Reply{messages.Text(messages.StaleCard)}, nil
	}
	if req.Person == nil {
		return messages.Reply{messages.Text(messages.NotRegistered)}, nil
	}
	action, role := parts[0], parts[2]
	switch action {
	case messages.InspectionSignKey:
		return h.sign(ctx, req, id, role, false, "", req.In.ResponseCode)
	case messages.InspectionRefuseKey:
		_, signers, err := h.store.FindInspection(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, sg := range signers {
			if sg.Role != role || !strings.EqualFold(sg.UserID, req.In.From) {
				continue
			}
			if sg.State != store.SignPending {
				return h.already(req, id, sg.State, req.In.ResponseCode), nil
			}
			st := refuseState{ID: id, Role: role, ResponseCode: req.In.ResponseCode}
			if err := h.store.PutConversation(ctx, req.In.From, convRefuse, st, 72*time.Hour); err != nil {
				return nil, err
			}
			return messages.Reply{messages.Text(messages.AskRefuseReason)}, nil
		}
		return nil, safetybot.Errorf(safetybot.EFORBIDDEN, "这份检查意见书不需要您签字。")
	}
	return messages.Reply{messages.Text(messages.StaleCard)}, nil
}

type refuseState struct {
	ID           int64  `json:"id"`
	Role         string `json:"role"`
	ResponseCode string `json:"response_code,omitempty"`
}

// refuseReason takes the reason of a refusal.
func (h *fieldwork) refuseReason(ctx context.Context, req *Request) (messages.Reply, error) {
	conv, err := h.store.FindConversation(ctx, req.In.From)
	if err != nil {
		return nil, err
	}
	var st refuseState
	if err := json.Unmarshal([]byte(conv.Data), &st); err != nil {
		return nil, err
	}
	if req.In.Kind != messages.KindText || req.Text == "" {
		return messages.Reply{messages.Text(messages.AskRefuseReason)}, nil
	}
	if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
		return nil, err
	}
	if h.isCommand != nil && h.isCommand(req.Text) {
		// A command, not a reason: no refusal; the card can be tapped again.
		return nil, errPass
	}
	if req.Text == "取消" {
		return messages.Reply{messages.Text(messages.RefuseCancelled)}, nil
	}
	return h.sign(ctx, req, st.ID, st.Role, true, req.Text, st.ResponseCode)
}

func (h *fieldwork) already(req *Request, id int64, state, code string) messages.Reply {
	reply := messages.Reply{messages.Text(messages.InspectionAlreadyAnswered(id, state))}
	if code != "" {
		reply = append(reply, messages.ReplaceButton([]string{req.In.From}, code, messages.SignLabel(state == store.SignRefused)))
	}
	return reply
}

// sign records a signature or refusal; when it completes the record, the
// inspector hears who signed.
func (h *fieldwork) sign(ctx context.Context, req *Request, id int64, role string, refuse bool, reason, code string) (messages.Reply, error) {
	res, err := h.store.SignInspection(ctx, id, role, req.In.From, refuse, reason)
	if err != nil {
		return nil, err
	}
	if res.Already {
		return h.already(req, id, res.Signer.State, code), nil
	}
	reply := messages.Reply{messages.Text(messages.InspectionSigned(id, refuse))}
	if code != "" {
		reply = append(reply, messages.ReplaceButton([]string{req.In.From}, code, messages.SignLabel(refuse)))
	}
	if res.Completed {
		e, err := h.store.FindEnterprise(ctx, res.Inspection.EnterpriseID)
		if err != nil {
			return nil, err
		}
		var lines []string
		for _, sg := range res.Signers {
			name := sg.UserID
			if p, err := h.store.FindPerson(ctx, sg.UserID); err == nil {
				name = p.Name
			}
			lines = append(lines, messages.SignerState(name, store.SignerLabel(sg.Role), sg.State, sg.Reason))
		}
		reply = append(reply, messages.TextTo([]string{res.Inspection.Inspector}, messages.InspectionCompleteText(id, e.Name, lines)))
	}
	return reply, nil
}

// isCommand reports whether text is one of the router's command words (an
// exact word, or a command word followed by its arguments).
func (r *Router) isCommand(text string) bool {
	if _, ok := r.exact[text]; ok {
		return true
	}
	for _, p := range r.prefix {
		if text == p.word || strings.HasPrefix(text, p.word+" ") {
			return true
		}
	}
	return false
}
