package wecom

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Client-side errors: the request was refused before it left.
var (
	// ErrBadRequest means the client refused to send a request that WeCom
	// would reject anyway: no or too many recipients, a body that is not a
	// JSON object or that sets fields the client owns, an unknown media kind.
	ErrBadRequest = errors.New("wecom: bad request")
	// ErrTooLarge means a media file exceeds the 20 MB the client handles.
	ErrTooLarge = errors.New("wecom: media larger than 20 MB")
)

// WeCom error codes the client acts on (PROTOCOL.md §4).
const (
	// CodeBusy is "system busy": retry with backoff.
	CodeBusy = -1
	// CodeInvalidToken is an invalid access_token: refresh once and retry.
	CodeInvalidToken = 40014
	// CodeTokenMissing is a missing access_token: refresh once and retry.
	CodeTokenMissing = 41001
	// CodeTokenExpired is an expired access_token: refresh once and retry.
	CodeTokenExpired = 42001
	// CodeFrequencyLimit is the API frequency limit: wait out the window.
	CodeFrequencyLimit = 45009
	// CodeConcurrency is the concurrency limit: retry with backoff.
	CodeConcurrency = 45033
)

// frequencyWait is how long to back off after 45009: the minute window.
const frequencyWait = 60 * time.Second

// APIError is a WeCom API answer with a non-zero errcode, or an HTTP status
// other than 200 (then Code is 0 and HTTPStatus is set). Msg is WeCom's errmsg,
// informational only. No error of this package carries the access token, the
// secret or a URL that holds them.
type APIError struct {
	API        string // path under /cgi-bin/, e.g. "message/send"
	Code       int    // errcode; 0 for a bare HTTP failure
	Msg        string // errmsg, with any credential redacted
	HTTPStatus int    // set when the HTTP status was not 200
}

// Error implements error.
func (e *APIError) Error() string {
	if e.Code == 0 && e.HTTPStatus != 0 {
		return fmt.Sprintf("wecom %s: HTTP %d", e.API, e.HTTPStatus)
	}
	return fmt.Sprintf("wecom %s: errcode %d: %s", e.API, e.Code, e.Msg)
}

// Retryable reports whether the same request may succeed later: -1 (busy),
// 45009 (frequency limit, after RetryAfter), 45033 (concurrency limit),
// HTTP 5xx / 429, and a rejected access token. The client already refreshed
// the token once before returning a token error; a second rejection means the
// token was expired again in between (another replica refreshed, WeCom
// invalidated it), so a later attempt with the next token may well succeed.
func (e *APIError) Retryable() bool {
	switch e.Code {
	case CodeBusy, CodeFrequencyLimit, CodeConcurrency, CodeInvalidToken, CodeTokenMissing, CodeTokenExpired:
		return true
	}
	return e.Code == 0 && (e.HTTPStatus >= 500 || e.HTTPStatus == 429)
}

// Permanent reports whether retrying the same request is pointless.
func (e *APIError) Permanent() bool { return !e.Retryable() }

// RetryAfter is the suggested minimum wait before a retry: about a minute for
// 45009, 0 (use your own backoff) otherwise.
func (e *APIError) RetryAfter() time.Duration {
	if e.Code == CodeFrequencyLimit {
		return frequencyWait
	}
	return 0
}

// TransientError is a failure below the API: connection refused or reset, a
// timeout, a truncated or non-JSON answer. The request may or may not have
// reached WeCom; it is always retryable. Its text is stripped of URLs.
type TransientError struct {
	API string
	msg string
	err error
}

// Error implements error.
func (e *TransientError) Error() string { return "wecom " + e.API + ": " + e.msg }

// Unwrap returns the cause (e.g. context.DeadlineExceeded), without the URL.
func (e *TransientError) Unwrap() error { return e.err }

// Retryable is always true.
func (e *TransientError) Retryable() bool { return true }

// Permanent is always false.
func (e *TransientError) Permanent() bool { return false }

// IsRetryable reports whether err is worth retrying: an APIError whose
// Retryable is true, a TransientError, or any timeout. Cancellation and
// client-side refusals are not retryable.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ErrCode returns the WeCom errcode carried by err, 0 when there is none.
func ErrCode(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// isTokenError reports whether WeCom rejected the access token itself.
func isTokenError(err error) bool {
	switch ErrCode(err) {
	case CodeInvalidToken, CodeTokenExpired, CodeTokenMissing:
		return true
	}
	return false
}

// redact removes every credential from s. Credentials are replaced by a fixed
// marker; empty ones are skipped.
func redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 && strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, "[REDACTED]")
		}
	}
	return s
}
