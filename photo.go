package safetybot

import "bytes"

// PhotoType recognises the picture formats the bot keeps — JPEG, PNG and WebP —
// by their magic bytes; it returns the content type, or "" for anything else.
// The bot stores and serves only files it recognises, whatever a client says.
func PhotoType(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "image/webp"
	}
	return ""
}
