package wecomsim

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

type menuButton struct {
	Type      string       `json:"type"`
	Name      string       `json:"name"`
	Key       string       `json:"key"`
	URL       string       `json:"url"`
	SubButton []menuButton `json:"sub_button"`
}

// Menu returns the menu the bot created last (nil if none or deleted).
func (s *Server) Menu() json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(json.RawMessage(nil), s.menu...)
}

// menuHasKey reports whether the stored menu has a click-like button with key.
// Without a menu every key is accepted.
func (s *Server) menuHasKey(key string) bool {
	s.mu.Lock()
	raw := s.menu
	s.mu.Unlock()
	if raw == nil {
		return true
	}
	var m struct {
		Button []menuButton `json:"button"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return true
	}
	for _, b := range m.Button {
		if b.Key == key {
			return true
		}
		for _, sb := range b.SubButton {
			if sb.Key == key {
				return true
			}
		}
	}
	return false
}

func (s *Server) checkAgentParam(w http.ResponseWriter, r *http.Request) bool {
	v := r.URL.Query().Get("agentid")
	if v == "" {
		writeErr(w, 41011, "agentid missing")
		return false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err != nil || n != s.cfg.AgentID {
		writeErr(w, 40056, "agentid is not this app's")
		return false
	}
	return true
}

// handleMenuCreate serves POST /cgi-bin/menu/create?agentid=…. Error codes are
// WeChat's menu family: 40016 button count, 40017 button type, 40018 name length,
// 40019 key length, 40020 url length, 40023 sub button count, 40025 sub name length.
func (s *Server) handleMenuCreate(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r, http.MethodPost) || !s.checkAgentParam(w, r) {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	if err != nil {
		writeErr(w, 47001, "cannot read body")
		return
	}
	var m struct {
		Button []menuButton `json:"button"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		writeErr(w, 47001, "body: "+err.Error())
		return
	}
	if aerr := validateMenu(m.Button); aerr != nil {
		writeErr(w, aerr.code, aerr.hint)
		return
	}
	s.mu.Lock()
	s.menu = compact(body)
	s.mu.Unlock()
	writeErr(w, 0, "")
}

func validateMenu(buttons []menuButton) *apiError {
	if len(buttons) < 1 || len(buttons) > 3 {
		return errf(40016, "menu needs 1-3 buttons, has %d", len(buttons))
	}
	for i, b := range buttons {
		if b.Name == "" || len(b.Name) > 16 {
			return errf(40018, "button[%d].name must be 1-16 bytes", i)
		}
		if len(b.SubButton) > 0 {
			if len(b.SubButton) > 5 {
				return errf(40023, "button[%d] has %d sub buttons, at most 5", i, len(b.SubButton))
			}
			for j, sb := range b.SubButton {
				if sb.Name == "" || len(sb.Name) > 40 {
					return errf(40025, "button[%d].sub_button[%d].name must be 1-40 bytes", i, j)
				}
				if aerr := validateMenuAction(sb); aerr != nil {
					return aerr
				}
			}
			continue
		}
		if aerr := validateMenuAction(b); aerr != nil {
			return aerr
		}
	}
	return nil
}

func validateMenuAction(b menuButton) *apiError {
	switch b.Type {
	case "click", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album", "pic_weixin", "location_select":
		if b.Key == "" || len(b.Key) > 128 {
			return errf(40019, "button %q needs a key of 1-128 bytes", b.Name)
		}
	case "view":
		if !isHTTPURL(b.URL) || len(b.URL) > 1024 {
			return errf(40020, "button %q needs an http(s) url of at most 1024 bytes", b.Name)
		}
	case "view_miniprogram":
	default:
		return errf(40017, "button %q has type %q", b.Name, b.Type)
	}
	return nil
}

// handleMenuGet serves GET /cgi-bin/menu/get?agentid=….
func (s *Server) handleMenuGet(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r, http.MethodGet) || !s.checkAgentParam(w, r) {
		return
	}
	s.mu.Lock()
	raw := s.menu
	s.mu.Unlock()
	if raw == nil {
		writeErr(w, 46003, "menu does not exist")
		return
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw, &m)
	m["errcode"], m["errmsg"] = json.RawMessage("0"), json.RawMessage(`"ok"`)
	writeJSON(w, m)
}

// handleMenuDelete serves GET /cgi-bin/menu/delete?agentid=….
func (s *Server) handleMenuDelete(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r, http.MethodGet) || !s.checkAgentParam(w, r) {
		return
	}
	s.mu.Lock()
	s.menu = nil
	s.mu.Unlock()
	writeErr(w, 0, "")
}
