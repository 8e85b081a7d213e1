package form

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"safetybot"
)

// SourceSelfInspection is the Hazard.Source of hazards found by this form.
const SourceSelfInspection = "自查"

// Hazard turns the draft into a safetybot.Hazard for the enterprise, as it is
// registered (登记 → 整改中, DOMAIN.md §4): 已整改 when it was fixed on the spot
// and a photo of the fix was sent, else 整改中 — a fix claimed without a photo
// stays open until it is shown. The deadline is the one proposed, as midnight in
// foundAt's location; it is nil when none was (fixed on the spot), and the
// caller gives an open hazard without one the campaign's default. Photos are not
// part of safetybot.Hazard; store h.Photos and h.FixedPhotos beside it.
func (h HazardDraft) Hazard(enterpriseID int64, foundBy string, foundAt time.Time) safetybot.Hazard {
	hz := safetybot.Hazard{
		EnterpriseID: enterpriseID,
		Source:       SourceSelfInspection,
		ItemKey:      h.ItemKey,
		Description:  h.Problem,
		Grade:        h.Grade,
		Status:       safetybot.HazardRectifying,
		FoundAt:      foundAt,
		FoundBy:      foundBy,
		UpdatedAt:    foundAt,
	}
	if h.FixedOnSpot && len(h.FixedPhotos) > 0 {
		hz.Status = safetybot.HazardFixed
	}
	if d, err := time.ParseInLocation("2006-01-02", h.Deadline, foundAt.Location()); err == nil && !h.FixedOnSpot {
		hz.Deadline = &d
	}
	return hz
}

// Hazards returns one draft per failed item whose hazard block was filled, in
// form order. Call it on a submitted State to create the hazards.
func (f *Form) Hazards(st State) []HazardDraft {
	var out []HazardDraft
	for _, q := range f.applicable(&st) {
		a, ok := st.Answers[q.Key]
		if !ok || a.Skipped || !q.Fails(a.Value) || a.Failure == nil || a.Failure.Problem == "" {
			continue
		}
		fl := a.Failure
		h := HazardDraft{
			ItemKey: q.Key, ItemText: q.Text, Basis: q.Basis,
			Problem: fl.Problem, Grade: fl.Grade, Photos: slices.Clone(fl.Photos),
			FixedOnSpot: fl.FixedOnSpot, FixedPhotos: slices.Clone(fl.FixedPhotos),
		}
		if !fl.FixedOnSpot {
			h.Deadline = fl.Deadline
		}
		out = append(out, h)
	}
	return out
}

// Items returns every applicable question with its answer, numbered as in the
// review, for storing with a submission (so it renders without definitions).
func (f *Form) Items(st State) []ItemResult {
	var out []ItemResult
	for i, q := range f.applicable(&st) {
		a := st.Answers[q.Key].clone()
		it := ItemResult{
			N: i + 1, Key: q.Key, Part: q.Part, Text: q.Text, Short: q.label(), Type: q.Type, Basis: q.Basis,
			Display: f.display(&st, q, a), Answer: a, Failed: !a.Skipped && q.Fails(a.Value),
		}
		it.Photos = slices.Clone(a.Photos)
		if a.Failure != nil && it.Failed {
			it.Photos = append(it.Photos, a.Failure.Photos...)
			it.Photos = append(it.Photos, a.Failure.FixedPhotos...)
		}
		out = append(out, it)
	}
	return out
}

// Summary is the review text: a title line, the numbered answers with photo
// counts and hazards, and the totals. It is not limited in length; the review
// message pages it.
func (f *Form) Summary(st State) string {
	return strings.Join(f.summaryLines(&st), "\n")
}

func (f *Form) summaryLines(st *State) []string {
	title := f.Title
	if st.Ctx.Enterprise != "" {
		title += " · " + st.Ctx.Enterprise
	}
	lines := []string{title}
	hazards, fixed := 0, 0
	apps := f.applicable(st)
	for i, q := range apps {
		a, ok := st.Answers[q.Key]
		d := "（未填）"
		if ok {
			d = f.display(st, q, a)
		}
		if ok && !a.Skipped && q.Fails(a.Value) && a.Failure != nil {
			hazards++
			if a.Failure.FixedOnSpot {
				fixed++
			}
			d += " ⚠" + failureText(a.Failure)
		}
		lines = append(lines, fmt.Sprintf("%d. %s：%s", i+1, q.label(), d))
	}
	if hazards == 0 {
		lines = append(lines, fmt.Sprintf(txtTotalsNone, len(apps)))
	} else {
		lines = append(lines, fmt.Sprintf(txtTotals, len(apps), hazards, fixed))
	}
	return lines
}

func failureText(fl *Failure) string {
	parts := []string{}
	if fl.Grade != "" {
		parts = append(parts, fl.Grade+"隐患")
	}
	if fl.Problem != "" {
		parts = append(parts, clipRunes(fl.Problem, 16))
	}
	switch {
	case fl.FixedOnSpot:
		parts = append(parts, "已当场整改")
	case fl.Deadline != "":
		parts = append(parts, "限"+fmtDate(fl.Deadline)+"前整改")
	}
	n := len(fl.Photos) + len(fl.FixedPhotos)
	parts = append(parts, fmt.Sprintf("照片%d张", n))
	return strings.Join(parts, "，")
}

// display is an answer as a short text.
func (f *Form) display(st *State, q *Question, a Answer) string {
	if a.Skipped {
		return "（跳过）"
	}
	switch q.Type {
	case TypeYesNo:
		return a.Value
	case TypeSingle:
		return optionText(q, a.Value)
	case TypeMulti:
		texts := make([]string, len(a.Values))
		for i, v := range a.Values {
			texts[i] = optionText(q, v)
		}
		return strings.Join(texts, "、")
	case TypeText:
		return clipRunes(a.Value, 24)
	case TypeNumber:
		if a.Number == nil {
			return ""
		}
		return fmtNumber(*a.Number) + q.Unit
	case TypeDate:
		return fmtDate(a.Date)
	case TypePhoto:
		return fmt.Sprintf("%d 张照片", len(a.Photos))
	case TypeLocation:
		switch {
		case a.Location != nil && a.Location.Label != "":
			return clipRunes(a.Location.Label, 24)
		case a.Location != nil:
			return fmt.Sprintf("%.5f, %.5f", a.Location.Lat, a.Location.Lng)
		}
		return clipRunes(a.Value, 24)
	}
	return a.Value
}

func optionText(q *Question, id string) string {
	for _, o := range q.Options {
		if o.ID == id {
			return o.Text
		}
	}
	return id
}
