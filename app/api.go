package app

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"safetybot"
	"safetybot/handlers"
)

// maxAPIBody caps JSON request bodies of the admin API.
const maxAPIBody = 1 << 20

// apiError is the JSON error body of /api/.
type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// writeErr maps an error to a status and a reason a client can show.
func (a *App) writeErr(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	msg := "internal error"
	switch safetybot.ErrorCode(err) {
	case safetybot.EINVALID:
		status, msg = http.StatusBadRequest, safetybot.ErrorMessage(err)
	case safetybot.ENOTFOUND:
		status, msg = http.StatusNotFound, safetybot.ErrorMessage(err)
	case safetybot.ECONFLICT:
		status, msg = http.StatusConflict, safetybot.ErrorMessage(err)
	case safetybot.EFORBIDDEN:
		status, msg = http.StatusForbidden, safetybot.ErrorMessage(err)
	default:
		a.Log.Error("api request failed", "err", err)
	}
	writeJSON(w, status, apiError{Error: msg})
}

// adminOnly lets a request through only with the admin bearer token. With no
// token configured, the admin API refuses everything.
func (a *App) adminOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !a.isAdmin(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="safetybot"`)
			reason := "missing or wrong admin token"
			if a.Config.AdminToken == "" {
				reason = "admin API disabled: SAFETYBOT_ADMIN_TOKEN is not set"
			}
			writeJSON(w, http.StatusUnauthorized, apiError{Error: reason})
			return
		}
		next(w, r)
	}
}

func (a *App) isAdmin(r *http.Request) bool {
	want := a.Config.AdminToken
	if want == "" {
		return false
	}
	got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if got == "" {
		if c, err := r.Cookie(adminCookie); err == nil {
			got = c.Value
		}
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

const adminCookie = "safetybot_admin"

// decodeJSON reads a capped JSON body into v; errors become 4xx with a reason.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return safetybot.Errorf(safetybot.EINVALID, "request body over 1 MiB")
		}
		if errors.Is(err, io.EOF) {
			return safetybot.Errorf(safetybot.EINVALID, "empty request body")
		}
		return safetybot.Errorf(safetybot.EINVALID, "invalid JSON: %v", err)
	}
	return nil
}

// letterRequest is the body of POST /api/letters.
type letterRequest struct {
	Title      string   `json:"title"`
	Body       string   `json:"body"`
	Deadline   string   `json:"deadline,omitempty"`
	Townships  []string `json:"townships,omitempty"`
	Categories []string `json:"categories,omitempty"`
	Sender     string   `json:"sender,omitempty"`
}

func (a *App) postLetter(w http.ResponseWriter, r *http.Request) {
	var req letterRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeErr(w, err)
		return
	}
	in := handlers.LetterInput{Title: req.Title, Body: req.Body, Townships: req.Townships, Categories: req.Categories, Sender: req.Sender}
	if in.Sender == "" {
		in.Sender = "admin-api"
	}
	if req.Deadline != "" {
		d, err := time.Parse("2006-01-02", req.Deadline)
		if err != nil {
			a.writeErr(w, safetybot.Errorf(safetybot.EINVALID, "deadline %q is not a date like 2026-07-31", req.Deadline))
			return
		}
		in.Deadline = &d
	}
	res, err := handlers.SendLetter(r.Context(), a.Store, a.Config.PublicURL, a.Config.Location, in, nil)
	if err != nil {
		a.writeErr(w, err)
		return
	}
	a.Sender.Wake()
	writeJSON(w, http.StatusCreated, map[string]any{"id": res.Letter.ID, "sha256": res.Letter.SHA256,
		"enterprises": res.Enterprises, "principals": res.Principals, "api_calls": res.Batches,
		"url": strings.TrimRight(a.Config.PublicURL, "/") + "/letters/" + itoa(res.Letter.ID)})
}
