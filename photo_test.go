package safetybot_test

import (
	"testing"

	"safetybot"
)

func TestPhotoType(t *testing.T) {
	for _, tt := range []struct {
		name string
		head string
		want string
	}{
		{"jpeg", "\xFF\xD8\xFF\xE0\x00\x10JFIF", "image/jpeg"},
		{"png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"},
		{"webp", "RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"},
		{"riff but not webp", "RIFF\x24\x00\x00\x00WAVEfmt ", ""},
		{"short riff", "RIFF\x24\x00", ""},
		{"gif", "GIF89a", ""},
		{"html", "<html><script>", ""},
		{"empty", "", ""},
	} {
		if got := safetybot.PhotoType([]byte(tt.head)); got != tt.want {
			t.Errorf("%s: PhotoType = %q, want %q", tt.name, got, tt.want)
		}
	}
}
