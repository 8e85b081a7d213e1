package app

import (
	"net/http"

	"safetybot/handlers"
)

// noticeRequest is the body of POST /api/notices.
type noticeRequest struct {
	Text   string   `json:"text"`
	To     []string `json:"to"` // principals, officials, key-units, township:NAME, township-officials:NAME, category:NAME, department:NAME
	Ack    bool     `json:"ack,omitempty"`
	Sender string   `json:"sender,omitempty"`
}

// postNotice sends a notice to the groups: 201 with its id, how many people
// it goes to and the API calls queued; 400 with a reason for a bad request.
func (a *App) postNotice(w http.ResponseWriter, r *http.Request) {
	var req noticeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeErr(w, err)
		return
	}
	if req.Sender == "" {
		req.Sender = "市安委办"
	}
	res, err := handlers.SendNotice(r.Context(), a.Store, handlers.NoticeInput{Text: req.Text, Groups: req.To, Ack: req.Ack, Sender: req.Sender})
	if err != nil {
		a.writeErr(w, err)
		return
	}
	a.Sender.Wake()
	writeJSON(w, http.StatusCreated, map[string]any{"id": res.Notice.ID, "recipients": res.Recipients, "api_calls": res.Calls, "ack": req.Ack,
		"report": "safetybot report notices --notice " + itoa(res.Notice.ID)})
}
