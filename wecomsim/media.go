package wecomsim

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// mediaItem is one temporary media file.
type mediaItem struct {
	kind        string // image, voice, video, file
	data        []byte
	contentType string
	filename    string
	created     time.Time
}

// mediaLimits are the upload size caps per type (PROTOCOL.md §3.6).
var mediaLimits = map[string]int{
	"image": 10 << 20,
	"voice": 2 << 20,
	"video": 10 << 20,
	"file":  20 << 20,
}

// handleMediaUpload serves POST /cgi-bin/media/upload?type=….
func (s *Server) handleMediaUpload(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r, http.MethodPost) {
		return
	}
	kind := r.URL.Query().Get("type")
	limit, ok := mediaLimits[kind]
	if !ok {
		writeErr(w, 40005, "type must be image, voice, video or file")
		return
	}
	data, filename, partType, aerr := readMediaPart(r, limit)
	if aerr != nil {
		writeErr(w, aerr.code, aerr.hint)
		return
	}
	ct, aerr := checkMediaFormat(kind, data, partType)
	if aerr != nil {
		writeErr(w, aerr.code, aerr.hint)
		return
	}
	s.mu.Lock()
	id, created := s.putMediaLocked(kind, data, ct, filename)
	s.mu.Unlock()
	// created_at is a string on the wire.
	writeJSON(w, map[string]any{
		"errcode": 0, "errmsg": "", "type": kind, "media_id": id,
		"created_at": strconv.FormatInt(created.Unix(), 10),
	})
}

// readMediaPart reads the multipart part named "media", enforcing WeCom's sizes.
func readMediaPart(r *http.Request, limit int) (data []byte, filename, contentType string, aerr *apiError) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", "", errf(41005, "multipart/form-data with a part named media is required")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, "", "", errf(41005, "no part named media")
		}
		if err != nil {
			return nil, "", "", errf(47001, "multipart: %v", err)
		}
		if part.FormName() != "media" {
			continue
		}
		data, err = io.ReadAll(io.LimitReader(part, int64(limit)+1))
		if err != nil {
			return nil, "", "", errf(47001, "multipart: %v", err)
		}
		switch {
		case len(data) == 0:
			return nil, "", "", errf(44001, "empty file")
		case len(data) <= 5:
			return nil, "", "", errf(40006, "file must be larger than 5 bytes")
		case len(data) > limit:
			return nil, "", "", errf(45001, "file larger than %d bytes", limit)
		}
		filename = part.FileName()
		if filename == "" {
			filename = "media"
		}
		// Only the base name is shown to members (silenceper sends a whole path).
		if i := strings.LastIndexAny(filename, `/\`); i >= 0 {
			filename = filename[i+1:]
		}
		return data, filename, part.Header.Get("Content-Type"), nil
	}
}

// checkMediaFormat sniffs the bytes: image must be JPG/PNG, voice AMR, video MP4.
func checkMediaFormat(kind string, data []byte, partType string) (string, *apiError) {
	switch kind {
	case "image":
		switch {
		case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
			return "image/jpeg", nil
		case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
			return "image/png", nil
		}
		return "", errf(40004, "image must be JPG or PNG")
	case "voice":
		if bytes.HasPrefix(data, []byte("#!AMR")) {
			return "audio/amr", nil
		}
		return "", errf(40004, "voice must be AMR")
	case "video":
		if len(data) >= 8 && string(data[4:8]) == "ftyp" {
			return "video/mp4", nil
		}
		return "", errf(40004, "video must be MP4")
	}
	if partType == "" || partType == "application/octet-stream" {
		return http.DetectContentType(data), nil
	}
	return partType, nil
}

// putMediaLocked stores media and returns its id and creation time.
func (s *Server) putMediaLocked(kind string, data []byte, contentType, filename string) (string, time.Time) {
	id := "3" + s.randomString(63, alphabetAlnum)
	now := s.now()
	s.media[id] = &mediaItem{kind: kind, data: append([]byte(nil), data...), contentType: contentType, filename: filename, created: now}
	return id, now
}

// PutMedia stores data as temporary media without the upload checks and returns
// its media_id (valid for MediaTTL, like an upload).
func (s *Server) PutMedia(data []byte, contentType string) (mediaID string) {
	if contentType == "" {
		contentType = http.DetectContentType(data)
	}
	kind := "file"
	switch {
	case strings.HasPrefix(contentType, "image/"):
		kind = "image"
	case strings.HasPrefix(contentType, "audio/"):
		kind = "voice"
	case strings.HasPrefix(contentType, "video/"):
		kind = "video"
	}
	name := kind
	if exts, _ := mime.ExtensionsByType(contentType); len(exts) > 0 {
		name += exts[0]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := s.putMediaLocked(kind, data, contentType, name)
	return id
}

// Media returns the bytes and content type of a live media_id.
func (s *Server) Media(mediaID string) (data []byte, contentType string, ok bool) {
	m, ok := s.lookupMedia(mediaID)
	if !ok {
		return nil, "", false
	}
	return append([]byte(nil), m.data...), m.contentType, true
}

func (s *Server) lookupMedia(id string) (*mediaItem, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.media[id]
	if m == nil {
		return nil, false
	}
	if !s.now().Before(m.created.Add(s.cfg.MediaTTL)) {
		delete(s.media, id)
		return nil, false
	}
	return m, true
}

// handleMediaGet serves GET /cgi-bin/media/get: the bytes with Content-Type and
// Content-Disposition (Range supported), or HTTP 200 JSON 40007.
func (s *Server) handleMediaGet(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r, http.MethodGet) {
		return
	}
	m, ok := s.lookupMedia(r.URL.Query().Get("media_id"))
	if !ok {
		writeErr(w, 40007, "media_id unknown or expired")
		return
	}
	serveMedia(w, r, m)
}

func serveMedia(w http.ResponseWriter, r *http.Request, m *mediaItem) {
	w.Header().Set("Content-Type", m.contentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": m.filename}))
	http.ServeContent(w, r, m.filename, time.Time{}, bytes.NewReader(m.data))
}
