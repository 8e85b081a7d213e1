package form

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"safetybot"
)

// Question types.
const (
	TypeYesNo    = "yesno"    // 是 / 否 / 不适用
	TypeSingle   = "single"   // one of Options
	TypeMulti    = "multi"    // one or more of Options
	TypeText     = "text"     // free text
	TypeNumber   = "number"   // a number within Min..Max, with an optional Unit
	TypeDate     = "date"     // a calendar day, stored as YYYY-MM-DD
	TypePhoto    = "photo"    // MinPhotos..MaxPhotos images
	TypeLocation = "location" // a WeCom location message (or a typed address)
)

var questionTypes = []string{TypeYesNo, TypeSingle, TypeMulti, TypeText, TypeNumber, TypeDate, TypePhoto, TypeLocation}

// Definition parts: how a Definition takes part in a composed Form.
const (
	PartBase    = "base"    // the checklist of one category; exactly one per form
	PartExtra   = "extra"   // added after the base when AppliesTo matches
	PartClosing = "closing" // appended to every form whose category it matches
)

// Yes/no answer values, as stored in Answer.Value and named in `when` and `fail_on`.
const (
	Yes = "是"
	No  = "否"
	NA  = "不适用"
)

// Context keys a `when` may refer to besides earlier questions.
const (
	CtxSmallType = "_small_type" // the enterprise's normalised small type
	CtxCategory  = "_category"   // 九小场所 / 五小企业 / 一般企业
	CtxKeyUnit   = "_key_unit"   // 是 / 否
	CtxRole      = "_role"       // principal / safety_officer
)

var contextKeys = []string{CtxSmallType, CtxCategory, CtxKeyUnit, CtxRole}

// Limits on definitions so questions stay phone-friendly and outputs fit a message.
const (
	maxTextRunes    = 80  // question text
	maxHelpRunes    = 160 // help line
	maxShortRunes   = 12  // short label in the review
	maxPhotoCount   = 9   // photos per question or failure
	maxOptions      = 20  // options of a single/multi question
	maxOptionRunes  = 30  // one option's text
	maxAnswerRunes  = 500 // a text answer
	defaultMaxPhoto = 9
)

// Definition is one YAML file: a checklist or a part of one, at one version.
type Definition struct {
	File      string // file name inside the loaded fs.FS
	Key       string
	Version   int
	Title     string
	Part      string // PartBase, PartExtra or PartClosing
	AppliesTo AppliesTo
	Questions []*Question
}

// AppliesTo says which enterprises a Definition is for. An empty Category matches
// every category; empty SmallTypes matches every small type.
type AppliesTo struct {
	Category    string   `yaml:"category"`
	SmallTypes  []string `yaml:"small_types"`
	KeyUnitOnly bool     `yaml:"key_unit_only"`
}

// Option is one choice of a single or multi question, and of an Output.
type Option struct {
	ID   string `yaml:"id" json:"id"`
	Text string `yaml:"text" json:"text"`
}

// Condition makes a question apply only when an earlier answer (or a context key
// such as _small_type) matches. Exactly one of Equals, In and Not is set. A
// condition on a question that was not asked, was skipped or is not applicable
// is false.
type Condition struct {
	Key    string   `yaml:"key"`
	Equals *string  `yaml:"equals"`
	In     []string `yaml:"in"`
	Not    *string  `yaml:"not"`
}

// Question is one item of a Definition, normalised (defaults applied).
type Question struct {
	Key       string
	Type      string
	Text      string // the question, short, in Chinese
	Short     string // label in the review; defaults to a prefix of Text
	Help      string
	Options   []Option // single/multi; yesno gets 是/否(/不适用) here too
	Required  bool
	When      *Condition
	FailOn    string // yesno: the value that is a failed item (是 or 否), "" for none
	Basis     string // legal basis, shown in help and stored with results
	Min, Max  *float64
	Unit      string
	MinPhotos int
	MaxPhotos int
	AllowNA   bool   // yesno: offer 不适用
	Default   string // date: "today" lets the prompt offer 今天
	NotPast   bool   // date: not before the day of Input.Now
	NotFuture bool   // date: not after the day of Input.Now
	Part      string // key of the Definition it comes from
}

// Fails reports whether value is the failing answer of a checklist item.
func (q *Question) Fails(value string) bool { return q.FailOn != "" && value == q.FailOn }

// label is the short name shown in the review and in lists.
func (q *Question) label() string {
	if q.Short != "" {
		return q.Short
	}
	return clipRunes(strings.TrimSuffix(strings.TrimSuffix(q.Text, "？"), "?"), maxShortRunes)
}

// DefError is one problem found while loading definitions: the file, the
// definition or question key (or "-" when the file could not be read that far)
// and the reason.
type DefError struct {
	File   string
	Key    string
	Reason string
}

// Error implements error as "file: key: reason".
func (e *DefError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.File, e.Key, e.Reason)
}

// LoadError holds every problem Load found, so a start-up failure lists them all.
type LoadError []*DefError

// Error implements error, one problem per line.
func (e LoadError) Error() string {
	lines := make([]string, len(e))
	for i, d := range e {
		lines[i] = d.Error()
	}
	return "form definitions: " + strings.Join(lines, "; ")
}

// Unwrap exposes each problem to errors.As.
func (e LoadError) Unwrap() []error {
	errs := make([]error, len(e))
	for i, d := range e {
		errs[i] = d
	}
	return errs
}

type rawDefinition struct {
	Key       string        `yaml:"key"`
	Version   int           `yaml:"version"`
	Title     string        `yaml:"title"`
	Part      string        `yaml:"part"`
	AppliesTo AppliesTo     `yaml:"applies_to"`
	Questions []rawQuestion `yaml:"questions"`
}

type rawQuestion struct {
	Key       string     `yaml:"key"`
	Type      string     `yaml:"type"`
	Text      string     `yaml:"text"`
	Short     string     `yaml:"short"`
	Help      string     `yaml:"help"`
	Options   []Option   `yaml:"options"`
	Required  *bool      `yaml:"required"`
	When      *Condition `yaml:"when"`
	FailOn    string     `yaml:"fail_on"`
	Basis     string     `yaml:"basis"`
	Min       *float64   `yaml:"min"`
	Max       *float64   `yaml:"max"`
	Unit      string     `yaml:"unit"`
	NA        *bool      `yaml:"na"`
	Default   string     `yaml:"default"`
	NotPast   bool       `yaml:"not_past"`
	NotFuture bool       `yaml:"not_future"`
}

var (
	keyPattern    = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	rawKeyPattern = regexp.MustCompile(`(?m)^key:\s*["']?([A-Za-z0-9_-]+)`)
)

// parseDefinition decodes and validates one file. It returns every problem found.
func parseDefinition(file string, data []byte) (*Definition, []*DefError) {
	var raw rawDefinition
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		key := "-"
		if m := rawKeyPattern.FindSubmatch(data); m != nil {
			key = string(m[1]) // best effort, so the error still names the form
		}
		if errors.Is(err, io.EOF) {
			return nil, []*DefError{{File: file, Key: key, Reason: "file is empty"}}
		}
		return nil, []*DefError{{File: file, Key: key, Reason: "YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	var errs []*DefError
	bad := func(key, format string, args ...any) {
		errs = append(errs, &DefError{File: file, Key: key, Reason: fmt.Sprintf(format, args...)})
	}
	defKey := raw.Key
	if defKey == "" {
		defKey = "-"
		bad(defKey, "definition key is missing")
	} else if !keyPattern.MatchString(raw.Key) || strings.Contains(raw.Key, "+") {
		bad(defKey, "definition key must be lower-case letters, digits, - or _")
	}
	if raw.Version < 1 {
		bad(defKey, "version must be an integer ≥ 1, got %d", raw.Version)
	}
	if strings.TrimSpace(raw.Title) == "" {
		bad(defKey, "title is missing")
	}
	part := raw.Part
	if part == "" {
		part = PartBase
	}
	switch part {
	case PartBase:
		if !slices.Contains(safetybot.Categories, raw.AppliesTo.Category) {
			bad(defKey, "a base form needs applies_to.category, one of %s; got %q", strings.Join(safetybot.Categories, ", "), raw.AppliesTo.Category)
		}
		if raw.AppliesTo.KeyUnitOnly {
			bad(defKey, "key_unit_only is for extra parts, not for a base form")
		}
	case PartExtra, PartClosing:
		if c := raw.AppliesTo.Category; c != "" && !slices.Contains(safetybot.Categories, c) {
			bad(defKey, "unknown applies_to.category %q", c)
		}
	default:
		bad(defKey, "unknown part %q (want base, extra or closing)", raw.Part)
	}
	for _, t := range raw.AppliesTo.SmallTypes {
		if !knownSmallType(raw.AppliesTo.Category, t) {
			bad(defKey, "unknown small type %q in applies_to.small_types", t)
		}
	}
	if len(raw.Questions) == 0 {
		bad(defKey, "no questions")
	}

	def := &Definition{File: file, Key: raw.Key, Version: raw.Version, Title: strings.TrimSpace(raw.Title), Part: part, AppliesTo: raw.AppliesTo}
	seen := map[string]int{}
	all := map[string]bool{}
	for _, rq := range raw.Questions {
		all[rq.Key] = true
	}
	for i, rq := range raw.Questions {
		q, qerrs := normaliseQuestion(rq, i, def, seen, all)
		for _, e := range qerrs {
			bad(e.key, "%s", e.reason)
		}
		if q != nil {
			def.Questions = append(def.Questions, q)
			seen[q.Key] = i
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return def, nil
}

type qerr struct{ key, reason string }

// normaliseQuestion validates one question against the earlier ones (seen) and all
// keys of the file (all), and applies defaults. It returns nil when the key itself is unusable.
func normaliseQuestion(rq rawQuestion, index int, def *Definition, seen map[string]int, all map[string]bool) (*Question, []qerr) {
	var errs []qerr
	key := rq.Key
	label := key
	if label == "" {
		label = fmt.Sprintf("questions[%d]", index)
	}
	bad := func(format string, args ...any) {
		errs = append(errs, qerr{label, fmt.Sprintf(format, args...)})
	}
	switch {
	case key == "":
		bad("question key is missing")
	case !keyPattern.MatchString(key):
		bad("question key must start with a lower-case letter and hold only a-z, 0-9, - or _")
	}
	if _, dup := seen[key]; dup && key != "" {
		bad("duplicate question key (also questions[%d])", seen[key])
	}
	if !slices.Contains(questionTypes, rq.Type) {
		bad("unknown question type %q (want one of %s)", rq.Type, strings.Join(questionTypes, ", "))
	}
	text := strings.TrimSpace(rq.Text)
	switch {
	case text == "":
		bad("text is missing")
	case utf8.RuneCountInString(text) > maxTextRunes:
		bad("text is %d characters; keep it under %d for a phone", utf8.RuneCountInString(text), maxTextRunes)
	}
	if utf8.RuneCountInString(rq.Help) > maxHelpRunes {
		bad("help is longer than %d characters", maxHelpRunes)
	}
	if utf8.RuneCountInString(rq.Short) > maxShortRunes {
		bad("short is longer than %d characters", maxShortRunes)
	}
	q := &Question{
		Key: key, Type: rq.Type, Text: text, Short: strings.TrimSpace(rq.Short), Help: strings.TrimSpace(rq.Help),
		Required: rq.Required == nil || *rq.Required, When: rq.When, FailOn: rq.FailOn,
		Basis: strings.TrimSpace(rq.Basis), Unit: rq.Unit, Default: rq.Default,
		NotPast: rq.NotPast, NotFuture: rq.NotFuture, Part: def.Key,
	}

	// Type-specific fields: each is accepted only where it means something, so a
	// typo'd type or a misplaced field fails at start rather than surprising a user.
	choice := rq.Type == TypeSingle || rq.Type == TypeMulti
	if choice {
		switch {
		case len(rq.Options) < 2:
			bad("%s question needs at least 2 options", rq.Type)
		case len(rq.Options) > maxOptions:
			bad("too many options (%d > %d)", len(rq.Options), maxOptions)
		}
		ids := map[string]bool{}
		for i, o := range rq.Options {
			switch {
			case o.ID == "" || strings.TrimSpace(o.Text) == "":
				bad("option %d needs an id and a text", i+1)
			case ids[o.ID]:
				bad("duplicate option id %q", o.ID)
			case utf8.RuneCountInString(o.Text) > maxOptionRunes:
				bad("option %q text is longer than %d characters", o.ID, maxOptionRunes)
			case isDigits(o.ID) && o.ID != fmt.Sprint(i+1):
				// "2" meaning option 1 would make the reply "2" ambiguous.
				bad("numeric option id %q must equal its position %d", o.ID, i+1)
			}
			ids[o.ID] = true
		}
		q.Options = rq.Options
	} else if len(rq.Options) > 0 {
		bad("options are only for single and multi questions")
	}
	if rq.NA != nil && rq.Type != TypeYesNo {
		bad("na is only for yesno questions")
	}
	if rq.Type == TypeYesNo {
		q.AllowNA = rq.NA == nil || *rq.NA
		q.Options = yesNoOptions(q.AllowNA)
	}
	if rq.FailOn != "" {
		switch {
		case rq.Type != TypeYesNo:
			bad("fail_on is only for yesno questions")
		case rq.FailOn != Yes && rq.FailOn != No:
			bad("fail_on must be 是 or 否, got %q", rq.FailOn)
		}
	}
	switch rq.Type {
	case TypeNumber:
		if rq.Min != nil && rq.Max != nil && *rq.Min > *rq.Max {
			bad("bad min/max: min %v is greater than max %v", *rq.Min, *rq.Max)
		}
		q.Min, q.Max = rq.Min, rq.Max
	case TypePhoto:
		q.MinPhotos, q.MaxPhotos = 1, defaultMaxPhoto
		if rq.Min != nil {
			q.MinPhotos = int(*rq.Min)
		}
		if rq.Max != nil {
			q.MaxPhotos = int(*rq.Max)
		}
		switch {
		case rq.Min != nil && (*rq.Min != float64(q.MinPhotos) || q.MinPhotos < 0):
			bad("bad min/max: photo min must be a whole number ≥ 0")
		case rq.Max != nil && (*rq.Max != float64(q.MaxPhotos) || q.MaxPhotos < 1 || q.MaxPhotos > maxPhotoCount):
			bad("bad min/max: photo max must be a whole number from 1 to %d", maxPhotoCount)
		case q.MinPhotos > q.MaxPhotos:
			bad("bad min/max: photo min %d is greater than max %d", q.MinPhotos, q.MaxPhotos)
		}
	default:
		if rq.Min != nil || rq.Max != nil {
			bad("min/max are only for number and photo questions")
		}
	}
	if rq.Unit != "" && rq.Type != TypeNumber {
		bad("unit is only for number questions")
	}
	if rq.Type != TypeDate && (rq.Default != "" || rq.NotPast || rq.NotFuture) {
		bad("default, not_past and not_future are only for date questions")
	}
	if rq.Type == TypeDate {
		if rq.Default != "" && rq.Default != "today" {
			bad("date default may only be \"today\", got %q", rq.Default)
		}
		if rq.NotPast && rq.NotFuture {
			bad("not_past and not_future together leave only today; use default: today")
		}
	}
	if rq.When != nil {
		if reason := checkCondition(rq.When, key, def, seen, all); reason != "" {
			bad("%s", reason)
		}
	}
	if key == "" || !keyPattern.MatchString(key) {
		return nil, errs
	}
	return q, errs
}

// checkCondition explains what is wrong with a `when`, or returns "".
func checkCondition(c *Condition, self string, def *Definition, seen map[string]int, all map[string]bool) string {
	set := 0
	if c.Equals != nil {
		set++
	}
	if len(c.In) > 0 {
		set++
	}
	if c.Not != nil {
		set++
	}
	if set != 1 {
		return "when needs exactly one of equals, in or not"
	}
	values := c.values()
	if strings.HasPrefix(c.Key, "_") {
		switch c.Key {
		case CtxSmallType:
			for _, v := range values {
				if !knownSmallType(def.AppliesTo.Category, v) {
					return fmt.Sprintf("when compares _small_type with unknown small type %q", v)
				}
			}
		case CtxKeyUnit:
			for _, v := range values {
				if v != Yes && v != No {
					return fmt.Sprintf("when compares _key_unit with %q (want 是 or 否)", v)
				}
			}
		case CtxCategory, CtxRole:
		default:
			return fmt.Sprintf("when refers to unknown context key %q (want one of %s)", c.Key, strings.Join(contextKeys, ", "))
		}
		return ""
	}
	if c.Key == self {
		return "when refers to the question itself"
	}
	if _, ok := seen[c.Key]; !ok {
		if all[c.Key] {
			return fmt.Sprintf("when refers to later question %q; conditions may only look back", c.Key)
		}
		return fmt.Sprintf("when refers to unknown question %q", c.Key)
	}
	var ref *Question
	for _, q := range def.Questions {
		if q.Key == c.Key {
			ref = q
		}
	}
	if ref == nil {
		return fmt.Sprintf("when refers to unknown question %q", c.Key)
	}
	switch ref.Type {
	case TypeYesNo, TypeSingle, TypeMulti:
	default:
		return fmt.Sprintf("when refers to %s question %q; conditions work on yesno, single and multi", ref.Type, c.Key)
	}
	for _, v := range values {
		if !slices.ContainsFunc(ref.Options, func(o Option) bool { return o.ID == v || (ref.Type == TypeYesNo && o.Text == v) }) {
			return fmt.Sprintf("when compares %q with %q, which is not one of its options", c.Key, v)
		}
	}
	return ""
}

func (c *Condition) values() []string {
	switch {
	case c.Equals != nil:
		return []string{*c.Equals}
	case c.Not != nil:
		return []string{*c.Not}
	}
	return c.In
}

func yesNoOptions(allowNA bool) []Option {
	o := []Option{{ID: "yes", Text: Yes}, {ID: "no", Text: No}}
	if allowNA {
		o = append(o, Option{ID: "na", Text: NA})
	}
	return o
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
