package app_test

import (
	"context"
	"fmt"
	"image/color"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"safetybot/handlers"
)

// TestPhotoLink covers GET /photos/{sha}: the review cards' photos, opened
// without the admin login by a signed link that expires.
func TestPhotoLink(t *testing.T) {
	for _, st := range stacks {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			b := startBot(t, st.db, adminToken)
			ctx := context.Background()
			photo := jpegOf(color.RGBA{30, 120, 200, 255})
			sha, err := b.Photos.Save(ctx, photo, "u1")
			if err != nil {
				t.Fatal(err)
			}
			key, err := handlers.PhotoLinkKey(ctx, b.Store)
			if err != nil {
				t.Fatal(err)
			}
			submissionKey, err := handlers.SubmissionLinkKey(ctx, b.Store)
			if err != nil {
				t.Fatal(err)
			}
			now := b.Clock.Now()
			exp := now.Add(handlers.ReviewPhotoLinkTTL).Unix()
			link := func(sha string, exp int64, sig string) string {
				return fmt.Sprintf("%s/photos/%s?exp=%d&sig=%s", b.URL(), sha, exp, sig)
			}
			fetch := func(t *testing.T, u string) (*http.Response, string) {
				t.Helper()
				resp, err := http.Get(u) // no cookie, no token
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return resp, string(body)
			}

			t.Run("a signed link opens the photo", func(t *testing.T) {
				u := handlers.PhotoURL(b.URL(), key, sha, now.Add(handlers.ReviewPhotoLinkTTL))
				if u != link(sha, exp, handlers.PhotoSig(key, sha, exp)) {
					t.Fatalf("PhotoURL %s", u)
				}
				resp, body := fetch(t, u)
				if resp.StatusCode != http.StatusOK || body != string(photo) {
					t.Fatalf("signed link: %d, %d bytes", resp.StatusCode, len(body))
				}
				if ct := resp.Header.Get("Content-Type"); ct != "image/jpeg" {
					t.Errorf("Content-Type %q", ct)
				}
				if cc := resp.Header.Get("Cache-Control"); cc != "private, max-age=86400" {
					t.Errorf("Cache-Control %q", cc)
				}
				// A link about to expire is not kept longer than it lives.
				soon := now.Unix() + 90
				resp, _ = fetch(t, link(sha, soon, handlers.PhotoSig(key, sha, soon)))
				age, err := strconv.Atoi(strings.TrimPrefix(resp.Header.Get("Cache-Control"), "private, max-age="))
				if resp.StatusCode != http.StatusOK || err != nil || age < 1 || age > 90 {
					t.Errorf("link expiring in 90 s: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
				}
			})

			t.Run("a bad or missing signature is 403", func(t *testing.T) {
				sig := handlers.PhotoSig(key, sha, exp)
				flip := func(s string) string {
					c := "0"
					if s[0] == '0' {
						c = "1"
					}
					return c + s[1:]
				}
				other := strings.Repeat("ab", 32)
				for name, u := range map[string]string{
					"no signature":              fmt.Sprintf("%s/photos/%s?exp=%d", b.URL(), sha, exp),
					"no exp":                    fmt.Sprintf("%s/photos/%s?sig=%s", b.URL(), sha, sig),
					"nothing":                   fmt.Sprintf("%s/photos/%s", b.URL(), sha),
					"tampered signature":        link(sha, exp, flip(sig)),
					"short signature":           link(sha, exp, sig[:32]),
					"uppercase signature":       link(sha, exp, strings.ToUpper(sig)),
					"tampered exp":              link(sha, exp+86400, sig),
					"exp with a leading zero":   fmt.Sprintf("%s/photos/%s?exp=0%d&sig=%s", b.URL(), sha, exp, sig),
					"another photo's signature": link(sha, exp, handlers.PhotoSig(key, other, exp)),
					"signed with another key":   link(sha, exp, handlers.PhotoSig([]byte("not the install secret"), sha, exp)),
					"expired and tampered":      link(sha, now.Unix()-10, sig),
					"the report links' key":     link(sha, exp, handlers.PhotoSig(submissionKey, sha, exp)),
				} {
					resp, body := fetch(t, u)
					if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "链接无效") || strings.Contains(body, "\xff\xd8") {
						t.Errorf("%s: %d %q", name, resp.StatusCode, brief(body))
					}
				}
			})

			t.Run("an expired link is 410 even with a valid signature", func(t *testing.T) {
				for _, e := range []int64{now.Unix() - 1, now.Add(-40 * 24 * time.Hour).Unix(), 0} {
					resp, body := fetch(t, link(sha, e, handlers.PhotoSig(key, sha, e)))
					if resp.StatusCode != http.StatusGone || !strings.Contains(body, "已过期") {
						t.Errorf("exp %d: %d %q", e, resp.StatusCode, brief(body))
					}
				}
			})

			t.Run("unknown or malformed names are 404 and read no file", func(t *testing.T) {
				// Files a bad name could reach if it touched the file system.
				os.WriteFile(filepath.Join(b.Config.DataDir, "secret.txt"), []byte("secret"), 0o644)
				upper := strings.ToUpper(sha)
				os.WriteFile(filepath.Join(b.Config.DataDir, "photos", sha[:2], upper), photo, 0o644)
				unknown := strings.Repeat("cd", 32)
				for name, s := range map[string]string{
					"unknown":   unknown,
					"traversal": "..%2F..%2Fsecret.txt",
					"etc":       "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
					"uppercase": upper,
					"short":     sha[:63],
					"long":      sha + "0",
					"nul":       sha + "%00",
					"dot-dot":   "%2e%2e",
				} {
					// Signed over the name as the handler reads it, so only the
					// name check can refuse it.
					decoded, _ := url.PathUnescape(s)
					resp, body := fetch(t, link(s, exp, handlers.PhotoSig(key, decoded, exp)))
					if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "没有这张照片") || strings.Contains(body, "secret") || strings.Contains(body, "root:") ||
						strings.Contains(body, "\xff\xd8") {
						t.Errorf("%s: %d %q", name, resp.StatusCode, brief(body))
					}
				}
			})
		})
	}
}

// brief cuts a response body for a failure message (a photo is binary).
func brief(body string) string {
	if len(body) > 80 {
		return body[:80] + "…"
	}
	return body
}
