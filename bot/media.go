package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"safetybot"
	"safetybot/bot/wecom"
	"safetybot/store"
)

// MaxPhotoBytes caps a stored photo.
const MaxPhotoBytes = 10 << 20

// Photos downloads images through media/get (MediaIds expire after 3 days, so
// at once) and keeps them under the data dir by SHA-256.
type Photos struct {
	Client *wecom.Client
	Store  *store.Store
	Dir    string // <data dir>/photos
}

// Path returns where a photo with the SHA-256 lives.
func (p *Photos) Path(sha string) string {
	if len(sha) < 2 {
		return filepath.Join(p.Dir, sha)
	}
	return filepath.Join(p.Dir, sha[:2], sha)
}

// Fetch downloads a media id, checks it and stores it; it returns the SHA-256.
// A check failure is an EINVALID error with a message for the user.
func (p *Photos) Fetch(ctx context.Context, mediaID, user string) (string, error) {
	data, _, err := p.Client.GetMedia(ctx, mediaID)
	if err != nil {
		return "", fmt.Errorf("media/get: %w", err)
	}
	return p.Save(ctx, data, user)
}

// Save checks and stores photo bytes; it returns the SHA-256.
func (p *Photos) Save(ctx context.Context, data []byte, user string) (string, error) {
	if len(data) > MaxPhotoBytes {
		return "", safetybot.Errorf(safetybot.EINVALID, "照片太大（超过 10 MB），请压缩后重新发送")
	}
	ct := safetybot.PhotoType(data)
	if ct == "" {
		return "", safetybot.Errorf(safetybot.EINVALID, "只支持 JPG、PNG 或 WebP 格式的照片")
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	path := p.Path(sha)
	if _, err := os.Stat(path); err != nil {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", err
		}
		tmp, err := os.CreateTemp(filepath.Dir(path), ".upload-*")
		if err != nil {
			return "", err
		}
		if _, err := tmp.Write(data); err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return "", err
		}
		if err := tmp.Close(); err != nil {
			os.Remove(tmp.Name())
			return "", err
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			return "", err
		}
	}
	if err := p.Store.SavePhoto(ctx, sha, ct, int64(len(data)), user); err != nil {
		return "", err
	}
	return sha, nil
}
