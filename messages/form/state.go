package form

import (
	"time"

	"safetybot"
	"safetybot/messages"
)

// Phases of a State.
const (
	PhaseAsking        = "asking"         // a question is open (Cursor)
	PhaseRepeat        = "repeat"         // a failed item's hazard block is open (Repeat)
	PhaseAttach        = "attach"         // asking which item LoosePhotos belong to
	PhaseReview        = "review"         // every question answered; summary shown
	PhaseConfirmCancel = "confirm_cancel" // asked "确认取消吗？"
	PhaseConfirmSubmit = "confirm_submit" // principal asked to sign and submit
	PhaseDone          = "done"           // submitted
	PhaseCancelled     = "cancelled"      // cancelled: the caller deletes the draft (继续 resumes one an older version kept)
)

// Steps of the hazard block that a failed checklist item opens, in order.
const (
	RepeatProblem     = "problem"      // what is wrong (text)
	RepeatGrade       = "grade"        // 一般 / 重大
	RepeatPhotos      = "photos"       // 1–9 photos of the problem
	RepeatFixed       = "fixed"        // fixed on the spot? 是 / 否
	RepeatFixedPhotos = "fixed_photos" // optional photos after fixing
	RepeatDeadline    = "deadline"     // proposed deadline when not fixed (not in the past)
)

// Expected input kinds, in Output.Expect, so a caller can pick a card or a hint.
const (
	ExpectChoice   = "choice"   // one of Output.Options
	ExpectMulti    = "multi"    // several of Output.Options
	ExpectText     = "text"     // free text
	ExpectNumber   = "number"   // a number
	ExpectDate     = "date"     // a day
	ExpectPhoto    = "photo"    // images, then 完成
	ExpectLocation = "location" // a location message
	ExpectCommand  = "command"  // a command word (提交, 修改 N, 确认, 继续 …)
	ExpectNone     = "none"     // nothing: the form is finished
)

// Context is what the caller knows about the enterprise and the filler when a
// session starts. It is kept in State so conditions and texts never need a lookup.
type Context struct {
	Enterprise string                `json:"enterprise"`
	Category   string                `json:"category"`
	SmallType  string                `json:"small_type,omitempty"` // normalised by Start
	KeyUnit    bool                  `json:"key_unit,omitempty"`
	Role       safetybot.ContactRole `json:"role"` // principal or safety_officer
	Now        time.Time             `json:"now"`  // when the session started
}

// State is one filling session. It is plain data: marshal it to JSON, store it,
// and hand it back to Step or Current later, in this process or another.
type State struct {
	Form     string            `json:"form"`     // composed Form.Key
	Versions map[string]int    `json:"versions"` // part key → version: the frozen definitions
	Ctx      Context           `json:"ctx"`
	Answers  map[string]Answer `json:"answers"`
	// Path lists the steps before Cursor in the order they were answered: question
	// keys, and "key#step" for a failed item's hazard block. 上一步 returns to its
	// last entry.
	Path   []string     `json:"path,omitempty"`
	Cursor string       `json:"cursor,omitempty"` // the open question's key
	Phase  string       `json:"phase"`
	Repeat *RepeatState `json:"repeat,omitempty"` // the open hazard block step

	// LoosePhotos are photos that arrived when no photo was asked; AttachTo lists
	// the targets offered for them (question keys, or "key#photos").
	LoosePhotos []string `json:"loose_photos,omitempty"`
	AttachTo    []string `json:"attach_to,omitempty"`
	// Pending holds photos attached to photo questions not reached yet.
	Pending map[string][]string `json:"pending,omitempty"`
	// Resume is the phase to return to from attach, confirm_cancel and cancelled.
	Resume string `json:"resume,omitempty"`
	// Page is the review page shown (0-based).
	Page int `json:"page,omitempty"`

	Signed      bool      `json:"signed,omitempty"`      // the principal signed while submitting
	SubmittedAt time.Time `json:"submitted_at,omitzero"` // Input.Now of the submitting step
	UpdatedAt   time.Time `json:"updated_at,omitzero"`   // Input.Now of the last step
}

// RepeatState is the open step of a failed item's hazard block.
type RepeatState struct {
	Item string `json:"item"` // the failed question's key
	Step string `json:"step"` // one of the Repeat… constants
}

// Answer is the answer to one question. Which fields are set depends on the
// question type: Value (yesno: 是/否/不适用; single: option id; text; location
// typed as an address), Values (multi: option ids), Number, Date (YYYY-MM-DD),
// Photos (SHA-256 names), Location.
type Answer struct {
	Value    string             `json:"value,omitempty"`
	Values   []string           `json:"values,omitempty"`
	Number   *float64           `json:"number,omitempty"`
	Date     string             `json:"date,omitempty"`
	Photos   []string           `json:"photos,omitempty"`
	Location *messages.Location `json:"location,omitempty"`
	Skipped  bool               `json:"skipped,omitempty"`
	NA       bool               `json:"na,omitempty"`
	Failure  *Failure           `json:"failure,omitempty"`
}

// Failure is the hazard recorded for a failed checklist item.
type Failure struct {
	Problem     string   `json:"problem"`
	Grade       string   `json:"grade"` // safetybot.GradeGeneral or GradeMajor
	Photos      []string `json:"photos"`
	FixedOnSpot bool     `json:"fixed_on_spot"`
	FixedPhotos []string `json:"fixed_photos,omitempty"` // optional, after fixing on the spot
	Deadline    string   `json:"deadline,omitempty"`     // YYYY-MM-DD when not fixed on the spot
}

// Input is one user message, reduced to what the engine needs. Set one of Text,
// PhotoSHA256, Location or OptionIDs. Now is required: the engine has no clock.
type Input struct {
	Text        string
	PhotoSHA256 string
	Location    *messages.Location
	OptionIDs   []string // from a card click (Inbound.Selected)
	Now         time.Time
}

// Output is what to say next. Text is always set, Chinese, at most MaxTextBytes
// bytes, and already contains Error on its first line when the input was invalid.
type Output struct {
	Text    string
	Options []Option // the numbered options of Text, for a card
	Expect  string   // one of the Expect… constants
	Step    string   // the open step ("key" or "key#step"), "" outside questions
	// Done is true on the one step that submitted the form.
	Done bool
	// NeedsSignature is true with Done when a safety officer submitted: the caller
	// asks the principal to sign (the form is not signed yet).
	NeedsSignature bool
	// Cancelled is true on the one step that cancelled the session (confirmed
	// 取消): the caller deletes the draft.
	Cancelled bool
	// Error is the one-line reason when the input was invalid, "" otherwise.
	Error string
}

// MaxTextBytes is the most bytes Output.Text holds (a WeCom text message's limit).
const MaxTextBytes = 2048

// HazardDraft is one failed item, ready to become a safetybot.Hazard.
type HazardDraft struct {
	ItemKey     string
	ItemText    string
	Basis       string
	Problem     string
	Grade       string
	Photos      []string
	FixedOnSpot bool
	FixedPhotos []string
	Deadline    string // YYYY-MM-DD; "" when fixed on the spot
}

// ItemResult is one applicable question with its answer, for storing and
// rendering a submission without the definitions.
type ItemResult struct {
	N       int    // number as shown in the review (修改 N)
	Key     string // question key
	Part    string // definition key the question comes from
	Text    string // question text
	Short   string // review label
	Type    string
	Basis   string
	Display string // the answer as text, e.g. "否", "3 张照片", "（跳过）"
	Answer  Answer
	Photos  []string // every photo of the item: answer photos, problem photos, fix photos
	Failed  bool
}
