package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"safetybot"
	"safetybot/messages"
	"safetybot/store"
)

// rectify is the hazard follow-up loop in chat (S3, S8, S12; DOMAIN.md §4):
// the principal's 整改 with a description and photos, the township
// official's review card (通过 / 退回 with a reason), extensions (申请延期 by
// the enterprise, 延期 by an official), 停产整改 and 关闭取缔, and the 五定 of
// a 重大 hazard with its named tracker.
type rectify struct {
	store     *store.Store
	loc       *time.Location
	publicURL string
	isCommand func(string) bool
}

// Conversation kinds of the hazard loop.
const (
	convRectifyPick = "rectify_pick"   // the enterprise picks a hazard (整改 or 申请延期)
	convRectify     = "rectify"        // the enterprise sends a description and photos
	convRectifyBack = "rectify_back"   // the official gives the reason for 退回
	convExtendAsk   = "rectify_extend" // the enterprise gives the new deadline and reason
	convHazardPlan  = "hazard_plan"    // the official answers the 五定 step by step
)

// rectifyTTL is how long an unfinished rectification conversation is kept.
const rectifyTTL = 48 * time.Hour

// Words that submit the rectification being written.
var rectifySubmitWords = []string{"提交", "完成", "好了", "提交整改", "发完了"}

type rectifyPick struct {
	Purpose string  `json:"purpose"` // "rectify" or "extend"
	IDs     []int64 `json:"ids"`
}

type rectifyDraft struct {
	HazardID int64    `json:"hazard_id"`
	Note     string   `json:"note"`
	Photos   []string `json:"photos"`
}

type rectifyBack struct {
	HazardID     int64  `json:"hazard_id"`
	EventID      int64  `json:"event_id"`
	ResponseCode string `json:"response_code,omitempty"`
}

type extendAsk struct {
	HazardID int64 `json:"hazard_id"`
}

type hazardPlanState struct {
	HazardID int64             `json:"hazard_id"`
	Step     int               `json:"step"`
	Values   map[string]string `json:"values"`
}

func newRectify(d Deps, r *Router) *rectify {
	return &rectify{store: d.Store, loc: d.Location, publicURL: d.PublicURL, isCommand: r.isCommand}
}

func (h *rectify) today() time.Time {
	t := h.store.Now().In(h.loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func (h *rectify) day() string { return h.today().Format(time.DateOnly) }

func ref(i store.HazardInfo) messages.HazardRef {
	r := messages.HazardRef{ID: i.ID, Enterprise: i.Enterprise, Township: i.Township, Description: i.Description,
		Grade: i.Grade, Status: string(i.Status)}
	if i.Deadline != nil {
		r.Deadline = i.Deadline.Format(time.DateOnly)
	}
	return r
}

// userError turns a user-facing store error into its message, so a refused
// step is answered instead of failing the message.
func userError(err error) (messages.Reply, error) {
	if msg := safetybot.ErrorMessage(err); msg != "" {
		return text(msg), nil
	}
	return nil, err
}

// ---- the enterprise: 整改 ----

func isEnterpriseSideRole(p *safetybot.Person) bool {
	return p != nil && (p.Role == safetybot.RolePrincipal || p.Role == safetybot.RoleSafetyOfficer)
}

// start answers 整改, 提交整改 and the menu: one hazard opens at once, several
// are listed to pick from.
func (h *rectify) start(ctx context.Context, req *Request) (messages.Reply, error) {
	return h.choose(ctx, req, "rectify")
}

func (h *rectify) choose(ctx context.Context, req *Request, purpose string) (messages.Reply, error) {
	switch {
	case req.Person == nil:
		return text(messages.NotRegistered), nil
	case !isEnterpriseSideRole(req.Person):
		return text(messages.RectifyOnlyCompany + "干部请发送“待复查”查看待复查的整改。"), nil
	}
	hs, err := h.store.RectifiableHazards(ctx, req.In.From)
	if err != nil {
		return nil, err
	}
	switch len(hs) {
	case 0:
		return text(messages.RectifyNone), nil
	case 1:
		return h.open(ctx, req, purpose, hs[0])
	}
	p := rectifyPick{Purpose: purpose}
	refs := make([]messages.HazardRef, len(hs))
	for i, x := range hs {
		p.IDs = append(p.IDs, x.ID)
		refs[i] = ref(x)
	}
	if err := h.store.PutConversation(ctx, req.In.From, convRectifyPick, p, rectifyTTL); err != nil {
		return nil, err
	}
	what := "要整改"
	if purpose == "extend" {
		what = "可申请延期"
	}
	return text(messages.PickHazardText(what, refs, h.day())), nil
}

// pick answers the numbered list.
func (h *rectify) pick(ctx context.Context, req *Request) (messages.Reply, error) {
	var p rectifyPick
	if err := h.conv(ctx, req, &p); err != nil {
		return nil, err
	}
	if req.Text == messages.WordCancel {
		return text(messages.RectifyCancelled), h.store.DeleteConversation(ctx, req.In.From)
	}
	n, err := strconv.Atoi(req.Text)
	if err != nil {
		// Not a choice: the user moved on.
		if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
			return nil, err
		}
		return nil, errPass
	}
	if n < 1 || n > len(p.IDs) {
		return text(messages.PickRange(len(p.IDs))), nil
	}
	info, err := h.store.FindHazardInfo(ctx, p.IDs[n-1])
	if err != nil {
		return userError(err)
	}
	return h.open(ctx, req, p.Purpose, info)
}

// button answers a 提交整改 button: "rectify:<id>" or "rectify:".
func (h *rectify) button(ctx context.Context, req *Request) (messages.Reply, error) {
	if req.Args == "" {
		return h.start(ctx, req)
	}
	id, err := strconv.ParseInt(req.Args, 10, 64)
	if err != nil {
		return text(messages.HazardStaleCard), nil
	}
	if !isEnterpriseSideRole(req.Person) {
		return h.start(ctx, req)
	}
	hs, err := h.store.RectifiableHazards(ctx, req.In.From)
	if err != nil {
		return nil, err
	}
	for _, x := range hs {
		if x.ID == id {
			return h.open(ctx, req, "rectify", x)
		}
	}
	info, err := h.store.FindHazardInfo(ctx, id)
	if err != nil {
		return userError(err)
	}
	return text(fmt.Sprintf("隐患（编号%d）现在是“%s”，不需要提交整改。", id, info.Status)), nil
}

// open starts the rectification (or the extension request) of one hazard.
func (h *rectify) open(ctx context.Context, req *Request, purpose string, info store.HazardInfo) (messages.Reply, error) {
	if purpose == "extend" {
		if err := h.store.PutConversation(ctx, req.In.From, convExtendAsk, extendAsk{HazardID: info.ID}, rectifyTTL); err != nil {
			return nil, err
		}
		return text(messages.HazardRefText(ref(info), h.day(), true) + "\n" + messages.ExtendAsk), nil
	}
	if info.Status == safetybot.HazardPending {
		hz, _, err := h.store.TransitionHazard(ctx, store.HazardTransition{HazardID: info.ID, Action: store.HazardStart, Actor: req.In.From})
		if err != nil {
			return userError(err)
		}
		info.Hazard = hz
	}
	if err := h.store.PutConversation(ctx, req.In.From, convRectify, rectifyDraft{HazardID: info.ID}, rectifyTTL); err != nil {
		return nil, err
	}
	reason, err := h.lastReturnReason(ctx, info.ID)
	if err != nil {
		return nil, err
	}
	return text(messages.RectifyStart(ref(info), h.day(), reason)), nil
}

// lastReturnReason is the reason of the newest 退回 when it is the latest
// decision on the hazard.
func (h *rectify) lastReturnReason(ctx context.Context, id int64) (string, error) {
	evs, err := h.store.HazardEvents(ctx, id)
	if err != nil {
		return "", err
	}
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		if e.From == safetybot.HazardReview && e.To != safetybot.HazardReview {
			if e.To == safetybot.HazardClosed {
				return "", nil
			}
			return e.Note, nil
		}
	}
	return "", nil
}

// answer takes the description and photos until 提交.
func (h *rectify) answer(ctx context.Context, req *Request) (messages.Reply, error) {
	var d rectifyDraft
	if err := h.conv(ctx, req, &d); err != nil {
		return nil, err
	}
	switch req.In.Kind {
	case messages.KindImage:
		if req.In.PhotoSHA256 == "" {
			return text(messages.RectifyPhotoFailed), nil
		}
		if !slices.Contains(d.Photos, req.In.PhotoSHA256) {
			d.Photos = append(d.Photos, req.In.PhotoSHA256)
		}
		if err := h.store.PutConversation(ctx, req.In.From, convRectify, d, rectifyTTL); err != nil {
			return nil, err
		}
		return text(messages.RectifyGotPhoto(len(d.Photos), d.Note != "")), nil
	case messages.KindText:
		if req.Text == "" {
			return text(messages.RectifyWrongKind), nil
		}
	default:
		return text(messages.RectifyWrongKind), nil
	}
	switch {
	case req.Text == messages.WordCancel:
		return text(messages.RectifyCancelled), h.store.DeleteConversation(ctx, req.In.From)
	case slices.Contains(rectifySubmitWords, req.Text):
		return h.submit(ctx, req, d)
	case h.isCommand(req.Text):
		// A new command: leave the rectification (the hazard stays 整改中).
		if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
			return nil, err
		}
		return nil, errPass
	}
	if d.Note != "" {
		d.Note += "；"
	}
	d.Note += req.Text
	if err := h.store.PutConversation(ctx, req.In.From, convRectify, d, rectifyTTL); err != nil {
		return nil, err
	}
	return text(messages.RectifyGotText(len(d.Photos))), nil
}

// submit moves the hazard to 待复查 and sends the review card.
func (h *rectify) submit(ctx context.Context, req *Request, d rectifyDraft) (messages.Reply, error) {
	switch {
	case len(d.Photos) == 0:
		return text(messages.RectifyNeedPhoto), nil
	case strings.TrimSpace(d.Note) == "":
		return text(messages.RectifyNeedText), nil
	}
	_, ev, err := h.store.TransitionHazard(ctx, store.HazardTransition{HazardID: d.HazardID, Action: store.HazardSubmit,
		Actor: req.In.From, Note: d.Note, Photos: d.Photos})
	if err != nil {
		if safetybot.ErrorCode(err) != safetybot.EINTERNAL {
			h.store.DeleteConversation(ctx, req.In.From)
		}
		return userError(err)
	}
	if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
		return nil, err
	}
	info, err := h.store.FindHazardInfo(ctx, d.HazardID)
	if err != nil {
		return nil, err
	}
	reply := text(messages.RectifySubmitted(info.ID, len(d.Photos)))
	card, to, err := h.reviewCard(ctx, info, ev, req.Person.Name)
	if err != nil {
		return nil, err
	}
	if len(to) == 0 {
		return append(reply, messages.Text(messages.RectifyNoReviewer)), nil
	}
	return append(reply, messages.Card(to, card)), nil
}

// reviewCard builds the review card of a submission event and its recipients.
func (h *rectify) reviewCard(ctx context.Context, info store.HazardInfo, ev store.HazardEvent, submitter string) (messages.TemplateCard, []string, error) {
	to, err := h.store.HazardReviewers(ctx, info)
	if err != nil {
		return messages.TemplateCard{}, nil, err
	}
	evs, err := h.store.HazardEvents(ctx, info.ID)
	if err != nil {
		return messages.TemplateCard{}, nil, err
	}
	submissions := 0
	for _, e := range evs {
		if e.To == safetybot.HazardReview && e.From != e.To {
			submissions++
		}
	}
	// The photos open from the card without the admin login: signed links
	// that expire (ReviewPhotoLinkTTL).
	key, err := PhotoLinkKey(ctx, h.store)
	if err != nil {
		return messages.TemplateCard{}, nil, err
	}
	exp := h.store.Now().Add(ReviewPhotoLinkTTL)
	v := messages.ReviewView{Hazard: ref(info), Note: ev.Note, Submitter: submitter, Resubmitted: submissions > 1}
	for _, s := range info.Before {
		v.BeforeLinks = append(v.BeforeLinks, PhotoURL(h.publicURL, key, s, exp))
	}
	for _, s := range ev.Photos {
		v.AfterLinks = append(v.AfterLinks, PhotoURL(h.publicURL, key, s, exp))
	}
	return messages.ReviewCard(v, ev.ID, messages.ReviewTaskID(info.ID, ev.ID)), to, nil
}

// reviewOne answers "复查 12": the review card of hazard 12 again, to the
// official who asks, with fresh photo links (those of the first card expire)
// and the same 通过 / 退回 buttons.
func (h *rectify) reviewOne(ctx context.Context, req *Request) (messages.Reply, error) {
	id, _, ok := parseHazardID(req.Args)
	if !ok {
		return text(messages.HazardIDUsage(messages.WordReviewOne + " 12")), nil
	}
	info, msg, err := h.decider(ctx, req, id)
	if err != nil || msg != "" {
		return text(msg), err
	}
	if info.Status != safetybot.HazardReview {
		return text(messages.ReviewNotPending(info.ID, string(info.Status))), nil
	}
	ev, err := h.store.LatestRectification(ctx, id)
	if err != nil {
		return nil, err
	}
	submitter := ev.Actor
	if p, err := h.store.FindPerson(ctx, ev.Actor); err == nil {
		submitter = p.Name
	} else if !store.IsNotFound(err) {
		return nil, err
	}
	card, _, err := h.reviewCard(ctx, info, ev, submitter)
	if err != nil {
		return nil, err
	}
	card.TaskID = messages.ReviewAgainTaskID(info.ID, ev.ID, strconv.FormatInt(h.store.Now().UnixNano(), 36))
	return messages.Reply{messages.Card(nil, card)}, nil
}

// ---- officials: review ----

// decider loads a hazard and checks the sender may decide on it.
func (h *rectify) decider(ctx context.Context, req *Request, id int64) (store.HazardInfo, string, error) {
	if req.Person == nil {
		return store.HazardInfo{}, messages.NotRegistered, nil
	}
	if !req.Person.Role.IsOfficial() {
		return store.HazardInfo{}, messages.HazardOnlyOfficials, nil
	}
	info, err := h.store.FindHazardInfo(ctx, id)
	if err != nil {
		if msg := safetybot.ErrorMessage(err); msg != "" {
			return info, msg, nil
		}
		return info, "", err
	}
	if !store.MayDecide(*req.Person, info) {
		return info, messages.HazardOnlyOfficials, nil
	}
	return info, "", nil
}

// review answers the 通过 / 退回 buttons: "hzrev:ok:<id>:<event>", "hzrev:back:<id>:<event>".
func (h *rectify) review(ctx context.Context, req *Request) (messages.Reply, error) {
	f := strings.Split(req.Args, ":")
	if len(f) != 3 {
		return text(messages.HazardStaleCard), nil
	}
	id, err1 := strconv.ParseInt(f[1], 10, 64)
	ev, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil {
		return text(messages.HazardStaleCard), nil
	}
	info, msg, err := h.decider(ctx, req, id)
	if err != nil || msg != "" {
		return text(msg), err
	}
	switch f[0] {
	case "ok":
		return h.approve(ctx, req, info, ev)
	case "back":
		if info.Status != safetybot.HazardReview || info.LastEvent != ev {
			return h.stale(req, info), nil
		}
		if err := h.store.PutConversation(ctx, req.In.From, convRectifyBack,
			rectifyBack{HazardID: id, EventID: ev, ResponseCode: req.In.ResponseCode}, rectifyTTL); err != nil {
			return nil, err
		}
		return text(messages.HazardAskReturn), nil
	}
	return text(messages.HazardStaleCard), nil
}

// stale answers a card tapped after the hazard moved on, greying its buttons.
func (h *rectify) stale(req *Request, info store.HazardInfo) messages.Reply {
	reply := text(fmt.Sprintf("这张卡片已过期：隐患（编号%d）现在是“%s”。", info.ID, info.Status))
	if req.In.ResponseCode != "" {
		reply = append(reply, messages.ReplaceButton([]string{req.In.From}, req.In.ResponseCode, string(info.Status)))
	}
	return reply
}

func (h *rectify) approve(ctx context.Context, req *Request, info store.HazardInfo, ev int64) (messages.Reply, error) {
	hz, _, err := h.store.TransitionHazard(ctx, store.HazardTransition{HazardID: info.ID, Action: store.HazardApprove,
		Actor: req.In.From, ExpectEvent: ev})
	if err != nil {
		if c := safetybot.ErrorCode(err); c == safetybot.ECONFLICT || c == safetybot.EINVALID {
			if cur, ferr := h.store.FindHazardInfo(ctx, info.ID); ferr == nil && ev != 0 {
				return h.stale(req, cur), nil
			}
		}
		return userError(err)
	}
	info.Hazard = hz
	reply := text(messages.ApprovedText(info.ID))
	if req.In.ResponseCode != "" {
		reply = append(reply, messages.ReplaceButton([]string{req.In.From}, req.In.ResponseCode,
			messages.ApprovedLabel+" "+h.store.Now().In(h.loc).Format("01-02 15:04")))
	}
	to, err := h.store.HazardContacts(ctx, info.EnterpriseID)
	if err != nil {
		return nil, err
	}
	if len(to) > 0 {
		reply = append(reply, messages.TextTo(to, messages.ApprovedNotice(ref(info))))
	}
	return reply, nil
}

// backReason takes the reason after a 退回 tap.
func (h *rectify) backReason(ctx context.Context, req *Request) (messages.Reply, error) {
	var b rectifyBack
	if err := h.conv(ctx, req, &b); err != nil {
		return nil, err
	}
	switch {
	case req.Text == messages.WordCancel:
		return text(messages.HazardCancelled), h.store.DeleteConversation(ctx, req.In.From)
	case req.In.Kind != messages.KindText || req.Text == "":
		return text(messages.HazardNeedReason), nil
	case h.isCommand(req.Text):
		if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
			return nil, err
		}
		return nil, errPass
	}
	if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
		return nil, err
	}
	info, msg, err := h.decider(ctx, req, b.HazardID)
	if err != nil || msg != "" {
		return text(msg), err
	}
	return h.sendBack(ctx, req, info, b.EventID, req.Text, b.ResponseCode)
}

func (h *rectify) sendBack(ctx context.Context, req *Request, info store.HazardInfo, ev int64, reason, responseCode string) (messages.Reply, error) {
	hz, back, err := h.store.TransitionHazard(ctx, store.HazardTransition{HazardID: info.ID, Action: store.HazardReturn,
		Actor: req.In.From, Note: reason, ExpectEvent: ev})
	if err != nil {
		return userError(err)
	}
	info.Hazard = hz
	reply := text(messages.ReturnedText(info.ID))
	if responseCode != "" {
		reply = append(reply, messages.ReplaceButton([]string{req.In.From}, responseCode,
			messages.ReturnedLabel+" "+h.store.Now().In(h.loc).Format("01-02 15:04")))
	}
	to, err := h.store.HazardContacts(ctx, info.EnterpriseID)
	if err != nil {
		return nil, err
	}
	if len(to) > 0 {
		reply = append(reply, messages.Card(to, messages.ReturnedCard(ref(info), reason, h.day(), messages.ReturnedTaskID(info.ID, back.ID))))
	}
	return reply, nil
}

// queue answers 待复查: the rectifications the official may review.
func (h *rectify) queue(ctx context.Context, req *Request) (messages.Reply, error) {
	if req.Person == nil {
		return text(messages.NotRegistered), nil
	}
	if !req.Person.Role.IsOfficial() {
		return h.start(ctx, req)
	}
	hs, err := h.store.ReviewQueue(ctx, *req.Person)
	if err != nil {
		return nil, err
	}
	if len(hs) == 0 {
		return text(messages.ReviewQueueEmpty), nil
	}
	refs := make([]messages.HazardRef, len(hs))
	notes := make([]string, len(hs))
	for i, x := range hs {
		refs[i] = ref(x)
		if ev, err := h.store.LatestRectification(ctx, x.ID); err == nil {
			notes[i] = ev.Note
		} else if !store.IsNotFound(err) {
			return nil, err
		}
	}
	return text(messages.ReviewQueueText(refs, notes)), nil
}

// hazardIDPattern reads a hazard number at the start of the arguments:
// "12", "#12", "编号12", "编号 12".
var hazardIDPattern = regexp.MustCompile(`^(?:编号|[#＃]|No\.?)?\s*(\d+)\s*(.*)$`)

func parseHazardID(args string) (int64, string, bool) {
	m := hazardIDPattern.FindStringSubmatch(strings.TrimSpace(args))
	if m == nil {
		return 0, "", false
	}
	id, err := strconv.ParseInt(m[1], 10, 64)
	return id, strings.TrimSpace(m[2]), err == nil && id > 0
}

// approveTyped answers "通过 12".
func (h *rectify) approveTyped(ctx context.Context, req *Request) (messages.Reply, error) {
	id, _, ok := parseHazardID(req.Args)
	if !ok {
		return text(messages.HazardIDUsage(messages.WordApprove + " 12")), nil
	}
	info, msg, err := h.decider(ctx, req, id)
	if err != nil || msg != "" {
		return text(msg), err
	}
	return h.approve(ctx, req, info, 0)
}

// returnTyped answers "退回 12 原因".
func (h *rectify) returnTyped(ctx context.Context, req *Request) (messages.Reply, error) {
	id, reason, ok := parseHazardID(req.Args)
	if !ok || reason == "" {
		return text(messages.HazardIDUsage(messages.WordReturn + " 12 照片看不清，灭火器没换")), nil
	}
	info, msg, err := h.decider(ctx, req, id)
	if err != nil || msg != "" {
		return text(msg), err
	}
	return h.sendBack(ctx, req, info, 0, reason, "")
}

// ---- extensions ----

// askExtend answers 申请延期 (the enterprise) — and 延期 without arguments.
func (h *rectify) askExtend(ctx context.Context, req *Request) (messages.Reply, error) {
	return h.choose(ctx, req, "extend")
}

// extendAnswer takes "8月20日 原因" and sends the request to the officials.
func (h *rectify) extendAnswer(ctx context.Context, req *Request) (messages.Reply, error) {
	var a extendAsk
	if err := h.conv(ctx, req, &a); err != nil {
		return nil, err
	}
	if req.Text == messages.WordCancel {
		return text(messages.RectifyCancelled), h.store.DeleteConversation(ctx, req.In.From)
	}
	d, reason, ok := parseDay(req.Text, h.today())
	if !ok {
		if h.isCommand(req.Text) {
			if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
				return nil, err
			}
			return nil, errPass
		}
		return text(messages.ExtendNeedDate), nil
	}
	if reason == "" {
		return text(messages.ExtendNeedReason), nil
	}
	info, err := h.store.FindHazardInfo(ctx, a.HazardID)
	if err != nil {
		return userError(err)
	}
	if msg := h.badNewDeadline(info, d); msg != "" {
		return text(msg), nil
	}
	if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
		return nil, err
	}
	day := d.Format(time.DateOnly)
	if err := h.store.Audit(ctx, req.In.From, "hazard.extend_request", store.HazardSubject(info.ID),
		map[string]any{"deadline": day, "reason": reason}, ""); err != nil {
		return nil, err
	}
	to, err := h.store.HazardReviewers(ctx, info)
	if err != nil {
		return nil, err
	}
	reply := text(messages.ExtendRequested(info.ID, day))
	if len(to) == 0 {
		return append(reply, messages.Text(messages.RectifyNoReviewer)), nil
	}
	nonce := strconv.FormatInt(h.store.Now().UnixNano()%1e9, 36)
	card := messages.ExtendRequestCard(ref(info), day, reason, req.Person.Name, info.LastEvent,
		messages.ExtendTaskID(info.ID, day, info.LastEvent, nonce))
	return append(reply, messages.Card(to, card)), nil
}

// badNewDeadline checks a requested or granted deadline.
func (h *rectify) badNewDeadline(info store.HazardInfo, d time.Time) string {
	switch {
	case !info.Status.Open():
		return fmt.Sprintf("隐患（编号%d）已经是“%s”，不需要延期。", info.ID, info.Status)
	case !d.After(h.today()):
		return "新期限要在今天之后。"
	case info.Deadline != nil && !d.After(*info.Deadline):
		return fmt.Sprintf("新期限要晚于原期限（%s）。", messages.ShortDate(info.Deadline.Format(time.DateOnly)))
	}
	return ""
}

// extendButton answers 同意 / 不同意 on an extension request:
// "hzext:ok:<id>:<YYYY-MM-DD>:<event>" and "hzext:no:…".
func (h *rectify) extendButton(ctx context.Context, req *Request) (messages.Reply, error) {
	f := strings.Split(req.Args, ":")
	if len(f) != 4 {
		return text(messages.HazardStaleCard), nil
	}
	id, err1 := strconv.ParseInt(f[1], 10, 64)
	d, err2 := time.Parse(time.DateOnly, f[2])
	ev, err3 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return text(messages.HazardStaleCard), nil
	}
	info, msg, err := h.decider(ctx, req, id)
	if err != nil || msg != "" {
		return text(msg), err
	}
	if info.LastEvent != ev || !info.Status.Open() {
		return h.stale(req, info), nil
	}
	to, err := h.store.HazardContacts(ctx, info.EnterpriseID)
	if err != nil {
		return nil, err
	}
	at := " " + h.store.Now().In(h.loc).Format("01-02 15:04")
	if f[0] != "ok" {
		if err := h.store.Audit(ctx, req.In.From, "hazard.extend_refused", store.HazardSubject(id),
			map[string]any{"deadline": f[2]}, ""); err != nil {
			return nil, err
		}
		reply := text(messages.ExtendRefusedText(id))
		if req.In.ResponseCode != "" {
			reply = append(reply, messages.ReplaceButton([]string{req.In.From}, req.In.ResponseCode, messages.RefusedLabel+at))
		}
		if len(to) > 0 {
			reply = append(reply, messages.TextTo(to, messages.ExtendRefusedNotice(ref(info))))
		}
		return reply, nil
	}
	reply, err := h.extend(ctx, req, info, d, "同意延期申请", ev)
	if err != nil || len(reply) == 0 || req.In.ResponseCode == "" {
		return reply, err
	}
	return append(reply, messages.ReplaceButton([]string{req.In.From}, req.In.ResponseCode, messages.AgreedLabel+at)), nil
}

// extendTyped answers "延期 12 8月20日 原因" from an official; the enterprise
// is led to 申请延期.
func (h *rectify) extendTyped(ctx context.Context, req *Request) (messages.Reply, error) {
	if isEnterpriseSideRole(req.Person) {
		return h.askExtend(ctx, req)
	}
	id, rest, ok := parseHazardID(req.Args)
	if !ok {
		return text(messages.HazardIDUsage(messages.WordExtend + " 12 8月20日 设备未到货")), nil
	}
	d, reason, ok := parseDay(rest, h.today())
	if !ok {
		return text(messages.HazardIDUsage(messages.WordExtend + " 12 8月20日 设备未到货")), nil
	}
	info, msg, err := h.decider(ctx, req, id)
	if err != nil || msg != "" {
		return text(msg), err
	}
	if reason == "" {
		reason = "批准延期"
	}
	return h.extend(ctx, req, info, d, reason, 0)
}

func (h *rectify) extend(ctx context.Context, req *Request, info store.HazardInfo, d time.Time, reason string, ev int64) (messages.Reply, error) {
	if msg := h.badNewDeadline(info, d); msg != "" {
		return text(msg), nil
	}
	hz, _, err := h.store.TransitionHazard(ctx, store.HazardTransition{HazardID: info.ID, Action: store.HazardExtend,
		Actor: req.In.From, Note: reason, Deadline: &d, ExpectEvent: ev})
	if err != nil {
		return userError(err)
	}
	info.Hazard = hz
	day := d.Format(time.DateOnly)
	reply := text(messages.ExtendedText(info.ID, day))
	to, err := h.store.HazardContacts(ctx, info.EnterpriseID)
	if err != nil {
		return nil, err
	}
	if len(to) > 0 {
		reply = append(reply, messages.TextTo(to, messages.ExtendedNotice(ref(info), day)))
	}
	return reply, nil
}

// ---- 停产整改 and 关闭取缔 ----

// closure answers "停产整改 12 原因" and "关闭取缔 12 原因" from an official.
func (h *rectify) closure(action store.HazardAction) Func {
	return func(ctx context.Context, req *Request) (messages.Reply, error) {
		id, reason, ok := parseHazardID(req.Args)
		if !ok {
			return text(messages.HazardIDUsage(string(action) + " 12 无法整改达标")), nil
		}
		info, msg, err := h.decider(ctx, req, id)
		if err != nil || msg != "" {
			return text(msg), err
		}
		hz, _, err := h.store.TransitionHazard(ctx, store.HazardTransition{HazardID: id, Action: action, Actor: req.In.From, Note: reason})
		if err != nil {
			return userError(err)
		}
		info.Hazard = hz
		reply := text(messages.ClosureText(id, string(hz.Status)))
		to, err := h.store.HazardContacts(ctx, info.EnterpriseID)
		if err != nil {
			return nil, err
		}
		if len(to) > 0 {
			reply = append(reply, messages.TextTo(to, messages.ClosureNotice(ref(info), string(hz.Status), reason)))
		}
		return reply, nil
	}
}

// ---- 五定 ----

// planStart answers "五定 12": the official answers six questions.
func (h *rectify) planStart(ctx context.Context, req *Request) (messages.Reply, error) {
	id, _, ok := parseHazardID(req.Args)
	if !ok {
		return text(messages.HazardIDUsage(messages.WordPlan + " 12")), nil
	}
	info, msg, err := h.decider(ctx, req, id)
	if err != nil || msg != "" {
		return text(msg), err
	}
	switch {
	case info.Grade != safetybot.GradeMajor:
		return text(messages.PlanOnlyMajor(id)), nil
	case !info.Status.Open():
		return text(fmt.Sprintf("隐患（编号%d）已经是“%s”，不能再修改五定。", id, info.Status)), nil
	}
	st := hazardPlanState{HazardID: id, Values: map[string]string{}}
	if err := h.store.PutConversation(ctx, req.In.From, convHazardPlan, st, rectifyTTL); err != nil {
		return nil, err
	}
	return text(messages.PlanIntro(ref(info)) + "\n" + messages.PlanQuestion(1, messages.PlanSteps[0], planCurrent(info, messages.PlanSteps[0].Key))), nil
}

func planCurrent(info store.HazardInfo, key string) string {
	switch key {
	case "measures":
		return info.Measures
	case "owner":
		return info.Owner
	case "funds":
		return info.Funds
	case "deadline":
		if info.Deadline != nil {
			return messages.ShortDate(info.Deadline.Format(time.DateOnly))
		}
	case "plan":
		return info.Plan
	case "tracker":
		return info.Tracker
	}
	return ""
}

// planAnswer takes one 五定 answer.
func (h *rectify) planAnswer(ctx context.Context, req *Request) (messages.Reply, error) {
	var st hazardPlanState
	if err := h.conv(ctx, req, &st); err != nil {
		return nil, err
	}
	if req.Text == messages.WordCancel {
		return text(messages.HazardCancelled), h.store.DeleteConversation(ctx, req.In.From)
	}
	if req.In.Kind != messages.KindText || req.Text == "" {
		return text("请回复文字，或“跳过”。"), nil
	}
	step := messages.PlanSteps[st.Step]
	if req.Text != messages.WordSkip {
		v := req.Text
		switch step.Key {
		case "deadline":
			d, _, ok := parseDay(v, h.today())
			if !ok || !d.After(h.today()) {
				return text("请回复今天以后的日期，如 8月20日，或“跳过”。"), nil
			}
			v = d.Format(time.DateOnly)
		case "tracker":
			u, msg, err := h.findOfficial(ctx, v)
			if err != nil || msg != "" {
				return text(msg), err
			}
			v = u
		}
		st.Values[step.Key] = v
	}
	st.Step++
	if st.Step < len(messages.PlanSteps) {
		info, err := h.store.FindHazardInfo(ctx, st.HazardID)
		if err != nil {
			return userError(err)
		}
		if err := h.store.PutConversation(ctx, req.In.From, convHazardPlan, st, rectifyTTL); err != nil {
			return nil, err
		}
		next := messages.PlanSteps[st.Step]
		return text(messages.PlanQuestion(st.Step+1, next, planCurrent(info, next.Key))), nil
	}
	if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
		return nil, err
	}
	before, err := h.store.FindHazard(ctx, st.HazardID)
	if err != nil {
		return userError(err)
	}
	var p store.HazardPlan
	for k, v := range st.Values {
		v := v
		switch k {
		case "measures":
			p.Measures = &v
		case "owner":
			p.Owner = &v
		case "funds":
			p.Funds = &v
		case "plan":
			p.Plan = &v
		case "tracker":
			p.Tracker = &v
		case "deadline":
			d, _ := time.Parse(time.DateOnly, v)
			p.Deadline = &d
		}
	}
	hz := before
	if !p.Empty() {
		if hz, err = h.store.SetHazardPlan(ctx, st.HazardID, req.In.From, p); err != nil {
			return userError(err)
		}
	}
	v := messages.PlanView{Measures: hz.Measures, Owner: hz.Owner, Funds: hz.Funds, Plan: hz.Plan, Tracker: hz.Tracker}
	if hz.Deadline != nil {
		v.Deadline = hz.Deadline.Format(time.DateOnly)
	}
	if t, err := h.store.FindPerson(ctx, hz.Tracker); err == nil {
		v.Tracker = t.Name + "（" + t.UserID + "）"
	}
	reply := text(messages.PlanSaved(hz.ID, v))
	if hz.Tracker != "" && !strings.EqualFold(hz.Tracker, before.Tracker) {
		info, err := h.store.FindHazardInfo(ctx, hz.ID)
		if err != nil {
			return nil, err
		}
		reply = append(reply, messages.TextTo([]string{hz.Tracker}, messages.TrackerNotice(ref(info), req.Person.Name)))
	}
	return reply, nil
}

// findOfficial resolves a tracker typed as a name or userid.
func (h *rectify) findOfficial(ctx context.Context, part string) (string, string, error) {
	os, err := h.store.FindOfficials(ctx, part, 5)
	if err != nil {
		return "", "", err
	}
	for _, o := range os {
		if strings.EqualFold(o.UserID, part) || o.Name == part {
			return o.UserID, "", nil
		}
	}
	switch len(os) {
	case 0:
		return "", messages.TrackerNotFound(part), nil
	case 1:
		return os[0].UserID, "", nil
	}
	names := make([]string, len(os))
	for i, o := range os {
		names[i] = o.Name + "（" + o.UserID + "）"
	}
	return "", messages.TrackerAmbiguous(names), nil
}

// NotifyTracker enqueues, in the caller's transaction, a message to a
// hazard's tracker when they were just named (the tracker differs from
// oldTracker). by names who named them.
func NotifyTracker(ctx context.Context, st *store.Store, h safetybot.Hazard, oldTracker, by string) error {
	if h.Tracker == "" || strings.EqualFold(h.Tracker, oldTracker) {
		return nil
	}
	info, err := st.FindHazardInfo(ctx, h.ID)
	if err != nil {
		return err
	}
	b, err := json.Marshal(messages.TextTo(nil, messages.TrackerNotice(ref(info), by)).Body)
	if err != nil {
		return err
	}
	_, err = st.Enqueue(ctx, store.OutboxMessage{Recipients: []string{h.Tracker}, Payload: b})
	return err
}

// conv loads the open conversation's data.
func (h *rectify) conv(ctx context.Context, req *Request, v any) error {
	c, err := h.store.FindConversation(ctx, req.In.From)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(c.Data), v)
}

// ---- dates typed in chat ----

var (
	dayISO   = regexp.MustCompile(`^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?\s*(.*)$`)
	dayMonth = regexp.MustCompile(`^(\d{1,2})(?:月(\d{1,2})[日号]?|[-/.](\d{1,2}))\s*(.*)$`)
)

// parseDay reads a date at the start of s — 2026-08-20, 2026/8/20,
// 2026年8月20日, 8月20日, 8-20, 8/20 — and returns it (midnight UTC, a civil
// date) and the rest. A date without a year is taken in today's year, or the
// next when that is more than half a year past.
func parseDay(s string, today time.Time) (time.Time, string, bool) {
	s = strings.TrimSpace(s)
	var y, m, d int
	var rest string
	if g := dayISO.FindStringSubmatch(s); g != nil {
		y, _ = strconv.Atoi(g[1])
		m, _ = strconv.Atoi(g[2])
		d, _ = strconv.Atoi(g[3])
		rest = g[4]
	} else if g := dayMonth.FindStringSubmatch(s); g != nil {
		m, _ = strconv.Atoi(g[1])
		if g[2] != "" {
			d, _ = strconv.Atoi(g[2])
		} else {
			d, _ = strconv.Atoi(g[3])
		}
		rest = g[4]
		y = today.Year()
		if t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC); today.Sub(t) > 183*24*time.Hour {
			y++
		}
	} else {
		return time.Time{}, "", false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if m < 1 || m > 12 || d < 1 || t.Day() != d {
		return time.Time{}, "", false
	}
	return t, strings.TrimLeft(strings.TrimSpace(rest), "，,；;：: "), true
}
