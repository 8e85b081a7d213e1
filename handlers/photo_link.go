package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"safetybot/store"
)

// ---- signed photo links ----

// photoLinkSecret names the install secret that signs photo links.
const photoLinkSecret = "photo-link"

// ReviewPhotoLinkTTL is how long the photo links of a review card open. A
// review should happen well within the rectification deadline, and a link
// forwarded out of WeCom should not show the enterprise's premises forever.
const ReviewPhotoLinkTTL = 30 * 24 * time.Hour

// PhotoLinkKey returns the key that signs photo links: a random secret made
// once per installation, read in the caller's transaction (never cached: the
// first secret is made inside one that may still roll back).
func PhotoLinkKey(ctx context.Context, st *store.Store) ([]byte, error) {
	return st.InstallSecret(ctx, photoLinkSecret)
}

// PhotoSig is the signature of a link to the photo sha that opens until exp
// (Unix seconds). It covers exactly the two.
func PhotoSig(key []byte, sha string, exp int64) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "photo:%s:%d", sha, exp)
	return hex.EncodeToString(m.Sum(nil))
}

// ValidPhotoSig reports whether sig signs the photo sha until exp (compared in
// constant time; whether exp has passed is the caller's check).
func ValidPhotoSig(key []byte, sha string, exp int64, sig string) bool {
	return hmac.Equal([]byte(PhotoSig(key, sha, exp)), []byte(sig))
}

// PhotoURL is a link to a stored photo that opens without the admin login
// until exp: GET /photos/{sha}?exp=&sig=.
func PhotoURL(publicURL string, key []byte, sha string, exp time.Time) string {
	e := exp.Unix()
	return fmt.Sprintf("%s/photos/%s?exp=%d&sig=%s", strings.TrimRight(publicURL, "/"), sha, e, PhotoSig(key, sha, e))
}
