package app

import (
	"net/http"
	"strconv"

	"safetybot/handlers"
	"safetybot/report"
)

// Answers of a refused photo link: short, for a phone, and saying nothing
// about why a signature failed.
const (
	photoLinkNotFound = "没有这张照片。"
	photoLinkInvalid  = "链接无效，请从企业微信的审核卡片打开。"
	photoLinkExpired  = "链接已过期，如需查看照片请联系管理员。"
)

// photoLinkMaxAge caps how long a browser keeps a photo opened by a link.
const photoLinkMaxAge = 24 * 60 * 60

// photoLink serves a stored photo to whoever holds a signed link that has not
// expired (GET /photos/{sha}?exp=&sig=, the photos of review cards; see
// handlers.PhotoURL). The name is checked before anything else, so a bad one
// never reaches the file system; then the signature over (sha, exp), then exp.
func (a *App) photoLink(w http.ResponseWriter, r *http.Request) {
	sha := r.PathValue("sha")
	if !report.ValidPhotoSHA(sha) {
		refusePhoto(w, http.StatusNotFound, photoLinkNotFound)
		return
	}
	q := r.URL.Query()
	raw := q.Get("exp")
	exp, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || strconv.FormatInt(exp, 10) != raw {
		refusePhoto(w, http.StatusForbidden, photoLinkInvalid)
		return
	}
	key, err := handlers.PhotoLinkKey(r.Context(), a.Store)
	if err != nil {
		a.Log.Error("photo link key", "err", err)
		refusePhoto(w, http.StatusInternalServerError, "服务暂时不可用，请稍后再试。")
		return
	}
	if !handlers.ValidPhotoSig(key, sha, exp, q.Get("sig")) {
		refusePhoto(w, http.StatusForbidden, photoLinkInvalid)
		return
	}
	now := a.Clock.Now().Unix()
	if exp <= now {
		refusePhoto(w, http.StatusGone, photoLinkExpired)
		return
	}
	// Kept by the browser no longer than the link lives.
	age := min(exp-now, photoLinkMaxAge)
	report.ServePhoto(w, r, a.Config.DataDir, sha, "private, max-age="+strconv.FormatInt(age, 10))
}

func refusePhoto(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, code)
}
