package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"safetybot"
	"safetybot/messages"
	"safetybot/messages/form"
	"safetybot/store"
)

// SubmissionAnswers is the JSON stored in a submission's answers: the items
// as shown (so the report renders without the definitions), the hazards, and
// the engine's State (so a correction after 退回 starts from the answers).
type SubmissionAnswers struct {
	Title      string             `json:"title"`
	Enterprise string             `json:"enterprise"`
	Form       string             `json:"form"`
	Version    string             `json:"version"`
	Items      []form.ItemResult  `json:"items"`
	Hazards    []form.HazardDraft `json:"hazards"`
	State      form.State         `json:"state"`
}

// submit stores a finished form: the submission (signed when the principal
// signed while submitting), its photos, the hazards of failed items, and the
// messages that follow — the signature card to the principal, the 重大 hazard
// cards to the township and the department, the key unit's written report to
// its department. Everything is in the handler's transaction.
func (h *selfCheck) submit(ctx context.Context, req *Request, d store.Draft, data draftData, f *form.Form, st form.State, out form.Output) (messages.Reply, error) {
	e, err := h.store.FindEnterprise(ctx, d.EnterpriseID)
	if err != nil {
		return nil, err
	}
	items, hazards := f.Items(st), f.Hazards(st)
	ans := SubmissionAnswers{Title: f.Title, Enterprise: e.Name, Form: f.Key, Version: f.Version(), Items: items, Hazards: hazards, State: st}
	b, err := json.Marshal(ans)
	if err != nil {
		return nil, err
	}
	var photos []store.SubmissionPhoto
	for _, it := range items {
		add := func(kind string, shas []string) {
			for _, p := range shas {
				photos = append(photos, store.SubmissionPhoto{ItemKey: it.Key, Kind: kind, SHA256: p})
			}
		}
		add(store.PhotoAnswer, it.Answer.Photos)
		if it.Failed && it.Answer.Failure != nil {
			add(store.PhotoProblem, it.Answer.Failure.Photos)
			add(store.PhotoFixed, it.Answer.Failure.FixedPhotos)
		}
	}
	sub, err := h.store.CreateSubmission(ctx, store.NewSubmission{EnterpriseID: e.ID, Period: d.Period, FormKey: f.Key,
		FormVersion: f.Version(), Answers: string(b), Filler: req.In.From, FillerRole: st.Ctx.Role, Signed: st.Signed, Photos: photos})
	if safetybot.ErrorCode(err) == safetybot.ECONFLICT && sub.ID != 0 {
		// Someone else submitted this month while the user was filling.
		if err := h.closeDraft(ctx, req.In.From); err != nil {
			return nil, err
		}
		return text(messages.SelfCheckConflict(e.Name, d.Period, h.personName(ctx, sub.Filler), sub.CreatedAt, h.loc)), nil
	}
	if err != nil {
		return nil, err
	}
	if err := h.closeDraft(ctx, req.In.From); err != nil {
		return nil, err
	}
	created, err := h.registerHazards(ctx, e, sub, hazards, items)
	if err != nil {
		return nil, err
	}

	reply := messages.Reply{messages.Text(out.Text)}
	if !sub.Signed() {
		card, err := h.signCard(ctx, e, sub, &ans)
		if err != nil {
			return nil, err
		}
		if len(card.To) == 0 {
			reply[0] = messages.Text(out.Text + "\n" + messages.SelfCheckNoPrincipal)
		} else {
			reply = append(reply, card)
		}
	}
	more, err := h.afterSubmit(ctx, e, sub, &ans, created)
	if err != nil {
		return nil, err
	}
	return append(reply, more...), nil
}

func (h *selfCheck) closeDraft(ctx context.Context, user string) error {
	if err := h.store.DeleteDraft(ctx, user); err != nil {
		return err
	}
	return h.store.DeleteConversation(ctx, user)
}

// registerHazards creates a hazard for every failed item of the submission
// that the month's earlier versions did not already register (a correction
// does not register the same item twice): 已整改 when fixed on the spot with a
// photo, else 整改中 with the deadline proposed or the campaign's default for
// the grade.
func (h *selfCheck) registerHazards(ctx context.Context, e safetybot.Enterprise, sub store.Submission, drafts []form.HazardDraft, items []form.ItemResult) ([]safetybot.Hazard, error) {
	if len(drafts) == 0 {
		return nil, nil
	}
	known := map[string]bool{}
	if sub.Version > 1 {
		prev, err := h.store.ListHazards(ctx, store.HazardFilter{EnterpriseID: e.ID, Period: sub.Period})
		if err != nil {
			return nil, err
		}
		for _, hz := range prev {
			known[hz.ItemKey] = true
		}
	}
	settings, err := h.store.LatestCampaignSettings(ctx)
	if err != nil {
		return nil, err
	}
	short := map[string]string{}
	for _, it := range items {
		short[it.Key] = it.Short
	}
	today := h.now()
	var in []store.NewHazard
	for _, hd := range drafts {
		if known[hd.ItemKey] {
			continue
		}
		hz := hd.Hazard(e.ID, sub.Filler, today)
		nh := store.NewHazard{ItemKey: hz.ItemKey, Description: short[hz.ItemKey] + "：" + hz.Description, Grade: hz.Grade,
			Status: hz.Status, Deadline: hz.Deadline, Photos: hd.Photos, FixedPhotos: hd.FixedPhotos, FoundBy: hz.FoundBy, Note: "自查登记"}
		switch {
		case hz.Status == safetybot.HazardFixed:
			nh.Note = "自查时当场整改，附整改照片"
		case hd.FixedOnSpot:
			nh.Note = "自查称已当场整改，未附整改照片"
		}
		if nh.Deadline == nil && nh.Status.Open() {
			days := settings.DefaultDeadlineDays[hd.Grade]
			if days <= 0 {
				days = 7
			}
			t := time.Date(today.Year(), today.Month(), today.Day()+days, 0, 0, 0, 0, time.UTC)
			nh.Deadline = &t
		}
		in = append(in, nh)
	}
	return h.store.CreateHazards(ctx, e.ID, sub.ID, in)
}

// afterSubmit says who else must know about a new submission: officials of a
// 重大 hazard, the department of a signed key unit, and the official who sent
// the previous version back.
func (h *selfCheck) afterSubmit(ctx context.Context, e safetybot.Enterprise, sub store.Submission, ans *SubmissionAnswers, created []safetybot.Hazard) (messages.Reply, error) {
	var reply messages.Reply
	var majors []messages.MajorHazard
	for _, hz := range created {
		if hz.Grade != safetybot.GradeMajor {
			continue
		}
		due := "已当场整改"
		if hz.Deadline != nil {
			due = "限" + hz.Deadline.Format("2006年1月2日") + "前整改"
		}
		item, problem, _ := strings.Cut(hz.Description, "：")
		majors = append(majors, messages.MajorHazard{Item: item, Problem: problem, Deadline: due})
	}
	township, department, err := h.officialsOf(ctx, e)
	if err != nil {
		return nil, err
	}
	summary, err := h.summary(ctx, e, sub, ans)
	if err != nil {
		return nil, err
	}
	if len(majors) > 0 {
		to := append(slices.Clone(township), department...)
		if len(to) > 0 {
			reply = append(reply, messages.Card(to, messages.SelfCheckMajorHazardCard(summary, majors, taskID("scmh"))))
		}
	}
	if sub.Signed() {
		more, err := h.afterSigned(ctx, e, sub, summary)
		if err != nil {
			return nil, err
		}
		reply = append(reply, more...)
	} else if sub.Version > 1 {
		reply = append(reply, h.tellReturner(ctx, e, sub)...)
	}
	return reply, nil
}

// afterSigned is what follows a signature: the key unit's written report to
// its department (S7) and news for the official who sent it back.
func (h *selfCheck) afterSigned(ctx context.Context, e safetybot.Enterprise, sub store.Submission, summary messages.SubmissionSummary) (messages.Reply, error) {
	var reply messages.Reply
	if e.KeyUnit {
		_, department, err := h.officialsOf(ctx, e)
		if err != nil {
			return nil, err
		}
		if len(department) > 0 {
			reply = append(reply, messages.Card(department, messages.SelfCheckKeyUnitCard(summary, taskID("scku"))))
		}
	}
	if sub.Version > 1 {
		reply = append(reply, h.tellReturner(ctx, e, sub)...)
	}
	return reply, nil
}

// tellReturner tells the official who sent the previous version back that a
// corrected one arrived.
func (h *selfCheck) tellReturner(ctx context.Context, e safetybot.Enterprise, sub store.Submission) messages.Reply {
	vs, err := h.store.SubmissionVersions(ctx, e.ID, sub.Period)
	if err != nil || len(vs) < 2 {
		return nil
	}
	prev := vs[len(vs)-2]
	if prev.ReturnedBy == "" || prev.ReturnedBy == sub.Filler {
		return nil
	}
	p, err := h.store.FindPerson(ctx, prev.ReturnedBy)
	if err != nil || !p.Role.IsOfficial() {
		return nil
	}
	return messages.Reply{messages.TextTo([]string{p.UserID}, messages.SelfCheckResubmitted(e.Name, sub.Period, sub.Version, sub.Signed()))}
}

// officialsOf returns the userids of the enterprise's township officials and
// of its supervising department's officials.
func (h *selfCheck) officialsOf(ctx context.Context, e safetybot.Enterprise) (township, department []string, err error) {
	ts, err := h.store.ListPeople(ctx, safetybot.RoleTownship, e.Township)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range ts {
		township = append(township, p.UserID)
	}
	if e.Department == "" {
		return township, nil, nil
	}
	ds, err := h.store.ListPeople(ctx, safetybot.RoleDepartment, "")
	if err != nil {
		return nil, nil, err
	}
	for _, p := range ds {
		if p.Department == e.Department {
			department = append(department, p.UserID)
		}
	}
	return township, department, nil
}

func (h *selfCheck) personName(ctx context.Context, userid string) string {
	if p, err := h.store.FindPerson(ctx, userid); err == nil {
		return p.Name
	}
	return userid
}

// summary is what the cards about a submission show.
func (h *selfCheck) summary(ctx context.Context, e safetybot.Enterprise, sub store.Submission, ans *SubmissionAnswers) (messages.SubmissionSummary, error) {
	if ans == nil {
		ans = &SubmissionAnswers{}
		if err := json.Unmarshal([]byte(sub.Answers), ans); err != nil {
			return messages.SubmissionSummary{}, fmt.Errorf("submission %d answers: %w", sub.ID, err)
		}
	}
	major, fixed := 0, 0
	for _, hz := range ans.Hazards {
		if hz.Grade == safetybot.GradeMajor {
			major++
		}
		if hz.FixedOnSpot {
			fixed++
		}
	}
	link, err := h.link(ctx, sub.ID)
	if err != nil {
		return messages.SubmissionSummary{}, err
	}
	return messages.SubmissionSummary{ID: sub.ID, Enterprise: e.Name, Township: e.Township, Period: sub.Period,
		Filler: h.personName(ctx, sub.Filler), Outcome: messages.SelfCheckOutcome(len(ans.Items), len(ans.Hazards), major, fixed),
		Link: link, Version: sub.Version}, nil
}

// signCard is the card that asks the enterprise's principals to sign; its
// To is empty when no principal is registered.
func (h *selfCheck) signCard(ctx context.Context, e safetybot.Enterprise, sub store.Submission, ans *SubmissionAnswers) (messages.Outgoing, error) {
	ps, err := h.store.Principals(ctx, e.ID)
	if err != nil {
		return messages.Outgoing{}, err
	}
	var to []string
	for _, p := range ps {
		if p.Active {
			to = append(to, p.UserID)
		}
	}
	s, err := h.summary(ctx, e, sub, ans)
	if err != nil {
		return messages.Outgoing{}, err
	}
	out := messages.Card(to, messages.SelfCheckSignCard(s, taskID("scsign")))
	if len(to) == 0 {
		out.To = nil
	}
	return out, nil
}

// ---- signature, 退回修改, 退回补正 ----

// card dispatches the self-inspection's card buttons (req.Args follows "selfcheck:").
func (h *selfCheck) card(ctx context.Context, req *Request) (messages.Reply, error) {
	kind, rest, _ := strings.Cut(req.Args, ":")
	switch kind {
	case "start":
		req.Args = rest
		return h.start(ctx, req)
	case "opt":
		return h.option(ctx, req, rest)
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil {
		return text(messages.SelfCheckStaleCard), nil
	}
	switch kind {
	case "sign":
		return h.sign(ctx, req, id)
	case "reject":
		return h.askReason(ctx, req, id, reasonReject)
	case "return":
		return h.askReason(ctx, req, id, reasonReturn)
	}
	return text(messages.SelfCheckStaleCard), nil
}

// principalOf loads a submission and checks the sender is a principal of its enterprise.
func (h *selfCheck) principalOf(ctx context.Context, req *Request, id int64) (store.Submission, safetybot.Enterprise, string, error) {
	sub, err := h.store.FindSubmission(ctx, id)
	if err != nil {
		return sub, safetybot.Enterprise{}, "", err
	}
	e, err := h.store.FindEnterprise(ctx, sub.EnterpriseID)
	if err != nil {
		return sub, e, "", err
	}
	if req.Person == nil {
		return sub, e, messages.NotRegistered, nil
	}
	es, err := h.store.EnterprisesOf(ctx, req.In.From, safetybot.ContactPrincipal)
	if err != nil {
		return sub, e, "", err
	}
	if !slices.ContainsFunc(es, func(x safetybot.Enterprise) bool { return x.ID == e.ID }) {
		return sub, e, messages.SelfCheckOnlyPrinc, nil
	}
	return sub, e, "", nil
}

// sign handles 签字确认 on the signature card.
func (h *selfCheck) sign(ctx context.Context, req *Request, id int64) (messages.Reply, error) {
	sub, e, refuse, err := h.principalOf(ctx, req, id)
	if err != nil {
		return nil, err
	}
	if refuse != "" {
		return text(refuse), nil
	}
	sub, signed, err := h.store.SignSubmission(ctx, id, req.In.From)
	if safetybot.ErrorCode(err) == safetybot.ECONFLICT {
		return text(safetybot.ErrorMessage(err)), nil
	}
	if err != nil {
		return nil, err
	}
	if !signed {
		return h.withButton(req, messages.SelfCheckDoneLabel(messages.SelfCheckSignedLabel, signedAt(sub), h.loc),
			text(messages.SelfCheckSignedBefore(e.Name, sub.Period, signedAt(sub), h.loc))), nil
	}
	reply := h.withButton(req, messages.SelfCheckDoneLabel(messages.SelfCheckSignedLabel, signedAt(sub), h.loc),
		text(messages.SelfCheckSigned(e.Name, sub.Period)))
	if sub.Filler != req.In.From {
		reply = append(reply, messages.TextTo([]string{sub.Filler}, messages.SelfCheckSignedForFiller(e.Name, sub.Period, req.Person.Name)))
	}
	summary, err := h.summary(ctx, e, sub, nil)
	if err != nil {
		return nil, err
	}
	more, err := h.afterSigned(ctx, e, sub, summary)
	if err != nil {
		return nil, err
	}
	return append(reply, more...), nil
}

const (
	reasonReject = "reject" // the principal sends an unsigned form back to its filler
	reasonReturn = "return" // an official sends a submission back for correction
)

type reasonConv struct {
	Action       string `json:"action"`
	SubmissionID int64  `json:"submission_id"`
}

// askReason starts 退回修改 (principal) or 退回补正 (official): the next text
// is the reason.
func (h *selfCheck) askReason(ctx context.Context, req *Request, id int64, action string) (messages.Reply, error) {
	ask := messages.SelfCheckAskReject
	if action == reasonReject {
		sub, _, refuse, err := h.principalOf(ctx, req, id)
		if err != nil {
			return nil, err
		}
		if refuse != "" {
			return text(refuse), nil
		}
		if sub.State != safetybot.SubmissionAwaitingSignature {
			return text("这份自查现在是“" + sub.State + "”，不能退回修改。"), nil
		}
	} else {
		ask = messages.SelfCheckAskReturn
		sub, err := h.store.FindSubmission(ctx, id)
		if err != nil {
			return nil, err
		}
		e, err := h.store.FindEnterprise(ctx, sub.EnterpriseID)
		if err != nil {
			return nil, err
		}
		if !mayReturn(req.Person, e) {
			return text(messages.SelfCheckMayNotReturn), nil
		}
		if sub.State == safetybot.SubmissionReturned {
			return text("这份自查已经退回过了，正在等企业补正。"), nil
		}
	}
	if err := h.store.PutConversation(ctx, req.In.From, convSelfCheckReason, reasonConv{Action: action, SubmissionID: id}, 24*time.Hour); err != nil {
		return nil, err
	}
	return text(ask), nil
}

// mayReturn reports whether p may send the enterprise's submission back: its
// township's officials, its department's officials, and the city office.
func mayReturn(p *safetybot.Person, e safetybot.Enterprise) bool {
	if p == nil {
		return false
	}
	switch p.Role {
	case safetybot.RoleOffice:
		return true
	case safetybot.RoleTownship:
		return p.Township == e.Township
	case safetybot.RoleDepartment:
		return e.Department != "" && p.Department == e.Department
	}
	return false
}

// reason takes the reason of 退回修改 / 退回补正.
func (h *selfCheck) reason(ctx context.Context, req *Request) (messages.Reply, error) {
	conv, err := h.store.FindConversation(ctx, req.In.From)
	if err != nil {
		return nil, err
	}
	var rc reasonConv
	if err := json.Unmarshal([]byte(conv.Data), &rc); err != nil {
		return nil, err
	}
	if req.Text == "取消" {
		return text(messages.SelfCheckCancelled), h.store.DeleteConversation(ctx, req.In.From)
	}
	if req.In.Kind != messages.KindText || h.isOtherCommand(req.Text) {
		if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
			return nil, err
		}
		return nil, errPass
	}
	if rc.Action == reasonReject {
		return h.reject(ctx, req, rc.SubmissionID, strings.TrimSpace(req.In.Text))
	}
	sub, reply, err := ReturnSubmission(ctx, h.store, h.loc, ReturnInput{SubmissionID: rc.SubmissionID, By: req.In.From, Text: req.In.Text})
	if c := safetybot.ErrorCode(err); c == safetybot.EINVALID {
		return text(safetybot.ErrorMessage(err)), nil // ask again: the conversation stays
	} else if c == safetybot.ECONFLICT || c == safetybot.EFORBIDDEN {
		return text(safetybot.ErrorMessage(err)), h.store.DeleteConversation(ctx, req.In.From)
	}
	if err != nil {
		return nil, err
	}
	if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
		return nil, err
	}
	e, err := h.store.FindEnterprise(ctx, sub.EnterpriseID)
	if err != nil {
		return nil, err
	}
	return append(text(messages.SelfCheckReturnedDone(e.Name, sub.Period, flaggedLabels(sub))), reply...), nil
}

// reject records the principal's 退回修改 and tells the filler.
func (h *selfCheck) reject(ctx context.Context, req *Request, id int64, reason string) (messages.Reply, error) {
	if reason == "" {
		return text(messages.SelfCheckNeedReason), nil
	}
	sub, e, refuse, err := h.principalOf(ctx, req, id)
	if err != nil {
		return nil, err
	}
	if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
		return nil, err
	}
	if refuse != "" {
		return text(refuse), nil
	}
	if sub.State != safetybot.SubmissionAwaitingSignature {
		return text("这份自查现在是“" + sub.State + "”，不能退回修改。"), nil
	}
	sub, err = h.store.ReturnSubmission(ctx, id, req.In.From, reason, nil)
	if safetybot.ErrorCode(err) == safetybot.ECONFLICT {
		return text(safetybot.ErrorMessage(err)), nil
	}
	if err != nil {
		return nil, err
	}
	reply := text(messages.SelfCheckRejectedDone(h.personName(ctx, sub.Filler)))
	if sub.Filler != req.In.From {
		reply = append(reply, messages.TextTo([]string{sub.Filler}, messages.SelfCheckRejectedForFiller(e.Name, sub.Period, req.Person.Name, reason)))
	}
	return reply, nil
}

// ReturnInput is an official's 退回补正 of a submission.
type ReturnInput struct {
	SubmissionID int64
	By           string // userid of the official, or e.g. "admin-api"
	// Text is "3 5 说明" as typed in chat: leading item numbers, then the
	// comment. Items and Comment are used instead when Text is empty.
	Text    string
	Items   []int // item numbers as in the review (修改 N)
	Comment string
	// Admin skips the check that By may return this enterprise's submission.
	Admin bool
}

var returnItems = regexp.MustCompile(`^\s*((?:第?\s*\d+\s*项?\s*[,，、;；\s]\s*)*第?\s*\d+\s*项?)(?:[\s,，、;；:：]+|$)`)

// ReturnSubmission sends a submission back for correction (退回补正): it
// checks who may, marks the submission 已退回 with the comment and the flagged
// items, and returns what to tell the enterprise's principals and the filler.
// Call it in a transaction and enqueue the reply in the same one (SendBack
// does both).
func ReturnSubmission(ctx context.Context, st *store.Store, loc *time.Location, in ReturnInput) (store.Submission, messages.Reply, error) {
	sub, err := st.FindSubmission(ctx, in.SubmissionID)
	if err != nil {
		return sub, nil, err
	}
	e, err := st.FindEnterprise(ctx, sub.EnterpriseID)
	if err != nil {
		return sub, nil, err
	}
	byLabel := "管理员"
	if !in.Admin {
		p, err := st.FindPerson(ctx, in.By)
		if err != nil && !store.IsNotFound(err) {
			return sub, nil, err
		}
		if err != nil || !mayReturn(&p, e) {
			return sub, nil, safetybot.Errorf(safetybot.EFORBIDDEN, "%s", messages.SelfCheckMayNotReturn)
		}
		byLabel = p.Role.Label() + p.Name
	}
	nums, comment := in.Items, strings.TrimSpace(in.Comment)
	if in.Text != "" {
		nums, comment = nil, strings.TrimSpace(in.Text)
		if m := returnItems.FindStringSubmatch(comment); m != nil {
			for _, n := range regexp.MustCompile(`\d+`).FindAllString(m[1], -1) {
				v, _ := strconv.Atoi(n)
				nums = append(nums, v)
			}
			comment = strings.TrimSpace(comment[len(m[0]):])
		}
	}
	if comment == "" {
		return sub, nil, safetybot.Errorf(safetybot.EINVALID, "%s", messages.SelfCheckNeedReason)
	}
	var ans SubmissionAnswers
	if err := json.Unmarshal([]byte(sub.Answers), &ans); err != nil {
		return sub, nil, fmt.Errorf("submission %d answers: %w", sub.ID, err)
	}
	var flagged, labels []string
	for _, n := range nums {
		i := slices.IndexFunc(ans.Items, func(it form.ItemResult) bool { return it.N == n })
		if i < 0 {
			return sub, nil, safetybot.Errorf(safetybot.EINVALID, "%s", messages.SelfCheckBadItem(n, len(ans.Items)))
		}
		if !slices.Contains(flagged, ans.Items[i].Key) {
			flagged = append(flagged, ans.Items[i].Key)
			labels = append(labels, messages.SelfCheckItemLabel(n, ans.Items[i].Short))
		}
	}
	sub, err = st.ReturnSubmission(ctx, sub.ID, in.By, comment, flagged)
	if err != nil {
		return sub, nil, err
	}
	to := []string{}
	ps, err := st.Principals(ctx, e.ID)
	if err != nil {
		return sub, nil, err
	}
	for _, p := range ps {
		to = append(to, p.UserID)
	}
	if !slices.Contains(to, sub.Filler) {
		to = append(to, sub.Filler)
	}
	msg := messages.SelfCheckReturnedForEnterprise(e.Name, sub.Period, byLabel, comment, labels)
	return sub, messages.Reply{messages.TextTo(to, msg)}, nil
}

// flaggedLabels names a returned submission's flagged items.
func flaggedLabels(sub store.Submission) []string {
	var ans SubmissionAnswers
	json.Unmarshal([]byte(sub.Answers), &ans)
	var out []string
	for _, it := range ans.Items {
		if slices.Contains(sub.Flagged, it.Key) {
			out = append(out, messages.SelfCheckItemLabel(it.N, it.Short))
		}
	}
	return out
}

// SendBack is ReturnSubmission with its messages enqueued, in one
// transaction: what POST /api/submissions/{id}/return calls.
func SendBack(ctx context.Context, st *store.Store, loc *time.Location, in ReturnInput) (store.Submission, error) {
	var sub store.Submission
	err := st.InTx(ctx, func(ctx context.Context) error {
		var reply messages.Reply
		var err error
		sub, reply, err = ReturnSubmission(ctx, st, loc, in)
		if err != nil {
			return err
		}
		return enqueue(ctx, st, reply)
	})
	return sub, err
}

// enqueue writes addressed messages (each with To) to the outbox.
func enqueue(ctx context.Context, st *store.Store, reply messages.Reply) error {
	for _, o := range reply {
		if len(o.To) == 0 {
			return fmt.Errorf("enqueue: a message without recipients")
		}
		b, err := json.Marshal(o.Body)
		if err != nil {
			return err
		}
		kind := "send"
		if o.Update {
			kind = "update"
		}
		if _, err := st.Enqueue(ctx, store.OutboxMessage{Batch: o.Batch, Recipients: o.To, Kind: kind, Payload: b, Dedupe: o.Dedupe}); err != nil {
			return err
		}
	}
	return nil
}

// ---- signed report links ----

// submissionLinkSecret names the install secret that signs report links.
const submissionLinkSecret = "submission-link"

// SubmissionLinkKey returns the key that signs report page links: a random
// secret made once per installation (so rotating the admin token does not
// break links already sent).
func SubmissionLinkKey(ctx context.Context, st *store.Store) ([]byte, error) {
	return st.InstallSecret(ctx, submissionLinkSecret)
}

// SubmissionSig is the signature of a submission's report link.
func SubmissionSig(key []byte, id int64) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "submission:%d", id)
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// ValidSubmissionSig reports whether sig signs the submission id.
func ValidSubmissionSig(key []byte, id int64, sig string) bool {
	return hmac.Equal([]byte(SubmissionSig(key, id)), []byte(sig))
}

// SubmissionURL is the report page of a submission, signed so that it opens
// without the admin token (the link cards carry).
func SubmissionURL(publicURL string, key []byte, id int64) string {
	return fmt.Sprintf("%s/submissions/%d?sig=%s", strings.TrimRight(publicURL, "/"), id, SubmissionSig(key, id))
}

func (h *selfCheck) link(ctx context.Context, id int64) (string, error) {
	// Read in the caller's transaction, never cached: the first secret is
	// made inside one that may still roll back.
	k, err := SubmissionLinkKey(ctx, h.store)
	if err != nil {
		return "", err
	}
	return SubmissionURL(h.publicURL, k, id), nil
}
