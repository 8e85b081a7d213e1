package form

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

var (
	cancelOptions = []Option{{ID: "确认", Text: "确认取消"}, {ID: "继续", Text: "继续填写"}}
	submitOptions = []Option{{ID: "确认", Text: "确认签字提交"}, {ID: "继续", Text: "返回核对"}}
	reviewOptions = []Option{{ID: "提交", Text: "提交"}}
	resumeOptions = []Option{{ID: "继续", Text: "继续填写"}}
)

// render says what the state is waiting for, with an optional error line and a
// prefix (an acknowledgement such as "已放到第 3 项") above it.
func (f *Form) render(st *State, prefix, errMsg string) Output {
	var out Output
	switch st.Phase {
	case PhaseReview:
		return f.reviewOutput(st, prefix, errMsg)
	case PhaseAsking, PhaseRepeat:
		out = f.questionOutput(st)
	case PhaseAttach:
		out = f.attachOutput(st)
	case PhaseConfirmCancel:
		out = Output{Text: txtConfirmCancel, Options: cancelOptions, Expect: ExpectCommand}
	case PhaseConfirmSubmit:
		out = Output{Text: txtConfirmSubmit, Options: submitOptions, Expect: ExpectCommand}
	case PhaseCancelled:
		out = Output{Text: txtStillCancel, Options: resumeOptions, Expect: ExpectCommand}
	default:
		out = Output{Text: txtAlreadyDone, Expect: ExpectNone}
	}
	if head := joinNonEmpty("\n", errMsg, prefix); head != "" {
		out.Text = head + "\n\n" + out.Text
	}
	out.Error = errMsg
	return out
}

func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}

func (f *Form) helpText(st *State) string {
	if q := f.Question(st.Cursor); q != nil && q.Basis != "" && st.Repeat == nil && (st.Phase == PhaseAsking) {
		return txtHelp + "\n" + fmt.Sprintf(txtBasis, q.Basis)
	}
	return txtHelp
}

// isChoiceStep reports whether the open step is answered by picking options.
func (f *Form) isChoiceStep(st *State) bool {
	if st.Phase != PhaseAsking && st.Phase != PhaseRepeat {
		return false
	}
	return len(f.stepOptions(st)) > 0
}

// stepOptions are the options of the open question step.
func (f *Form) stepOptions(st *State) []Option {
	key, sub := splitStep(st.step())
	switch sub {
	case RepeatGrade:
		return gradeOptions
	case RepeatFixed:
		return fixedOptions
	case "":
		if q := f.Question(key); q != nil {
			return q.Options
		}
	}
	return nil
}

func optionsText(opts []Option) string {
	width := 0
	for _, o := range opts {
		width += utf8.RuneCountInString(o.Text) + 4
	}
	sep := "  "
	if width > 30 {
		sep = "\n"
	}
	parts := make([]string, len(opts))
	for i, o := range opts {
		parts[i] = strconv.Itoa(i+1) + ". " + o.Text
	}
	return strings.Join(parts, sep)
}

func (f *Form) questionOutput(st *State) Output {
	id := st.step()
	key, sub := splitStep(id)
	q := f.Question(key)
	out := Output{Step: id, Options: f.stepOptions(st), Expect: ExpectChoice}
	n, total := f.number(st, key), f.total(st)
	a := st.Answers[key]
	var lines []string
	if sub != "" {
		return f.repeatOutput(st, q, sub, n)
	}
	lines = append(lines, fmt.Sprintf(txtProgress, n, total), q.Text)
	if len(q.Options) > 0 {
		lines = append(lines, optionsText(q.Options))
	}
	switch q.Type {
	case TypeMulti:
		out.Expect = ExpectMulti
		lines = append(lines, txtReplyMulti)
	case TypeText:
		out.Expect = ExpectText
	case TypeNumber:
		out.Expect = ExpectNumber
		lines = append(lines, fmt.Sprintf(txtReplyNumber, numberRange(q)))
	case TypeDate:
		out.Expect = ExpectDate
		if q.Default == "today" {
			lines = append(lines, fmt.Sprintf(txtReplyDateToday, dateExample(st, q.NotPast)))
		} else {
			lines = append(lines, fmt.Sprintf(txtReplyDate, dateExample(st, q.NotPast)))
		}
	case TypeLocation:
		out.Expect = ExpectLocation
		lines = append(lines, txtReplyLocation)
	case TypePhoto:
		out.Expect = ExpectPhoto
		spec, _ := f.photoSpec(st, id)
		lines = append(lines, fmt.Sprintf(txtReplyPhoto, photoRange(spec)))
		if len(a.Photos) > 0 {
			lines = append(lines, fmt.Sprintf(txtPhotosKeep, len(a.Photos)))
		}
	}
	if q.Help != "" {
		lines = append(lines, fmt.Sprintf(txtHint, q.Help))
	}
	if !q.Required && (q.Type != TypePhoto || len(a.Photos) == 0) {
		lines = append(lines, txtOptional)
	}
	if q.Type != TypePhoto && f.complete(st, key) && !a.Skipped {
		lines = append(lines, fmt.Sprintf(txtCurrent, clipRunes(f.display(st, q, a), 30)))
	}
	out.Text = strings.Join(lines, "\n")
	return out
}

func (f *Form) repeatOutput(st *State, q *Question, sub string, n int) Output {
	id := stepID(q.Key, sub)
	fl := st.Answers[q.Key].Failure
	if fl == nil {
		fl = &Failure{}
	}
	steps := repeatSteps(fl)
	pos := 1
	for i, s := range steps {
		if s == sub {
			pos = i + 1
		}
	}
	out := Output{Step: id, Options: f.stepOptions(st), Expect: ExpectChoice}
	lines := []string{fmt.Sprintf(txtRepeatHeader, pos, len(steps), n, q.label())}
	current := ""
	switch sub {
	case RepeatProblem:
		out.Expect = ExpectText
		lines = append(lines, txtRepeatProblem)
		current = clipRunes(fl.Problem, 30)
	case RepeatGrade:
		lines = append(lines, txtRepeatGrade, optionsText(gradeOptions), txtRepeatGradeHelp)
		current = fl.Grade
	case RepeatPhotos:
		out.Expect = ExpectPhoto
		lines = append(lines, txtRepeatPhotos)
		if len(fl.Photos) > 0 {
			lines = append(lines, fmt.Sprintf(txtPhotosKeep, len(fl.Photos)))
		}
	case RepeatFixed:
		lines = append(lines, txtRepeatFixed, optionsText(fixedOptions))
		if fl.FixedOnSpot {
			current = Yes
		} else if fl.Deadline != "" {
			current = No
		}
	case RepeatFixedPhotos:
		out.Expect = ExpectPhoto
		lines = append(lines, txtRepeatFixedPhotos)
		if len(fl.FixedPhotos) > 0 {
			lines = append(lines, fmt.Sprintf(txtPhotosKeep, len(fl.FixedPhotos)))
		}
	case RepeatDeadline:
		out.Expect = ExpectDate
		lines = append(lines, fmt.Sprintf(txtRepeatDeadline, dateExample(st, true)))
		if fl.Deadline != "" {
			current = fmtDate(fl.Deadline)
		}
	}
	if current != "" {
		lines = append(lines, fmt.Sprintf(txtCurrent, current))
	}
	out.Text = strings.Join(lines, "\n")
	return out
}

func (f *Form) attachOutput(st *State) Output {
	lines := []string{fmt.Sprintf(txtAttachAsk, len(st.LoosePhotos))}
	opts := make([]Option, len(st.AttachTo))
	for i, t := range st.AttachTo {
		key, sub := splitStep(t)
		label := key
		if q := f.Question(key); q != nil {
			format := txtAttachItem
			if sub == RepeatPhotos {
				format = txtAttachProblem
			}
			label = fmt.Sprintf(format, f.number(st, key), q.label())
		}
		opts[i] = Option{ID: strconv.Itoa(i + 1), Text: label}
		lines = append(lines, fmt.Sprintf("%d. %s", i+1, label))
	}
	if len(opts) == 1 {
		lines = append(lines, txtAttachFootOne)
	} else {
		lines = append(lines, txtAttachFoot)
	}
	return Output{Text: strings.Join(lines, "\n"), Options: opts, Expect: ExpectChoice}
}

// reviewOutput shows the summary a page at a time so every message fits.
func (f *Form) reviewOutput(st *State, prefix, errMsg string) Output {
	head := joinNonEmpty("\n", errMsg, prefix)
	if head != "" {
		head += "\n\n"
	}
	head += txtReviewHead
	foot := txtReviewFoot
	const pageHintBytes = 120
	budget := MaxTextBytes - len(head) - len(foot) - pageHintBytes
	pages := paginate(f.summaryLines(st), max(budget, 200))
	st.Page = min(max(st.Page, 0), len(pages)-1)
	text := head + "\n" + pages[st.Page]
	if len(pages) > 1 {
		text += "\n" + fmt.Sprintf(txtReviewPage, st.Page+1, len(pages))
	}
	text += "\n\n" + foot
	return Output{Text: text, Options: reviewOptions, Expect: ExpectCommand, Error: errMsg}
}

// paginate groups lines into pages of at most budget bytes.
func paginate(lines []string, budget int) []string {
	var pages []string
	var cur []string
	size := 0
	for _, l := range lines {
		l = clipBytes(l, budget)
		if size+len(l)+1 > budget && len(cur) > 0 {
			pages = append(pages, strings.Join(cur, "\n"))
			cur, size = nil, 0
		}
		cur = append(cur, l)
		size += len(l) + 1
	}
	if len(cur) > 0 || len(pages) == 0 {
		pages = append(pages, strings.Join(cur, "\n"))
	}
	return pages
}

func numberRange(q *Question) string {
	switch {
	case q.Min != nil && q.Max != nil:
		return "（" + fmtNumber(*q.Min) + "–" + fmtNumber(*q.Max) + q.Unit + "）"
	case q.Unit != "":
		return "（单位：" + q.Unit + "）"
	}
	return ""
}

func numberExample(q *Question) string {
	v := 10.0
	if q.Min != nil && v < *q.Min {
		v = *q.Min
	}
	if q.Max != nil && v > *q.Max {
		v = *q.Max
	}
	return fmtNumber(v) + q.Unit
}

func photoRange(s photoSpec) string {
	if s.min > 0 {
		return fmt.Sprintf("至少 %d 张、最多 %d 张", s.min, s.max)
	}
	return fmt.Sprintf("最多 %d 张", s.max)
}

func dateExample(st *State, future bool) string {
	t := st.UpdatedAt
	if t.IsZero() {
		t = st.Ctx.Now
	}
	if t.IsZero() {
		return "7月15日"
	}
	if future {
		t = t.AddDate(0, 0, 7)
	}
	return t.Format("1月2日")
}

func fmtNumber(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// fmtDate shows a stored YYYY-MM-DD as 2025年7月20日.
func fmtDate(d string) string {
	t, err := time.Parse("2006-01-02", d)
	if err != nil {
		return d
	}
	return t.Format("2006年1月2日")
}
