package safetybot

import (
	"errors"
	"fmt"
)

// Error codes. The router shows the Message of every code but EINTERNAL to the user.
const (
	EINVALID   = "invalid"   // bad input: the user can fix it
	ENOTFOUND  = "not_found" // the thing asked for does not exist (or is out of scope)
	ECONFLICT  = "conflict"  // a unique rule was broken (duplicate credit code, userid …)
	EFORBIDDEN = "forbidden" // the asker's role may not do this
	EINTERNAL  = "internal"  // everything else: logged, never shown
)

// Error is the one error type that crosses package boundaries. Message is safe to show
// to a user (Chinese, short); Err carries the technical chain for the log.
type Error struct {
	Code    string
	Message string
	Err     error
}

// Error implements error. It never includes Message twice and never leaks to chat.
func (e *Error) Error() string {
	switch {
	case e.Err != nil && e.Message != "":
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", e.Code, e.Err)
	default:
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
}

// Unwrap returns the wrapped technical error.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a user-safe message built from format.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL when
// there is none, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of err, or "" when err is internal.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return ""
}
