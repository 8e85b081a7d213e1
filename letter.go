package safetybot

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Letter is an open letter (公开信) sent to enterprise principals for sign-off (S6).
type Letter struct {
	ID         int64      `db:"id"`
	CampaignID *int64     `db:"campaign_id"`
	Title      string     `db:"title"`
	Body       string     `db:"body"` // Markdown
	SHA256     string     `db:"sha256"`
	Deadline   *time.Time `db:"deadline"` // a date in the campaign time zone, stored as its UTC midnight of that zone
	Scope      string     `db:"scope"`    // JSON of LetterScope
	Sender     string     `db:"sender"`
	CreatedAt  time.Time  `db:"created_at"`
}

// LetterScope selects the principals a letter goes to. Empty lists mean "all".
type LetterScope struct {
	Townships  []string `json:"townships,omitempty"`
	Categories []string `json:"categories,omitempty"`
}

// BodyHash returns the hex SHA-256 of a letter body, the version a signature refers to.
func BodyHash(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

// Validate checks a letter before it is stored.
func (l *Letter) Validate() error {
	switch {
	case strings.TrimSpace(l.Title) == "":
		return Errorf(EINVALID, "公开信标题不能为空")
	case len([]rune(l.Title)) > 60:
		return Errorf(EINVALID, "公开信标题过长（最多60字）")
	case strings.TrimSpace(l.Body) == "":
		return Errorf(EINVALID, "公开信正文不能为空")
	}
	return nil
}

// Signature methods.
const (
	SignByButton = "button"
	SignByText   = "text"
)

// Signature records that a principal signed a letter for an enterprise.
type Signature struct {
	ID           int64     `db:"id"`
	LetterID     int64     `db:"letter_id"`
	EnterpriseID int64     `db:"enterprise_id"`
	UserID       string    `db:"userid"`
	SignedAt     time.Time `db:"signed_at"`
	SHA256       string    `db:"sha256"`
	Method       string    `db:"method"`
}
