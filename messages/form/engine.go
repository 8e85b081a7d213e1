package form

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"safetybot"
)

// Start opens a session for the enterprise and filler in ctx: the first
// applicable question, with a one-line introduction.
func (f *Form) Start(ctx Context) (State, Output) {
	ctx.SmallType = NormalizeSmallType(ctx.SmallType)
	st := State{
		Form:      f.Key,
		Versions:  maps.Clone(f.Versions),
		Ctx:       ctx,
		Answers:   map[string]Answer{},
		Phase:     PhaseAsking,
		UpdatedAt: ctx.Now,
	}
	f.goFirstIncomplete(&st)
	intro := fmt.Sprintf(txtStart, f.Title, f.total(&st))
	return st, f.finish(f.render(&st, intro, ""))
}

// Current re-renders where the user is: the open question, the review, or the
// pending confirmation. Use it for 继续 after a pause or a restart. It does not
// change the state.
func (f *Form) Current(st State) Output {
	st = st.clone()
	f.repair(&st)
	return f.finish(f.render(&st, "", ""))
}

// Step applies one user input to a copy of st and returns the new state and what
// to say. st itself is not modified. Invalid input leaves the answers as they were
// and Output.Error says why.
func (f *Form) Step(st State, in Input) (State, Output) {
	st = st.clone()
	f.repair(&st)
	now := in.Now
	if now.IsZero() {
		// The engine has no clock; fall back to the last known time rather than guess.
		now = st.UpdatedAt
		if now.IsZero() {
			now = st.Ctx.Now
		}
	}
	st.UpdatedAt = now
	// Answers are stored and echoed back: never keep bytes that are not text
	// (a callback's XML is valid UTF-8, but the engine does not rely on it).
	in.Text = strings.ToValidUTF8(in.Text, "\uFFFD")
	out := f.step(&st, in, now)
	return st, f.finish(out)
}

// finish enforces the output contract: never empty, never over MaxTextBytes.
func (f *Form) finish(out Output) Output {
	if strings.TrimSpace(out.Text) == "" {
		out.Text = txtHelp
	}
	out.Text = clipBytes(out.Text, MaxTextBytes)
	return out
}

func (f *Form) step(st *State, in Input, now time.Time) Output {
	text := in.Text
	if len(in.OptionIDs) > 0 && !f.isChoiceStep(st) {
		// A card button outside a question (确认, 继续, 提交, an attach target)
		// reads as its id typed.
		if text == "" {
			text = in.OptionIDs[0]
		}
		in.OptionIDs = nil
	}
	norm := normalise(text)
	switch st.Phase {
	case PhaseDone:
		return Output{Text: txtAlreadyDone, Expect: ExpectNone}
	case PhaseCancelled:
		if is(norm, wordsContinue...) {
			st.Phase, st.Resume = st.Resume, ""
			f.repair(st)
			return f.render(st, txtResume, "")
		}
		return f.render(st, "", "")
	case PhaseConfirmCancel:
		return f.stepConfirmCancel(st, in, norm, now)
	case PhaseConfirmSubmit:
		return f.stepConfirmSubmit(st, in, norm, now)
	case PhaseAttach:
		return f.stepAttach(st, in, norm)
	case PhaseReview:
		return f.stepReview(st, in, norm, now)
	}
	return f.stepQuestion(st, in, text, norm, now)
}

func (f *Form) stepQuestion(st *State, in Input, text, norm string, now time.Time) Output {
	id := st.step()
	key, sub := splitStep(id)
	q := f.Question(key)
	photoStep := f.isPhotoStep(st)

	switch {
	case in.PhotoSHA256 != "":
		if photoStep {
			return f.addPhoto(st, in.PhotoSHA256)
		}
		return f.loosePhoto(st, in.PhotoSHA256)
	case in.Location != nil:
		if sub == "" && q.Type == TypeLocation {
			loc := *in.Location
			st.Answers[key] = Answer{Location: &loc}
			return f.advance(st, id, "")
		}
		return f.render(st, "", errNotLocation)
	case len(in.OptionIDs) > 0:
		return f.answerOptionIDs(st, in.OptionIDs)
	case norm == "":
		return f.render(st, "", errEmpty)
	}

	switch {
	case is(norm, wordsHelp...):
		return f.render(st, f.helpText(st), "")
	case is(norm, wordsContinue...):
		return f.render(st, "", "")
	case is(norm, wordsCancel...):
		return f.toConfirmCancel(st)
	case is(norm, wordsBack...):
		return f.back(st)
	case is(norm, wordsSkip...):
		return f.skip(st)
	case is(norm, wordsSubmit...):
		return f.render(st, "", fmt.Sprintf(errIncomplete, f.number(st, key)))
	}
	if n, ok := parseEdit(norm); ok {
		return f.edit(st, n)
	}
	if photoStep {
		switch {
		case is(norm, wordsDone...):
			return f.finishPhotos(st)
		case is(norm, wordsRetake...):
			f.setPhotos(st, id, nil)
			return f.render(st, txtPhotoCleared, "")
		}
		return f.render(st, "", errWantPhoto)
	}
	if is(norm, wordsNext...) {
		if f.complete(st, id) {
			return f.advance(st, id, "")
		}
		return f.render(st, "", errNoAnswerYet)
	}
	if sub != "" {
		return f.answerRepeat(st, key, sub, text, norm, now)
	}
	return f.answerQuestion(st, q, text, norm, now)
}

// answerQuestion validates and stores the answer to the open question.
func (f *Form) answerQuestion(st *State, q *Question, text, norm string, now time.Time) Output {
	var a Answer
	switch q.Type {
	case TypeYesNo, TypeSingle:
		i := choiceIndex(q.Options, q.Type == TypeYesNo, norm)
		if i < 0 {
			return f.render(st, "", fmt.Sprintf(errChoice, numbers(len(q.Options))))
		}
		return f.setChoice(st, q, []int{i})
	case TypeMulti:
		idx, msg := multiIndexes(q.Options, norm)
		if msg != "" {
			return f.render(st, "", msg)
		}
		return f.setChoice(st, q, idx)
	case TypeText:
		v, msg := textAnswer(text)
		if msg != "" {
			return f.render(st, "", msg)
		}
		a.Value = v
	case TypeNumber:
		v, ok := parseNumber(norm, q.Unit)
		if !ok {
			return f.render(st, "", fmt.Sprintf(errNumber, numberExample(q)))
		}
		if msg := checkRange(q, v); msg != "" {
			return f.render(st, "", msg)
		}
		a.Number = &v
	case TypeDate:
		d, msg := dateAnswer(norm, now, q.NotPast, q.NotFuture, 5)
		if msg != "" {
			return f.render(st, "", msg)
		}
		a.Date = d
	case TypeLocation:
		v, msg := textAnswer(text)
		if msg != "" || utf8.RuneCountInString(v) < 2 {
			return f.render(st, "", errWantLocation)
		}
		a.Value = v
	default:
		return f.render(st, "", errWantPhoto)
	}
	st.Answers[q.Key] = a
	return f.advance(st, q.Key, "")
}

// setChoice stores option answers; for a checklist item it opens, keeps or drops
// the hazard block depending on whether the new value fails.
func (f *Form) setChoice(st *State, q *Question, idx []int) Output {
	a := st.Answers[q.Key]
	a.Skipped = false
	switch q.Type {
	case TypeMulti:
		a.Values = a.Values[:0:0]
		for _, i := range idx {
			a.Values = append(a.Values, q.Options[i].ID)
		}
	case TypeYesNo:
		a.Value = q.Options[idx[0]].Text
		a.NA = a.Value == NA
	default:
		a.Value = q.Options[idx[0]].ID
	}
	if q.Fails(a.Value) {
		if a.Failure == nil {
			a.Failure = &Failure{}
		}
	} else {
		a.Failure = nil
	}
	st.Answers[q.Key] = a
	return f.advance(st, q.Key, "")
}

// answerOptionIDs handles a card click on the open step's options.
func (f *Form) answerOptionIDs(st *State, ids []string) Output {
	opts := f.stepOptions(st)
	var idx []int
	for _, id := range ids {
		i := slices.IndexFunc(opts, func(o Option) bool { return o.ID == id })
		if i < 0 {
			return f.render(st, "", fmt.Sprintf(errChoice, numbers(len(opts))))
		}
		if !slices.Contains(idx, i) {
			idx = append(idx, i)
		}
	}
	key, sub := splitStep(st.step())
	if sub != "" {
		return f.answerRepeat(st, key, sub, opts[idx[0]].Text, normalise(opts[idx[0]].Text), st.UpdatedAt)
	}
	q := f.Question(key)
	if q.Type != TypeMulti && len(idx) != 1 {
		return f.render(st, "", fmt.Sprintf(errChoice, numbers(len(opts))))
	}
	return f.setChoice(st, q, idx)
}

var gradeOptions = []Option{{ID: "general", Text: safetybot.GradeGeneral}, {ID: "major", Text: safetybot.GradeMajor}}
var fixedOptions = yesNoOptions(false)

// answerRepeat stores one step of a failed item's hazard block.
func (f *Form) answerRepeat(st *State, key, sub, text, norm string, now time.Time) Output {
	a := st.Answers[key]
	var fl Failure
	if a.Failure != nil {
		fl = *a.Failure
	}
	switch sub {
	case RepeatProblem:
		v, msg := textAnswer(text)
		if msg != "" {
			return f.render(st, "", msg)
		}
		fl.Problem = v
	case RepeatGrade:
		i := choiceIndex(gradeOptions, false, strings.TrimSuffix(strings.TrimSuffix(norm, "隐患"), "的"))
		if i < 0 {
			return f.render(st, "", fmt.Sprintf(errChoice, numbers(len(gradeOptions))))
		}
		fl.Grade = gradeOptions[i].Text
	case RepeatFixed:
		i := choiceIndex(fixedOptions, true, norm)
		if i < 0 {
			return f.render(st, "", fmt.Sprintf(errChoice, numbers(len(fixedOptions))))
		}
		fl.FixedOnSpot = i == 0
		// Only one of the two follow-ups applies; drop the other's stale value.
		if fl.FixedOnSpot {
			fl.Deadline = ""
		} else {
			fl.FixedPhotos = nil
		}
	case RepeatDeadline:
		d, msg := dateAnswer(norm, now, true, false, 2)
		if msg != "" {
			return f.render(st, "", msg)
		}
		fl.Deadline = d
	default:
		return f.render(st, "", errWantPhoto)
	}
	a.Failure = &fl
	st.Answers[key] = a
	return f.advance(st, stepID(key, sub), "")
}

func textAnswer(text string) (string, string) {
	v := strings.TrimSpace(text)
	switch {
	case v == "":
		return "", errEmpty
	case utf8.RuneCountInString(v) > maxAnswerRunes:
		return "", fmt.Sprintf(errTextLong, maxAnswerRunes)
	}
	return v, ""
}

// dateAnswer parses a date reply and checks it against today; maxYears bounds
// typos such as 2052.
func dateAnswer(norm string, now time.Time, notPast, notFuture bool, maxYears int) (string, string) {
	example := now.AddDate(0, 0, 7).Format("1月2日")
	t, err := parseDate(norm, now)
	if err != nil {
		return "", fmt.Sprintf(errDate, example)
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	switch {
	case notPast && t.Before(today):
		return "", fmt.Sprintf(errDatePast, today.Format("1月2日"))
	case notFuture && t.After(today):
		return "", fmt.Sprintf(errDateFuture, today.Format("1月2日"))
	case t.After(today.AddDate(maxYears, 0, 0)) || t.Before(today.AddDate(-maxYears, 0, 0)):
		return "", errDateFar
	}
	return t.Format("2006-01-02"), ""
}

func checkRange(q *Question, v float64) string {
	switch {
	case q.Min != nil && q.Max != nil && (v < *q.Min || v > *q.Max):
		return fmt.Sprintf(errNumberRange, fmtNumber(*q.Min)+"–"+fmtNumber(*q.Max)+q.Unit)
	case q.Min != nil && v < *q.Min:
		return fmt.Sprintf(errNumberMin, fmtNumber(*q.Min)+q.Unit)
	case q.Max != nil && v > *q.Max:
		return fmt.Sprintf(errNumberMax, fmtNumber(*q.Max)+q.Unit)
	}
	return ""
}

// ---- photos ----

// photoSpec describes the open photo step.
type photoSpec struct {
	min, max int
	optional bool
}

func (f *Form) isPhotoStep(st *State) bool {
	_, ok := f.photoSpec(st, st.step())
	return ok && (st.Phase == PhaseAsking || st.Phase == PhaseRepeat)
}

func (f *Form) photoSpec(st *State, id string) (photoSpec, bool) {
	key, sub := splitStep(id)
	switch sub {
	case RepeatPhotos:
		return photoSpec{min: 1, max: maxPhotoCount}, true
	case RepeatFixedPhotos:
		return photoSpec{min: 0, max: maxPhotoCount, optional: true}, true
	case "":
		if q := f.Question(key); q != nil && q.Type == TypePhoto {
			min := q.MinPhotos
			if q.Required && min < 1 {
				min = 1
			}
			return photoSpec{min: min, max: q.MaxPhotos, optional: !q.Required}, true
		}
	}
	return photoSpec{}, false
}

func (f *Form) photos(st *State, id string) []string {
	key, sub := splitStep(id)
	a := st.Answers[key]
	switch sub {
	case RepeatPhotos:
		if a.Failure != nil {
			return a.Failure.Photos
		}
	case RepeatFixedPhotos:
		if a.Failure != nil {
			return a.Failure.FixedPhotos
		}
	default:
		return a.Photos
	}
	return nil
}

func (f *Form) setPhotos(st *State, id string, photos []string) {
	key, sub := splitStep(id)
	a := st.Answers[key]
	switch sub {
	case RepeatPhotos, RepeatFixedPhotos:
		if a.Failure == nil {
			return
		}
		fl := *a.Failure
		if sub == RepeatPhotos {
			fl.Photos = photos
		} else {
			fl.FixedPhotos = photos
		}
		a.Failure = &fl
	default:
		a = Answer{Photos: photos}
	}
	st.Answers[key] = a
}

func (f *Form) addPhoto(st *State, sha string) Output {
	id := st.step()
	spec, _ := f.photoSpec(st, id)
	cur := f.photos(st, id)
	if slices.Contains(cur, sha) {
		return Output{Text: txtPhotoDup + fmt.Sprintf(txtPhotosSoFar, len(cur)), Expect: ExpectPhoto, Step: id}
	}
	if len(cur) >= spec.max {
		return f.render(st, "", fmt.Sprintf(errPhotoFull, len(cur)))
	}
	cur = append(slices.Clone(cur), sha)
	f.setPhotos(st, id, cur)
	if len(cur) >= spec.max {
		return f.advance(st, id, fmt.Sprintf(txtPhotosSoFar, len(cur)))
	}
	return Output{Text: fmt.Sprintf(txtPhotoGot, len(cur), spec.max), Expect: ExpectPhoto, Step: id}
}

func (f *Form) finishPhotos(st *State) Output {
	id := st.step()
	spec, _ := f.photoSpec(st, id)
	n := len(f.photos(st, id))
	if n == 0 && spec.optional {
		return f.skip(st)
	}
	if need := max(spec.min, 1); n < need {
		return f.render(st, "", fmt.Sprintf(errPhotoMin, need, n))
	}
	return f.advance(st, id, "")
}

// loosePhoto keeps a photo that arrived when none was asked and asks where it goes.
func (f *Form) loosePhoto(st *State, sha string) Output {
	targets := f.photoTargets(st)
	if len(targets) == 0 {
		return f.render(st, "", errNotPhoto)
	}
	if st.Phase != PhaseAttach {
		resume := st.Phase
		if resume == PhaseConfirmSubmit {
			resume = PhaseReview // the summary changes; show it again before signing
		}
		st.Resume, st.Phase, st.LoosePhotos = resume, PhaseAttach, nil
	}
	if !slices.Contains(st.LoosePhotos, sha) {
		st.LoosePhotos = append(st.LoosePhotos, sha)
	}
	st.AttachTo = targets
	return f.render(st, "", "")
}

// maxAttachTargets keeps the "which item?" list short enough to read and to fit.
const maxAttachTargets = 20

// photoTargets lists where a loose photo may go: every applicable photo question
// (answered or upcoming) and the problem photos of every failed item.
func (f *Form) photoTargets(st *State) []string {
	var out []string
	for _, q := range f.applicable(st) {
		if len(out) >= maxAttachTargets {
			break
		}
		if q.Type == TypePhoto {
			out = append(out, q.Key)
		}
		if a := st.Answers[q.Key]; a.Failure != nil && q.Fails(a.Value) {
			out = append(out, stepID(q.Key, RepeatPhotos))
		}
	}
	return out
}

func (f *Form) stepAttach(st *State, in Input, norm string) Output {
	if in.PhotoSHA256 != "" {
		return f.loosePhoto(st, in.PhotoSHA256)
	}
	switch {
	case is(norm, wordsHelp...):
		return f.render(st, f.helpText(st), "")
	case is(norm, wordsDiscard...), is(norm, wordsCancel...):
		f.resumeFromAttach(st)
		return f.render(st, txtDiscarded, "")
	}
	i := choiceIndex(make([]Option, len(st.AttachTo)), false, norm)
	if i < 0 {
		if is(norm, wordsContinue...) || is(norm, wordsBack...) {
			return f.render(st, "", "")
		}
		return f.render(st, "", fmt.Sprintf(errAttach, numbers(len(st.AttachTo))))
	}
	msg := f.attach(st, st.AttachTo[i], st.LoosePhotos)
	f.resumeFromAttach(st)
	return f.render(st, msg, "")
}

func (f *Form) resumeFromAttach(st *State) {
	st.Phase, st.Resume = st.Resume, ""
	st.LoosePhotos, st.AttachTo = nil, nil
	f.repair(st)
}

// attach puts photos on a target and says where they went.
func (f *Form) attach(st *State, target string, photos []string) string {
	key, sub := splitStep(target)
	q := f.Question(key)
	if q == nil {
		return txtDiscarded
	}
	n := f.number(st, key)
	limit := maxPhotoCount
	var cur []string
	a, answered := st.Answers[key]
	switch {
	case sub == RepeatPhotos:
		if a.Failure == nil {
			return txtDiscarded
		}
		cur = a.Failure.Photos
	case answered:
		limit, cur = q.MaxPhotos, a.Photos
	default:
		limit, cur = q.MaxPhotos, st.Pending[key]
	}
	added := 0
	cur = slices.Clone(cur)
	for _, p := range photos {
		if len(cur) < limit && !slices.Contains(cur, p) {
			cur = append(cur, p)
			added++
		}
	}
	switch {
	case sub == RepeatPhotos:
		fl := *a.Failure
		fl.Photos = cur
		a.Failure = &fl
		st.Answers[key] = a
	case answered:
		st.Answers[key] = Answer{Photos: cur}
	default:
		if st.Pending == nil {
			st.Pending = map[string][]string{}
		}
		st.Pending[key] = cur
	}
	if added < len(photos) {
		return fmt.Sprintf(txtAttachedFull, n, q.label(), limit, added)
	}
	return fmt.Sprintf(txtAttached, n, q.label())
}

// ---- navigation ----

func (f *Form) back(st *State) Output {
	if len(st.Path) == 0 {
		return f.render(st, "", errFirst)
	}
	f.setCursor(st, st.Path[len(st.Path)-1])
	return f.render(st, "", "")
}

func (f *Form) skip(st *State) Output {
	id := st.step()
	key, sub := splitStep(id)
	if len(f.photos(st, id)) > 0 && f.isPhotoStep(st) {
		// Photos already sent are never thrown away by 跳过: it ends the question.
		return f.finishPhotos(st)
	}
	switch sub {
	case "":
		if q := f.Question(key); q.Required {
			return f.render(st, "", errRequired)
		}
		st.Answers[key] = Answer{Skipped: true}
	case RepeatFixedPhotos:
		f.setPhotos(st, id, nil)
	default:
		return f.render(st, "", errRequired)
	}
	return f.advance(st, id, "")
}

func (f *Form) edit(st *State, n int) Output {
	apps := f.applicable(st)
	if n < 1 || n > len(apps) {
		return f.render(st, "", fmt.Sprintf(errEditRange, n, span(len(apps))))
	}
	q := apps[n-1]
	if (st.Phase == PhaseAsking || st.Phase == PhaseRepeat) && n > f.number(st, st.Cursor) && !f.complete(st, q.Key) {
		return f.render(st, "", fmt.Sprintf(errEditAhead, n))
	}
	f.setCursor(st, q.Key)
	return f.render(st, fmt.Sprintf(txtEditing, n), "")
}

// advance moves on from a completed step: into the item's hazard block when it
// failed, else to the first unfinished step after it (so a changed answer returns
// the user to where they were), else to the review. Answers that no longer apply
// are dropped first.
func (f *Form) advance(st *State, from, prefix string) Output {
	f.prune(st)
	next := f.nextAfter(st, from)
	if next == "" {
		f.toReview(st)
	} else {
		f.setCursor(st, next)
	}
	return f.render(st, prefix, "")
}

func (f *Form) nextAfter(st *State, from string) string {
	steps := f.steps(st)
	i := slices.Index(steps, from)
	if i < 0 {
		return f.firstIncomplete(st)
	}
	fromKey, _ := splitStep(from)
	for _, s := range steps[i+1:] {
		k, sub := splitStep(s)
		if (sub != "" && k == fromKey) || !f.complete(st, s) {
			return s
		}
	}
	return f.firstIncomplete(st)
}

func (f *Form) firstIncomplete(st *State) string {
	for _, s := range f.steps(st) {
		if !f.complete(st, s) {
			return s
		}
	}
	return ""
}

func (f *Form) goFirstIncomplete(st *State) {
	if s := f.firstIncomplete(st); s != "" {
		f.setCursor(st, s)
	} else {
		f.toReview(st)
	}
}

func (f *Form) toReview(st *State) {
	st.Phase, st.Cursor, st.Repeat, st.Page = PhaseReview, "", nil, 0
	st.Path = f.steps(st)
}

// setCursor opens a step and rebuilds Path as the steps before it.
func (f *Form) setCursor(st *State, id string) {
	key, sub := splitStep(id)
	st.Cursor, st.Page = key, 0
	if sub == "" {
		st.Phase, st.Repeat = PhaseAsking, nil
	} else {
		st.Phase, st.Repeat = PhaseRepeat, &RepeatState{Item: key, Step: sub}
	}
	if p := st.Pending[key]; len(p) > 0 && sub == "" {
		// Photos sent earlier for this question join it now that it is open.
		a := st.Answers[key]
		merged := slices.Clone(a.Photos)
		for _, x := range p {
			if !slices.Contains(merged, x) {
				merged = append(merged, x)
			}
		}
		st.Answers[key] = Answer{Photos: merged}
		delete(st.Pending, key)
	}
	steps := f.steps(st)
	if i := slices.Index(steps, id); i >= 0 {
		st.Path = slices.Clone(steps[:i])
	} else {
		st.Path = nil
	}
}

func (f *Form) toConfirmCancel(st *State) Output {
	st.Resume, st.Phase = st.Phase, PhaseConfirmCancel
	return f.render(st, "", "")
}

func (f *Form) stepConfirmCancel(st *State, in Input, norm string, now time.Time) Output {
	resume := func() {
		st.Phase, st.Resume = st.Resume, ""
		f.repair(st)
	}
	switch {
	case in.PhotoSHA256 != "" || in.Location != nil:
		// Sending content means "go on": resume and let the content answer.
		resume()
		return f.step(st, in, now)
	case is(norm, wordsConfirm...):
		st.Phase = PhaseCancelled
		return Output{Text: txtCancelled, Cancelled: true, Expect: ExpectNone}
	case is(norm, wordsContinue...), is(norm, wordsDeny...), is(norm, wordsBack...):
		resume()
		return f.render(st, "", "")
	case is(norm, wordsHelp...):
		return f.render(st, f.helpText(st), "")
	}
	return f.render(st, "", errConfirm)
}

func (f *Form) stepReview(st *State, in Input, norm string, now time.Time) Output {
	switch {
	case in.PhotoSHA256 != "":
		return f.loosePhoto(st, in.PhotoSHA256)
	case in.Location != nil:
		return f.render(st, "", errNotLocation)
	case norm == "":
		return f.render(st, "", errEmpty)
	case is(norm, wordsHelp...):
		return f.render(st, f.helpText(st), "")
	case is(norm, wordsContinue...):
		return f.render(st, "", "")
	case is(norm, wordsCancel...):
		return f.toConfirmCancel(st)
	case is(norm, wordsBack...):
		steps := f.steps(st)
		if len(steps) == 0 {
			return f.render(st, "", errFirst)
		}
		f.setCursor(st, steps[len(steps)-1])
		return f.render(st, "", "")
	case is(norm, wordsNextPage...):
		st.Page++
		return f.render(st, "", "")
	case is(norm, wordsPrevPage...):
		st.Page = max(st.Page-1, 0)
		return f.render(st, "", "")
	case is(norm, wordsSubmit...):
		return f.submit(st, now)
	}
	if n, ok := parseEdit(norm); ok {
		return f.edit(st, n)
	}
	return f.render(st, "", errReview)
}

func (f *Form) submit(st *State, now time.Time) Output {
	if s := f.firstIncomplete(st); s != "" {
		f.setCursor(st, s)
		return f.render(st, "", fmt.Sprintf(errIncomplete, f.number(st, st.Cursor)))
	}
	if st.Ctx.Role == safetybot.ContactPrincipal {
		st.Phase = PhaseConfirmSubmit
		return f.render(st, "", "")
	}
	st.Phase, st.SubmittedAt, st.Path = PhaseDone, now, nil
	return Output{Text: fmt.Sprintf(txtSubmittedOff, f.outcome(st)), Done: true, NeedsSignature: true, Expect: ExpectNone}
}

func (f *Form) stepConfirmSubmit(st *State, in Input, norm string, now time.Time) Output {
	switch {
	case in.PhotoSHA256 != "":
		return f.loosePhoto(st, in.PhotoSHA256)
	case is(norm, wordsConfirm...):
		st.Phase, st.Signed, st.SubmittedAt, st.Path = PhaseDone, true, now, nil
		return Output{Text: fmt.Sprintf(txtSubmitted, f.outcome(st)), Done: true, Expect: ExpectNone}
	case is(norm, wordsCancel...):
		return f.toConfirmCancel(st)
	case is(norm, wordsHelp...):
		return f.render(st, f.helpText(st), "")
	case is(norm, wordsContinue...), is(norm, wordsDeny...), is(norm, wordsBack...):
		st.Phase = PhaseReview
		return f.render(st, "", "")
	}
	if n, ok := parseEdit(norm); ok {
		st.Phase = PhaseReview
		return f.edit(st, n)
	}
	return f.render(st, "", errConfirm)
}

// outcome is the one-line result told after submitting.
func (f *Form) outcome(st *State) string {
	hs := f.Hazards(*st)
	fixed := 0
	for _, h := range hs {
		if h.FixedOnSpot {
			fixed++
		}
	}
	n := len(f.applicable(st))
	if len(hs) == 0 {
		return fmt.Sprintf(txtTotalsNone, n)
	}
	s := fmt.Sprintf(txtTotals, n, len(hs), fixed)
	if fixed < len(hs) {
		s += "\n" + txtOpenHazards
	}
	return s
}

// ---- structure ----

func stepID(key, sub string) string {
	if sub == "" {
		return key
	}
	return key + "#" + sub
}

func splitStep(id string) (key, sub string) {
	key, sub, _ = strings.Cut(id, "#")
	return key, sub
}

// step is the open step id: "key" or "key#sub".
func (st *State) step() string {
	if st.Repeat != nil {
		return stepID(st.Repeat.Item, st.Repeat.Step)
	}
	return st.Cursor
}

// applicable lists the questions that apply under st's answers, in order. A
// condition on a question that does not apply itself is false, so chains of
// conditions collapse together.
func (f *Form) applicable(st *State) []*Question {
	applies := map[string]bool{}
	var out []*Question
	for _, q := range f.Questions {
		if f.holds(st, q.When, applies) {
			applies[q.Key] = true
			out = append(out, q)
		}
	}
	return out
}

// total is the progress marker's denominator: the applicable questions plus those
// whose condition waits on a question not answered yet. It only shrinks as the
// user answers, which reads better than a count that grows.
func (f *Form) total(st *State) int {
	possible := map[string]bool{}
	n := 0
	for _, q := range f.Questions {
		c := q.When
		ok := c == nil || f.holds(st, c, possible)
		if !ok && c != nil && possible[c.Key] {
			_, answered := st.Answers[c.Key]
			ok = !answered
		}
		if ok {
			possible[q.Key] = true
			n++
		}
	}
	return n
}

func (f *Form) holds(st *State, c *Condition, applies map[string]bool) bool {
	if c == nil {
		return true
	}
	var have []string
	yesno := false
	switch c.Key {
	case CtxSmallType:
		have = []string{st.Ctx.SmallType}
	case CtxCategory:
		have = []string{st.Ctx.Category}
	case CtxRole:
		have = []string{string(st.Ctx.Role)}
	case CtxKeyUnit:
		have = []string{No}
		if st.Ctx.KeyUnit {
			have = []string{Yes}
		}
	default:
		a, ok := st.Answers[c.Key]
		q := f.Question(c.Key)
		if !applies[c.Key] || !ok || a.Skipped || q == nil {
			return false
		}
		yesno = q.Type == TypeYesNo
		if q.Type == TypeMulti {
			have = a.Values
		} else {
			have = []string{a.Value}
		}
	}
	want := c.values()
	if yesno {
		want = slices.Clone(want)
		for i, v := range want {
			// Conditions may name yes/no by option id (yes/no/na) or by text.
			if j := slices.IndexFunc(yesNoOptions(true), func(o Option) bool { return o.ID == v }); j >= 0 {
				want[i] = yesNoOptions(true)[j].Text
			}
		}
	}
	match := slices.ContainsFunc(have, func(h string) bool { return slices.Contains(want, h) })
	if c.Not != nil {
		return !match
	}
	return match
}

// repeatSteps are the hazard block steps for a failure as it stands.
func repeatSteps(fl *Failure) []string {
	s := []string{RepeatProblem, RepeatGrade, RepeatPhotos, RepeatFixed}
	if fl != nil && fl.FixedOnSpot {
		return append(s, RepeatFixedPhotos)
	}
	return append(s, RepeatDeadline)
}

// steps lists every step of the applicable questions in order, including the
// hazard blocks of failed items.
func (f *Form) steps(st *State) []string {
	var out []string
	for _, q := range f.applicable(st) {
		out = append(out, q.Key)
		if a, ok := st.Answers[q.Key]; ok && !a.Skipped && q.Fails(a.Value) {
			for _, sub := range repeatSteps(a.Failure) {
				out = append(out, stepID(q.Key, sub))
			}
		}
	}
	return out
}

// complete reports whether a step holds a usable answer.
func (f *Form) complete(st *State, id string) bool {
	key, sub := splitStep(id)
	a, ok := st.Answers[key]
	if !ok {
		return false
	}
	if sub != "" {
		fl := a.Failure
		if fl == nil {
			return false
		}
		switch sub {
		case RepeatProblem:
			return fl.Problem != ""
		case RepeatGrade:
			return fl.Grade != ""
		case RepeatPhotos:
			return len(fl.Photos) > 0
		case RepeatFixed, RepeatDeadline:
			return fl.FixedOnSpot || fl.Deadline != ""
		}
		return true // fixed_photos is optional
	}
	if a.Skipped {
		return true
	}
	q := f.Question(key)
	if q == nil {
		return false
	}
	switch q.Type {
	case TypeMulti:
		return len(a.Values) > 0
	case TypeNumber:
		return a.Number != nil
	case TypeDate:
		return a.Date != ""
	case TypePhoto:
		spec, _ := f.photoSpec(st, key)
		return len(a.Photos) >= max(spec.min, 1)
	case TypeLocation:
		return a.Location != nil || a.Value != ""
	}
	return a.Value != ""
}

// number is the 1-based position of a question among the applicable ones, as
// used by the progress marker and 修改 N; 0 when it does not apply.
func (f *Form) number(st *State, key string) int {
	for i, q := range f.applicable(st) {
		if q.Key == key {
			return i + 1
		}
	}
	return 0
}

// prune drops answers (and waiting photos) of questions that no longer apply, and
// hazard blocks of items that no longer fail.
func (f *Form) prune(st *State) {
	apps := map[string]bool{}
	for _, q := range f.applicable(st) {
		apps[q.Key] = true
	}
	for k, a := range st.Answers {
		q := f.Question(k)
		switch {
		case !apps[k] || q == nil:
			delete(st.Answers, k)
		case a.Failure != nil && (a.Skipped || !q.Fails(a.Value)):
			a.Failure = nil
			st.Answers[k] = a
		case a.Failure == nil && !a.Skipped && q.Fails(a.Value):
			a.Failure = &Failure{}
			st.Answers[k] = a
		}
	}
	for k := range st.Pending {
		if !apps[k] {
			delete(st.Pending, k)
		}
	}
}

// repair makes a state from storage safe to use: maps exist, the phase is known
// and the cursor points at a step that exists and applies. A well-formed state
// comes out unchanged.
func (f *Form) repair(st *State) {
	if st.Answers == nil {
		st.Answers = map[string]Answer{}
	}
	if st.Versions == nil {
		st.Versions = maps.Clone(f.Versions)
	}
	if st.Form == "" {
		st.Form = f.Key
	}
	for range 3 { // a resumed phase is repaired once more; never loops
		switch st.Phase {
		case PhaseAsking, PhaseRepeat:
			if id := st.step(); slices.Contains(f.steps(st), id) && f.Question(st.Cursor) != nil {
				f.setCursor(st, id)
			} else {
				f.prune(st)
				f.goFirstIncomplete(st)
			}
			return
		case PhaseReview, PhaseConfirmSubmit:
			f.prune(st)
			if s := f.firstIncomplete(st); s != "" {
				f.setCursor(st, s)
			} else {
				st.Path = f.steps(st)
			}
			return
		case PhaseAttach:
			if len(st.LoosePhotos) > 0 && len(st.AttachTo) > 0 && validResume(st.Resume) {
				return
			}
			st.Phase, st.Resume, st.LoosePhotos, st.AttachTo = st.Resume, "", nil, nil
		case PhaseConfirmCancel, PhaseCancelled:
			if !validResume(st.Resume) {
				st.Resume = PhaseAsking
			}
			return
		case PhaseDone:
			return
		default:
			st.Phase = PhaseAsking
		}
	}
	st.Phase = PhaseAsking
	f.goFirstIncomplete(st)
}

func validResume(p string) bool {
	switch p {
	case PhaseAsking, PhaseRepeat, PhaseReview, PhaseConfirmSubmit:
		return true
	}
	return false
}

// clone deep-copies everything Step may change, so the caller's State is untouched.
func (st State) clone() State {
	c := st
	c.Versions = maps.Clone(st.Versions)
	c.Answers = make(map[string]Answer, len(st.Answers))
	for k, a := range st.Answers {
		c.Answers[k] = a.clone()
	}
	c.Path = slices.Clone(st.Path)
	if st.Repeat != nil {
		r := *st.Repeat
		c.Repeat = &r
	}
	c.LoosePhotos = slices.Clone(st.LoosePhotos)
	c.AttachTo = slices.Clone(st.AttachTo)
	if st.Pending != nil {
		c.Pending = make(map[string][]string, len(st.Pending))
		for k, v := range st.Pending {
			c.Pending[k] = slices.Clone(v)
		}
	}
	return c
}

// clone deep-copies an answer.
func (a Answer) clone() Answer {
	a.Values = slices.Clone(a.Values)
	a.Photos = slices.Clone(a.Photos)
	if a.Number != nil {
		n := *a.Number
		a.Number = &n
	}
	if a.Location != nil {
		l := *a.Location
		a.Location = &l
	}
	if a.Failure != nil {
		fl := *a.Failure
		fl.Photos = slices.Clone(fl.Photos)
		fl.FixedPhotos = slices.Clone(fl.FixedPhotos)
		a.Failure = &fl
	}
	return a
}
