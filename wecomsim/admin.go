package wecomsim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Admin endpoints (no access token; for the terminal chat client and humans):
//
//	GET  /sim/messages?user=U&after=SEQ&wait=SECONDS  long-poll for what U received
//	POST /sim/send                                    play U towards the bot
//	GET  /sim/pic/MEDIA_ID                            the PicUrl of member images
//	GET  /sim/state                                   counters

// SimMessage is one entry of /sim/messages: a delivery with its terminal rendering.
type SimMessage struct {
	Delivered
	Rendered string `json:"rendered"`
}

// SimUpdate is one card update of /sim/messages with its terminal rendering.
type SimUpdate struct {
	Update
	Rendered string `json:"rendered"`
}

// SimMessages is the answer of GET /sim/messages.
type SimMessages struct {
	Messages []SimMessage `json:"messages"`
	Updates  []SimUpdate  `json:"updates"`
	// LastSeq is the highest Seq returned (or the request's after): pass it as
	// after in the next poll.
	LastSeq int64 `json:"last_seq"`
}

// SimSendRequest is the body of POST /sim/send. Exactly one action is set.
type SimSendRequest struct {
	User        string  `json:"user"`
	Text        *string `json:"text,omitempty"`
	ImageBase64 string  `json:"image_base64,omitempty"`
	// ImagePath is a local JPG/PNG file (anything else is refused).
	ImagePath string `json:"image_path,omitempty"`
	Location  *struct {
		Lat   float64 `json:"lat"`
		Lng   float64 `json:"lng"`
		Label string  `json:"label"`
	} `json:"location,omitempty"`
	// Click is a menu key.
	Click string `json:"click,omitempty"`
	// Event is "enter_agent" or "subscribe".
	Event     string `json:"event,omitempty"`
	CardClick *struct {
		ResponseCode string              `json:"response_code,omitempty"`
		TaskID       string              `json:"task_id,omitempty"`
		Key          string              `json:"key"`
		Selected     map[string][]string `json:"selected,omitempty"`
		Menu         bool                `json:"menu,omitempty"`
	} `json:"card_click,omitempty"`
}

// SimSendResult is the answer of POST /sim/send: how the bot answered.
type SimSendResult struct {
	Status   int    `json:"status"`
	Attempts int    `json:"attempts"`
	Statuses []int  `json:"statuses,omitempty"`
	Reply    string `json:"reply,omitempty"`
	Error    string `json:"error,omitempty"`
}

const maxLongPoll = 60 * time.Second

// handleSimMessages serves GET /sim/messages.
func (s *Server) handleSimMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	user := strings.ToLower(q.Get("user"))
	if user == "" {
		http.Error(w, "user is required", http.StatusBadRequest)
		return
	}
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	wait, _ := strconv.ParseFloat(q.Get("wait"), 64)
	d := min(time.Duration(wait*float64(time.Second)), maxLongPoll)
	ctx, cancel := context.WithTimeout(r.Context(), max(d, 0))
	defer cancel()
	var msgs []Delivered
	var ups []Update
	for {
		s.mu.Lock()
		msgs, ups = s.messagesLocked(user, after), s.updatesLocked(user, after)
		ch := s.notify
		s.mu.Unlock()
		if len(msgs) > 0 || len(ups) > 0 || d <= 0 {
			break
		}
		select {
		case <-ch:
			continue
		case <-ctx.Done():
		}
		break
	}
	out := SimMessages{Messages: []SimMessage{}, Updates: []SimUpdate{}, LastSeq: after}
	for _, m := range msgs {
		out.Messages = append(out.Messages, SimMessage{Delivered: m, Rendered: s.Render(m)})
		out.LastSeq = max(out.LastSeq, m.Seq)
	}
	for _, u := range ups {
		out.Updates = append(out.Updates, SimUpdate{Update: u, Rendered: RenderUpdate(u)})
		out.LastSeq = max(out.LastSeq, u.Seq)
	}
	writeJSON(w, out)
}

// handleSimSend serves POST /sim/send: it plays the member and reports the bot's
// answer. HTTP 400 means the request itself was wrong; otherwise 200 with the
// bot's status inside.
func (s *Server) handleSimSend(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST required", http.StatusMethodNotAllowed)
		return
	}
	var req SimSendRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 32<<20)).Decode(&req); err != nil {
		http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	if !validUserID(req.User) {
		http.Error(w, "user must be a valid userid", http.StatusBadRequest)
		return
	}
	res, err := s.simSend(r.Context(), req)
	if errors.Is(err, errBadSimRequest) || errors.Is(err, ErrUnknownKey) || errors.Is(err, ErrNotACard) || errors.Is(err, ErrCardDisabled) {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out := SimSendResult{Status: res.Status, Attempts: res.Attempts, Statuses: res.Statuses}
	if res.Reply != nil {
		out.Reply = res.Reply.XML
	}
	if err != nil {
		out.Error = err.Error()
	}
	writeJSON(w, out)
}

var errBadSimRequest = errors.New("wecomsim: bad /sim/send request")

func (s *Server) simSend(ctx context.Context, req SimSendRequest) (CallbackResult, error) {
	u := s.As(req.User)
	switch {
	case req.Text != nil:
		return u.SendText(ctx, *req.Text)
	case req.ImageBase64 != "":
		data, err := base64.StdEncoding.DecodeString(req.ImageBase64)
		if err != nil {
			return CallbackResult{}, errors.Join(errBadSimRequest, err)
		}
		return u.SendImage(ctx, data, http.DetectContentType(data))
	case req.ImagePath != "":
		data, err := os.ReadFile(req.ImagePath)
		if err != nil {
			return CallbackResult{}, errors.Join(errBadSimRequest, err)
		}
		// Only pictures: the admin API must not turn into a file server.
		ct := http.DetectContentType(data)
		if ct != "image/jpeg" && ct != "image/png" {
			return CallbackResult{}, errors.Join(errBadSimRequest, errors.New("image_path is not a JPG or PNG file"))
		}
		return u.SendImage(ctx, data, ct)
	case req.Location != nil:
		return u.SendLocation(ctx, req.Location.Lat, req.Location.Lng, req.Location.Label)
	case req.Click != "":
		return u.ClickMenu(ctx, req.Click)
	case req.Event == "enter_agent":
		return u.EnterAgent(ctx)
	case req.Event == "subscribe":
		return u.Subscribe(ctx)
	case req.CardClick != nil:
		c := req.CardClick
		taskID := c.TaskID
		if c.ResponseCode != "" {
			t, _, ok := s.cardByCode(c.ResponseCode)
			if !ok {
				return CallbackResult{}, errors.Join(errBadSimRequest, errors.New("unknown response_code"))
			}
			taskID = t
		}
		d := Delivered{To: strings.ToLower(u.ID()), TaskID: taskID}
		if c.Menu {
			return u.ClickCardMenu(ctx, d, c.Key)
		}
		return u.ClickCard(ctx, d, c.Key, c.Selected)
	}
	return CallbackResult{}, errors.Join(errBadSimRequest, errors.New("nothing to send"))
}

// handleSimPic serves GET /sim/pic/MEDIA_ID, the PicUrl of member images.
func (s *Server) handleSimPic(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(routePath(r.URL.Path), pathSimPicPrefix)
	m, ok := s.lookupMedia(id)
	if !ok {
		http.NotFound(w, r)
		return
	}
	serveMedia(w, r, m)
}

// SimState is the answer of GET /sim/state.
type SimState struct {
	TokenFetches         int `json:"token_fetches"`
	SendCalls            int `json:"send_calls"`
	DuplicatesSuppressed int `json:"duplicates_suppressed"`
	Dropped              int `json:"dropped"`
	Delivered            int `json:"delivered"`
	Updates              int `json:"updates"`
}

func (s *Server) handleSimState(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	st := SimState{
		TokenFetches: s.calls[pathGetToken], SendCalls: s.calls[pathSend],
		DuplicatesSuppressed: s.dupSupp, Dropped: s.dropped,
		Delivered: len(s.delivered), Updates: len(s.updates),
	}
	s.mu.Unlock()
	writeJSON(w, st)
}
