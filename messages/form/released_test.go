package form_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"testing"

	"gopkg.in/yaml.v3"

	"safetybot"
	"safetybot/messages/form"
)

// released pins every shipped definition version to the sha256 of its file
// (carriage returns removed). Submissions store the versions they were filled
// with, so a released version must never change: a change is a new file with
// the next version, whose hash is added here.
var released = map[string]string{
	"closing@1":    "1bcbedc8f68ab02c1f12b49798e357e942f7f7072fa61265b39a8dca8ea97620",
	"five-small@1": "beeef9cac9335b9ef2b6cf17ac9fdf350467f883d09fe14f7e8c5879cd7fe921",
	"general@1":    "242079fafc0f675946b95d8c3a92ccc1d0259cf1f327c9a31a093c6ae4980257",
	"key-unit@1":   "3c29322a2bd071776d41f0caa02fdd8cfe0cceacefa43798c86cd2b5f09cb074",
	"key-unit@2":   "6558e25f474460883e32c64a9a0a9e2788b3eb21b5ceff6c1bfe5f825fe57125",
	"nine-small@1": "763e4e424d259d060eb7885b379b433ebc0a3d417ebded7b04f67ec10ac1414e",
	"nine-small@2": "008e05b796fb0d0f9e67ad0e6cc96a9c400781ee6b11090a4a91906527cbab08",
}

func TestReleasedVersionsUnchanged(t *testing.T) {
	r := MustShipped(t)
	defs := os.DirFS("defs")
	files, err := fs.Glob(defs, "*.y*ml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no definitions in defs/: %v", err)
	}
	seen := map[string]bool{}
	for _, file := range files {
		data, err := fs.ReadFile(defs, file)
		if err != nil {
			t.Fatal(err)
		}
		var head struct {
			Key     string `yaml:"key"`
			Version int    `yaml:"version"`
		}
		if err := yaml.Unmarshal(data, &head); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		id := fmt.Sprintf("%s@%d", head.Key, head.Version)
		if d, ok := r.Definition(head.Key, head.Version); !ok || path.Base(d.File) != file {
			t.Fatalf("%s: %s is not loaded from this file", file, id)
		}
		seen[id] = true
		sum := sha256.Sum256(bytes.ReplaceAll(data, []byte("\r"), nil))
		got := hex.EncodeToString(sum[:])
		want, ok := released[id]
		switch {
		case !ok:
			t.Errorf("%s (%s) is not pinned: add %q: %q to released, and never edit the file after that", id, file, id, got)
		case got != want:
			t.Errorf("%s (%s) was edited after its release: submissions filled with it must keep rendering as they were. "+
				"Restore the file and put the change in a new file with version %d (the latest version serves new forms)",
				id, file, head.Version+1)
		}
	}
	for id := range released {
		if !seen[id] {
			t.Errorf("released %s is gone: old submissions name it, keep its file in defs/", id)
		}
	}
}

// The edits made to nine-small@1 and key-unit@1 after their release live in
// version 2, which new forms use; version 1 rebuilds as it was filled.
func TestVersion2Changes(t *testing.T) {
	r := MustShipped(t)
	question := func(key string, version int, q string) *form.Question {
		t.Helper()
		d, ok := r.Definition(key, version)
		if !ok {
			t.Fatalf("%s@%d is not loaded", key, version)
		}
		for _, x := range d.Questions {
			if x.Key == q {
				return x
			}
		}
		t.Fatalf("%s@%d has no question %s", key, version, q)
		return nil
	}
	if q := question("nine-small", 1, "fuel"); q.Text != "店里做饭或加热用什么？" {
		t.Errorf("nine-small@1 fuel: %q", q.Text)
	}
	if q := question("nine-small", 2, "fuel"); q.Text != "场所里做饭、烧水用什么燃料？" {
		t.Errorf("nine-small@2 fuel: %q", q.Text)
	}
	for _, q := range []string{"ku_safety_staff", "ku_risk_control"} {
		if !question("key-unit", 1, q).AllowNA || question("key-unit", 2, q).AllowNA {
			t.Errorf("%s: 不适用 should be offered in key-unit@1 only", q)
		}
	}
	f := MustFor(t, safetybot.CategoryNineSmall, "小餐饮", true)
	if f.Version() != "nine-small@2+key-unit@2+closing@1" {
		t.Errorf("new forms use %s", f.Version())
	}
	if old, err := r.LookupVersion("nine-small@1+key-unit@1+closing@1"); err != nil || old.Version() != "nine-small@1+key-unit@1+closing@1" {
		t.Errorf("LookupVersion of the first release: %v", err)
	}
}
