package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"safetybot"
	"safetybot/messages"
	"safetybot/messages/form"
	"safetybot/store"
)

// selfCheck runs the monthly self-inspection (自查自纠, S2/S3/S7) in chat: the
// form engine (messages/form) asks one question at a time; its State lives in
// the user's draft (store.Draft, 7 days), and a conversation row of kind
// convSelfCheck routes the user's next messages here while the form is open.
//
// The draft is kept apart from the conversation row on purpose: another
// capability may replace the conversation row (a numbered choice, say), and 取消
// ends the routing, but 继续 or 自查 still finds the draft, days later or after
// a restart.
type selfCheck struct {
	store     *store.Store
	forms     *form.Registry
	loc       *time.Location
	publicURL string
	router    *Router
}

// Conversation kinds of the self-inspection.
const (
	convSelfCheck       = "selfcheck"        // a form is open
	convSelfCheckPick   = "selfcheck_pick"   // which enterprise?
	convSelfCheckReason = "selfcheck_reason" // why 退回修改 / 退回补正?
	convSelfCheckDraft  = "selfcheck_draft"  // 自查 with a draft: 继续 it, or 取消 it?
)

// Words the open form answers itself; any other registered command word
// leaves the form (the draft stays) and is routed as usual.
var (
	selfCheckStartWords    = []string{"自查", "自查自纠", "开始自查", "填报自查"}
	selfCheckResumeWords   = []string{"继续", "继续填写", "接着填"}
	selfCheckDoneWords     = []string{"提交", "确认"}
	selfCheckFormHelpWords = []string{"帮助", "help", "?", "？"}
	selfCheckDiscardWords  = []string{"取消", "删除", "删除草稿", "放弃"}
	selfCheckConfirmWords  = []string{"确认", "确定", "确认删除", "是"}
)

func newSelfCheck(d Deps) *selfCheck {
	reg := d.Forms
	if reg == nil {
		var err error
		if reg, err = form.Shipped(); err != nil {
			// The shipped definitions are embedded and checked by the form tests.
			panic(fmt.Sprintf("handlers: shipped form definitions: %v", err))
		}
	}
	return &selfCheck{store: d.Store, forms: reg, loc: d.Location, publicURL: d.PublicURL}
}

// draftData is the JSON of store.Draft.Data.
type draftData struct {
	Enterprise string `json:"enterprise"`
	// Flagged are the item keys an official asked to correct; with Known (the
	// items of the corrected submission) they limit what a correction may change.
	Flagged []string   `json:"flagged,omitempty"`
	Known   []string   `json:"known,omitempty"`
	State   form.State `json:"state"`
}

// convMarker is the conversation row's data while a form is open.
type convMarker struct {
	EnterpriseID int64 `json:"enterprise_id"`
}

// myEnterprise is an enterprise with the capacity the person answers for it in.
type myEnterprise struct {
	safetybot.Enterprise
	Role safetybot.ContactRole
}

func (h *selfCheck) now() time.Time { return h.store.Now().In(h.loc) }

// period is the month of t in the campaign time zone, YYYY-MM.
func (h *selfCheck) period(t time.Time) string { return t.In(h.loc).Format("2006-01") }

func text(s string) messages.Reply { return messages.Reply{messages.Text(s)} }

// enterprisesOf lists the active enterprises the user is principal of, then
// those they are safety officer of (principal wins for an enterprise in both).
func (h *selfCheck) enterprisesOf(ctx context.Context, user string) ([]myEnterprise, error) {
	var out []myEnterprise
	seen := map[int64]bool{}
	for _, role := range []safetybot.ContactRole{safetybot.ContactPrincipal, safetybot.ContactSafetyOfficer} {
		es, err := h.store.EnterprisesOf(ctx, user, role)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if !seen[e.ID] {
				seen[e.ID] = true
				out = append(out, myEnterprise{Enterprise: e, Role: role})
			}
		}
	}
	return out, nil
}

// ---- entry points ----

// start handles 自查, the menu button and 开始自查 on a reminder card
// (req.Args is then ":<enterprise id>" or "").
func (h *selfCheck) start(ctx context.Context, req *Request) (messages.Reply, error) {
	if req.Person == nil {
		return text(messages.NotRegistered), nil
	}
	if req.Person.Role.IsOfficial() {
		return text(messages.SelfCheckForOfficials), nil
	}
	if d, err := h.store.FindDraft(ctx, req.In.From); err == nil {
		return h.resumeOrAsk(ctx, req, d)
	} else if !store.IsNotFound(err) {
		return nil, err
	}
	ents, err := h.enterprisesOf(ctx, req.In.From)
	if err != nil {
		return nil, err
	}
	if want, err := strconv.ParseInt(strings.TrimPrefix(req.Args, ":"), 10, 64); err == nil {
		for _, e := range ents {
			if e.ID == want {
				return h.begin(ctx, req, e)
			}
		}
	}
	switch len(ents) {
	case 0:
		return text(messages.SelfCheckNoEnterprise), nil
	case 1:
		return h.begin(ctx, req, ents[0])
	}
	period := h.period(h.now())
	var lines []string
	var ids []int64
	for _, e := range ents {
		status := "本月未填"
		if s, err := h.store.LatestSubmission(ctx, e.ID, period); err == nil {
			status = "本月" + s.State
		} else if !store.IsNotFound(err) {
			return nil, err
		}
		lines = append(lines, fmt.Sprintf("%s（%s）", e.Name, status))
		ids = append(ids, e.ID)
	}
	if err := h.store.PutConversation(ctx, req.In.From, convSelfCheckPick, ids, time.Hour); err != nil {
		return nil, err
	}
	return text(messages.SelfCheckPickText(lines)), nil
}

// pick answers the numbered list of enterprises.
func (h *selfCheck) pick(ctx context.Context, req *Request) (messages.Reply, error) {
	conv, err := h.store.FindConversation(ctx, req.In.From)
	if err != nil {
		return nil, err
	}
	var ids []int64
	if err := json.Unmarshal([]byte(conv.Data), &ids); err != nil {
		return nil, err
	}
	if req.Text == "取消" {
		return text(messages.SelfCheckCancelled), h.store.DeleteConversation(ctx, req.In.From)
	}
	n, err := strconv.Atoi(strings.TrimRight(req.Text, ".、号"))
	if err != nil || req.In.Kind != messages.KindText {
		// Not a choice: forget the question and route the input normally.
		if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
			return nil, err
		}
		return nil, errPass
	}
	if n < 1 || n > len(ids) {
		return text(messages.SelfCheckPickRange(len(ids))), nil
	}
	if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
		return nil, err
	}
	ents, err := h.enterprisesOf(ctx, req.In.From)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if e.ID == ids[n-1] {
			return h.begin(ctx, req, e)
		}
	}
	return text(messages.SelfCheckNoEnterprise), nil
}

// begin opens the month's form for one enterprise: a new draft, a correction
// of a submission sent back, or the news that there is nothing to fill.
func (h *selfCheck) begin(ctx context.Context, req *Request, e myEnterprise) (messages.Reply, error) {
	now := h.now()
	period := h.period(now)
	latest, err := h.store.LatestSubmission(ctx, e.ID, period)
	switch {
	case err == nil && latest.State == safetybot.SubmissionSigned:
		return text(messages.SelfCheckAlreadySigned(e.Name, period, signedAt(latest), h.loc)), nil
	case err == nil && latest.State == safetybot.SubmissionAwaitingSignature:
		reply := text(messages.SelfCheckAwaiting(e.Name, period, e.Role == safetybot.ContactPrincipal))
		if e.Role == safetybot.ContactPrincipal {
			card, err := h.signCard(ctx, e.Enterprise, latest, nil)
			if err != nil {
				return nil, err
			}
			reply = append(reply, card)
		}
		return reply, nil
	case err == nil:
		return h.beginCorrection(ctx, req, e, latest)
	case !store.IsNotFound(err):
		return nil, err
	}
	f, err := h.forms.For(e.Category, e.SmallType, e.KeyUnit)
	if err != nil {
		return nil, err // *safetybot.Error: shown to the user
	}
	st, out := f.Start(form.Context{Enterprise: e.Name, Category: e.Category, SmallType: e.SmallType,
		KeyUnit: e.KeyUnit, Role: e.Role, Now: now})
	d := store.Draft{UserID: req.In.From, EnterpriseID: e.ID, Period: period}
	return h.save(ctx, req, &d, draftData{Enterprise: e.Name, State: st}, out, "")
}

// beginCorrection opens a returned submission again: the answers as they
// were, at the review (or at the first flagged item), to be edited and signed
// again as a new version.
func (h *selfCheck) beginCorrection(ctx context.Context, req *Request, e myEnterprise, base store.Submission) (messages.Reply, error) {
	var ans SubmissionAnswers
	if err := json.Unmarshal([]byte(base.Answers), &ans); err != nil {
		return nil, fmt.Errorf("submission %d answers: %w", base.ID, err)
	}
	f, err := h.forms.ForState(ans.State)
	if err != nil {
		return text(messages.SelfCheckFormMissing), nil
	}
	st := ans.State
	st.Phase, st.Signed, st.SubmittedAt, st.Page = form.PhaseReview, false, time.Time{}, 0
	st.Cursor, st.Repeat, st.Path, st.Resume, st.LoosePhotos, st.AttachTo = "", nil, nil, "", nil, nil
	st.Ctx.Role, st.Ctx.Now, st.UpdatedAt = e.Role, h.now(), h.now()
	data := draftData{Enterprise: e.Name, Flagged: base.Flagged, State: st}
	var labels []string
	first := 0
	for _, it := range f.Items(st) {
		data.Known = append(data.Known, it.Key)
		if slices.Contains(base.Flagged, it.Key) {
			labels = append(labels, messages.SelfCheckItemLabel(it.N, it.Short))
			if first == 0 {
				first = it.N
			}
		}
	}
	var out form.Output
	if first > 0 {
		st, out = f.Step(st, form.Input{Text: fmt.Sprintf("修改 %d", first), Now: h.now()})
		data.State = st
	} else {
		out = f.Current(st)
	}
	byLabel := "负责人"
	if p, err := h.store.FindPerson(ctx, base.ReturnedBy); err == nil {
		byLabel = p.Role.Label() + p.Name
		if p.Role == safetybot.RolePrincipal {
			byLabel = "负责人" + p.Name
		}
	}
	baseID := base.ID
	d := store.Draft{UserID: req.In.From, EnterpriseID: e.ID, Period: base.Period, BaseSubmission: &baseID}
	return h.save(ctx, req, &d, data, out, messages.SelfCheckCorrection(byLabel, base.Comment, labels))
}

// signedAt is when a signed submission was signed. The schema allows 已签字
// without a signing time, and rows written outside the bot have one (a
// roster's seed, an import by SQL): for those it is the time the submission
// was made, the closest time known.
func signedAt(sub store.Submission) time.Time {
	if sub.SignedAt != nil {
		return *sub.SignedAt
	}
	return sub.CreatedAt
}

// resume takes a draft up again (继续, 自查): where it was, also from 取消.
func (h *selfCheck) resume(ctx context.Context, req *Request, d store.Draft) (messages.Reply, error) {
	data := h.decode(d)
	prefix := messages.SelfCheckResuming(data.Enterprise)
	if data.State.Phase == form.PhaseCancelled {
		prefix = "" // the engine says it resumes
	}
	return h.step(ctx, req, d, form.Input{Text: "继续"}, prefix)
}

// resumeOrAsk answers 自查 while a draft exists: a user who answers for one
// enterprise goes on with it, as does one who asked for the draft's own
// enterprise (开始自查 on its reminder card). A user with several is told which
// enterprise the draft is for and asked: 继续 it, or 取消 it (after a
// confirmation) to fill in another enterprise's form — there is one draft per
// user.
func (h *selfCheck) resumeOrAsk(ctx context.Context, req *Request, d store.Draft) (messages.Reply, error) {
	if want, err := strconv.ParseInt(strings.TrimPrefix(req.Args, ":"), 10, 64); err == nil && want == d.EnterpriseID {
		return h.resume(ctx, req, d)
	}
	ents, err := h.enterprisesOf(ctx, req.In.From)
	if err != nil {
		return nil, err
	}
	if len(ents) < 2 {
		return h.resume(ctx, req, d)
	}
	if err := h.store.PutConversation(ctx, req.In.From, convSelfCheckDraft, draftChoice{Session: d.Session}, time.Hour); err != nil {
		return nil, err
	}
	return text(messages.SelfCheckDraftExists(h.decode(d).Enterprise)), nil
}

// draftChoice is the conversation row's data while 继续 or 取消 is asked.
type draftChoice struct {
	Session string `json:"session"` // the draft asked about
	Confirm bool   `json:"confirm"` // 取消 was said: 确认 deletes the draft
}

// draftChoiceAnswer takes the answer to resumeOrAsk's question: 继续 resumes
// the draft; 取消 asks for a confirmation, and 确认 then deletes the draft and
// lists the enterprises to choose from. Anything else leaves the question.
func (h *selfCheck) draftChoiceAnswer(ctx context.Context, req *Request) (messages.Reply, error) {
	conv, err := h.store.FindConversation(ctx, req.In.From)
	if err != nil {
		return nil, err
	}
	var c draftChoice
	if err := json.Unmarshal([]byte(conv.Data), &c); err != nil {
		return nil, err
	}
	d, err := h.store.FindDraft(ctx, req.In.From)
	if err != nil && !store.IsNotFound(err) {
		return nil, err
	}
	if err != nil || d.Session != c.Session || req.In.Kind != messages.KindText {
		// The draft is gone (expired, submitted) or the input is no answer.
		if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
			return nil, err
		}
		return nil, errPass
	}
	name := h.decode(d).Enterprise
	switch {
	case slices.Contains(selfCheckResumeWords, req.Text):
		if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
			return nil, err
		}
		return h.resume(ctx, req, d)
	case slices.Contains(selfCheckStartWords, req.Text), !c.Confirm && slices.Contains(selfCheckConfirmWords, req.Text):
		return text(messages.SelfCheckDraftExists(name)), nil
	case slices.Contains(selfCheckDiscardWords, req.Text):
		c.Confirm = true
		if err := h.store.PutConversation(ctx, req.In.From, convSelfCheckDraft, c, time.Hour); err != nil {
			return nil, err
		}
		return text(messages.SelfCheckConfirmDiscard(name)), nil
	case c.Confirm && slices.Contains(selfCheckConfirmWords, req.Text):
		if err := h.closeDraft(ctx, req.In.From); err != nil {
			return nil, err
		}
		req.Args = ""
		pick, err := h.start(ctx, req)
		if err != nil {
			return nil, err
		}
		return append(text(messages.SelfCheckDraftDeleted(name)), pick...), nil
	}
	if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
		return nil, err
	}
	return nil, errPass
}

// resumeWord handles 继续 when no form is open: a draft kept after 取消, after
// another command took over, or after days.
func (h *selfCheck) resumeWord(ctx context.Context, req *Request) (messages.Reply, error) {
	d, err := h.store.FindDraft(ctx, req.In.From)
	if store.IsNotFound(err) {
		return text(messages.SelfCheckNoDraft), nil
	}
	if err != nil {
		return nil, err
	}
	return h.resume(ctx, req, d)
}

// afterDone answers 提交 and 确认 when no form is open: a double submit, or a
// word from an old exchange.
func (h *selfCheck) afterDone(ctx context.Context, req *Request) (messages.Reply, error) {
	if req.Person == nil || req.Person.Role.IsOfficial() {
		return h.router.fallback(ctx, req) // not a word of theirs
	}
	if d, err := h.store.FindDraft(ctx, req.In.From); err == nil {
		return h.step(ctx, req, d, form.Input{Text: req.In.Text}, "")
	}
	ents, err := h.enterprisesOf(ctx, req.In.From)
	if err != nil {
		return nil, err
	}
	period := h.period(h.now())
	for _, e := range ents {
		s, err := h.store.LatestSubmission(ctx, e.ID, period)
		if err == nil && s.State != safetybot.SubmissionReturned {
			return text(messages.SelfCheckSubmittedBefore(e.Name, period, s.State, s.CreatedAt, h.loc)), nil
		}
	}
	return text(messages.SelfCheckNoDraft), nil
}

// helpOr answers 帮助 inside an open form with the form's help and the
// current question; otherwise with general.
func (h *selfCheck) helpOr(general Func) Func {
	return func(ctx context.Context, req *Request) (messages.Reply, error) {
		if conv, err := h.store.FindConversation(ctx, req.In.From); err == nil && conv.Kind == convSelfCheck {
			if d, err := h.store.FindDraft(ctx, req.In.From); err == nil {
				return h.step(routed(ctx), req, d, form.Input{Text: "帮助"}, "")
			}
		}
		return general(ctx, req)
	}
}

// answer takes the user's message while a form is open.
func (h *selfCheck) answer(ctx context.Context, req *Request) (messages.Reply, error) {
	d, err := h.store.FindDraft(ctx, req.In.From)
	if store.IsNotFound(err) {
		if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
			return nil, err
		}
		return nil, errPass
	}
	if err != nil {
		return nil, err
	}
	in := form.Input{}
	switch req.In.Kind {
	case messages.KindText:
		if h.isOtherCommand(req.Text) {
			return nil, errPass
		}
		if slices.Contains(selfCheckStartWords, req.Text) {
			return h.resumeOrAsk(ctx, req, d)
		}
		in.Text = req.In.Text
	case messages.KindImage:
		if req.In.PhotoError != "" || req.In.PhotoSHA256 == "" {
			msg := req.In.PhotoError
			if msg == "" {
				msg = messages.SelfCheckPhotoMissing
			}
			return h.current(ctx, req, d, msg)
		}
		in.PhotoSHA256 = req.In.PhotoSHA256
	case messages.KindLocation:
		if req.In.Location == nil {
			return h.current(ctx, req, d, messages.SelfCheckWrongKind)
		}
		in.Location = req.In.Location
	default:
		return h.current(ctx, req, d, messages.SelfCheckWrongKind)
	}
	return h.step(routed(ctx), req, d, in, "")
}

// isOtherCommand reports whether text is another capability's command word,
// which leaves the open form (its draft stays for 继续).
func (h *selfCheck) isOtherCommand(t string) bool {
	if h.router == nil || t == "" {
		return false
	}
	for _, ws := range [][]string{selfCheckStartWords, selfCheckResumeWords, selfCheckDoneWords, selfCheckFormHelpWords} {
		if slices.Contains(ws, t) {
			return false
		}
	}
	if _, ok := h.router.exact[t]; ok {
		return true
	}
	for _, p := range h.router.prefix {
		if t == p.word || strings.HasPrefix(t, p.word+" ") {
			return true
		}
	}
	return false
}

// option handles a tap on a form card's option: "session:step:option id".
func (h *selfCheck) option(ctx context.Context, req *Request, args string) (messages.Reply, error) {
	session, rest, _ := strings.Cut(args, ":")
	token, optID, ok := strings.Cut(rest, ":")
	d, err := h.store.FindDraft(ctx, req.In.From)
	if err != nil && !store.IsNotFound(err) {
		return nil, err
	}
	if err != nil || !ok || d.Session != session {
		return h.withButton(req, messages.SelfCheckStaleLabel, text(messages.SelfCheckStaleCard)), nil
	}
	data := h.decode(d)
	if token != stepToken(data.State) {
		reply, err := h.current(ctx, req, d, messages.SelfCheckStaleStep)
		return h.withButton(req, messages.SelfCheckStaleLabel, reply), err
	}
	label := optID
	if f, err := h.forms.ForState(data.State); err == nil {
		for _, o := range f.Current(data.State).Options {
			if o.ID == optID {
				label = o.Text
			}
		}
	}
	reply, err := h.step(ctx, req, d, form.Input{OptionIDs: []string{optID}}, "")
	return h.withButton(req, "已选："+label, reply), err
}

// withButton puts a grey label on the tapped card in front of reply.
func (h *selfCheck) withButton(req *Request, label string, reply messages.Reply) messages.Reply {
	if req.In.ResponseCode == "" {
		return reply
	}
	return append(messages.Reply{messages.ReplaceButton([]string{req.In.From}, req.In.ResponseCode, messages.Truncate(label, 48))}, reply...)
}

// ---- stepping ----

func (h *selfCheck) decode(d store.Draft) draftData {
	var data draftData
	json.Unmarshal([]byte(d.Data), &data)
	return data
}

// stepToken names the open step of a state for card buttons: the step id
// while a question is open, else the phase.
func stepToken(st form.State) string {
	switch st.Phase {
	case form.PhaseAsking:
		return st.Cursor
	case form.PhaseRepeat:
		if st.Repeat != nil {
			return st.Repeat.Item + "#" + st.Repeat.Step
		}
	}
	return st.Phase
}

// current repeats the open question after a line of explanation, without a step.
func (h *selfCheck) current(ctx context.Context, req *Request, d store.Draft, msg string) (messages.Reply, error) {
	data := h.decode(d)
	f, err := h.forms.ForState(data.State)
	if err != nil {
		return h.dropDraft(ctx, req)
	}
	return messages.Reply{h.render(d, data, f.Current(data.State), msg)}, nil
}

func (h *selfCheck) dropDraft(ctx context.Context, req *Request) (messages.Reply, error) {
	if err := h.store.DeleteDraft(ctx, req.In.From); err != nil {
		return nil, err
	}
	if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
		return nil, err
	}
	return text(messages.SelfCheckFormMissing), nil
}

// step applies one input to the draft with the engine and stores the result.
func (h *selfCheck) step(ctx context.Context, req *Request, d store.Draft, in form.Input, prefix string) (messages.Reply, error) {
	data := h.decode(d)
	f, err := h.forms.ForState(data.State)
	if err != nil {
		return h.dropDraft(ctx, req)
	}
	if in.Now.IsZero() {
		in.Now = h.now()
	}
	st, out := f.Step(data.State, in)
	if blocked := h.outsideFlagged(f, data, st); blocked != "" {
		return messages.Reply{h.render(d, data, f.Current(data.State), blocked)}, nil
	}
	if out.Done {
		return h.submit(ctx, req, d, data, f, st, out)
	}
	if out.Cancelled {
		// 取消, confirmed: the draft goes, so the user may start any
		// enterprise's form (a returned submission stays returned).
		if err := h.closeDraft(ctx, req.In.From); err != nil {
			return nil, err
		}
		return text(messages.SelfCheckDiscarded(data.Enterprise)), nil
	}
	data.State = st
	return h.save(ctx, req, &d, data, out, prefix)
}

// outsideFlagged refuses, in a correction with flagged items, a step that
// opens an item the official did not flag (new items the changes bring in
// are allowed). It returns the refusal, or "".
func (h *selfCheck) outsideFlagged(f *form.Form, data draftData, st form.State) string {
	if len(data.Flagged) == 0 || (st.Phase != form.PhaseAsking && st.Phase != form.PhaseRepeat) {
		return ""
	}
	if slices.Contains(data.Flagged, st.Cursor) || !slices.Contains(data.Known, st.Cursor) {
		return ""
	}
	var labels []string
	for _, it := range f.Items(data.State) {
		if slices.Contains(data.Flagged, it.Key) {
			labels = append(labels, messages.SelfCheckItemLabel(it.N, it.Short))
		}
	}
	return messages.SelfCheckFlaggedOnly(labels)
}

type routedKey struct{}

// routed marks a message that reached the form through its conversation row,
// which then need not be written again.
func routed(ctx context.Context) context.Context { return context.WithValue(ctx, routedKey{}, true) }

// save stores the draft and routes the user's next messages to the form
// (except for a draft cancelled by an earlier version, which kept it: only
// 继续 or 自查 take it up again).
func (h *selfCheck) save(ctx context.Context, req *Request, d *store.Draft, data draftData, out form.Output, prefix string) (messages.Reply, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	d.Data = string(b)
	if err := h.store.PutDraft(ctx, d); err != nil {
		return nil, err
	}
	if data.State.Phase == form.PhaseCancelled {
		if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
			return nil, err
		}
	} else if ctx.Value(routedKey{}) == nil {
		// The row has no expiry of its own: answer drops it when the draft is gone.
		if err := h.store.PutConversation(ctx, req.In.From, convSelfCheck, convMarker{EnterpriseID: d.EnterpriseID}, 0); err != nil {
			return nil, err
		}
	}
	return messages.Reply{h.render(*d, data, out, prefix)}, nil
}

// render turns an engine output into one message: a card whose buttons are
// the options when it fits a phone, else text with numbered options (which
// work as replies either way).
func (h *selfCheck) render(d store.Draft, data draftData, out form.Output, prefix string) messages.Outgoing {
	full := out.Text
	if prefix != "" {
		full = prefix + "\n\n" + out.Text
	}
	if len(out.Options) == 0 || prefix != "" || out.Done {
		return messages.Text(full)
	}
	// The first line of the question is its title (第 3/20 项, or the hazard
	// block's header); the numbered option lines become buttons.
	head, body := "", out.Text
	if i := strings.Index(body, "\n\n"); i >= 0 {
		head, body = body[:i], body[i+2:] // an error or acknowledgement above the question
	}
	title, rest, _ := strings.Cut(body, "\n")
	var lines []string
	if head != "" {
		lines = append(lines, head)
	}
	for _, l := range strings.Split(rest, "\n") {
		if !isOptionLine(l) {
			lines = append(lines, l)
		}
	}
	token := stepToken(data.State)
	var buttons []messages.CardButton
	for _, o := range out.Options {
		buttons = append(buttons, messages.CardButton{Text: o.Text, Style: 1,
			Key: messages.SelfCheckOptionKey + d.Session + ":" + token + ":" + o.ID})
	}
	card, ok := messages.FormStepCard(title, data.Enterprise, strings.Join(lines, "\n"), buttons, taskID("sc"))
	if !ok {
		return messages.Text(full)
	}
	return messages.Card(nil, card)
}

// isOptionLine reports whether a line lists numbered options ("1. 是  2. 否").
func isOptionLine(l string) bool {
	l = strings.TrimSpace(l)
	i := 0
	for i < len(l) && l[i] >= '0' && l[i] <= '9' {
		i++
	}
	return i > 0 && strings.HasPrefix(l[i:], ". ")
}

// taskID returns a fresh card task id (unique per app, as WeCom requires).
func taskID(prefix string) string {
	var b [10]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
