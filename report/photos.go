package report

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"safetybot"
	"safetybot/store"
)

// shaPattern is the only form a stored photo name may take.
var shaPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidPhotoSHA reports whether s is a lowercase hex SHA-256, the only name a
// photo file may have. Anything else never reaches the file system.
func ValidPhotoSHA(s string) bool { return shaPattern.MatchString(s) }

// PhotoPath is where a photo lives under the data directory
// (<data dir>/photos/<sha[:2]>/<sha>, as bot.Photos stores it), or "" for a
// name that is not a SHA-256.
func PhotoPath(dataDir, sha string) string {
	if !ValidPhotoSHA(sha) {
		return ""
	}
	return filepath.Join(dataDir, "photos", sha[:2], sha)
}

// ServePhoto answers r with the stored photo sha under dataDir: the one way a
// photo leaves the data dir over HTTP (the admin pages, the report pages and
// signed photo links; each checks who may see it first). Only a lowercase hex
// SHA-256 names a file, so no request reaches any other path, and only JPEG,
// PNG and WebP are served, typed by their first bytes. Anything else is 404.
func ServePhoto(w http.ResponseWriter, r *http.Request, dataDir, sha, cacheControl string) {
	f, fi, ct := openPhoto(dataDir, sha)
	if f == nil {
		http.Error(w, "没有这张照片", http.StatusNotFound)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", cacheControl)
	h.Set("Content-Security-Policy", "default-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// openPhoto opens a stored photo and tells its type by its magic bytes; nil
// when the name is not a SHA-256, the file is missing or not a regular file,
// or it is not a picture.
func openPhoto(dataDir, sha string) (*os.File, os.FileInfo, string) {
	path := PhotoPath(dataDir, sha)
	if path == "" || dataDir == "" {
		return nil, nil, ""
	}
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return nil, nil, "" // not even opened: a FIFO would block the open
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, ""
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, ""
	}
	head := make([]byte, 12)
	n, _ := io.ReadFull(f, head)
	ct := safetybot.PhotoType(head[:n])
	if _, err := f.Seek(0, io.SeekStart); err != nil || ct == "" {
		f.Close()
		return nil, nil, ""
	}
	return f, fi, ct
}

// PhotoFilter selects the hazards whose photos are exported.
type PhotoFilter struct {
	HazardID  int64    // one hazard; 0: by township
	Townships []string // empty with HazardID 0: every township
	Location  *time.Location
}

// PhotoIndexLine is one photo of the archive's index sheet.
type PhotoIndexLine struct {
	Township    string `json:"township"`
	Enterprise  string `json:"enterprise"`
	CreditCode  string `json:"credit_code"`
	HazardID    int64  `json:"hazard_id"`
	Grade       string `json:"grade"`
	Status      string `json:"status"`
	Description string `json:"description"`
	Stage       string `json:"stage"` // 登记, or the status an event moved the hazard to
	On          string `json:"on"`    // YYYY-MM-DD
	File        string `json:"file"`  // path inside the archive, "" when not included
	SHA256      string `json:"sha256"`
	Note        string `json:"note,omitempty"` // why a photo is missing
}

// PhotoArchive says what was written.
type PhotoArchive struct {
	Hazards int              `json:"hazards"`
	Photos  int              `json:"photos"`
	Missing int              `json:"missing"`
	Index   []PhotoIndexLine `json:"index"`
}

// Photos writes a zip of the photos of the selected hazards — their own
// photos and those of every step of their history — in folders
// 镇街/企业名/隐患编号-状态/, with index.xlsx listing every photo.
func Photos(ctx context.Context, s *store.Store, dataDir string, f PhotoFilter, w io.Writer) (*PhotoArchive, error) {
	loc := f.Location
	if loc == nil {
		loc = shanghai()
	}
	var (
		hazards []store.ReportHazard
		ents    []store.ReportEnterprise
		events  []store.ReportHazardEvent
		types   map[string]string
	)
	err := s.ReportSnapshot(ctx, func(ctx context.Context) error {
		var err error
		if f.HazardID != 0 {
			h, err := s.ReportHazard(ctx, f.HazardID)
			if store.IsNotFound(err) {
				return invalid("没有编号为 %d 的隐患", f.HazardID)
			} else if err != nil {
				return err
			}
			hazards = []store.ReportHazard{h}
		} else if hazards, err = s.ReportHazards(ctx); err != nil {
			return err
		}
		if ents, err = s.ReportEnterprises(ctx); err != nil {
			return err
		}
		byID := make(map[int64]store.ReportEnterprise, len(ents))
		known := map[string]bool{}
		for _, e := range ents {
			byID[e.ID] = e
			known[e.Township] = true
		}
		for _, t := range f.Townships {
			if !known[t] {
				return invalid("没有名为“%s”的镇街", t)
			}
		}
		kept := hazards[:0]
		for _, h := range hazards {
			if e, ok := byID[h.EnterpriseID]; ok && (len(f.Townships) == 0 || slices.Contains(f.Townships, e.Township)) {
				kept = append(kept, h)
			}
		}
		hazards = kept
		ids := make([]int64, len(hazards))
		for i, h := range hazards {
			ids[i] = h.ID
		}
		if len(ids) > 0 {
			if events, err = s.ReportHazardEvents(ctx, ids...); err != nil {
				return err
			}
		}
		var shas []string
		for _, h := range hazards {
			shas = append(shas, parsePhotos(h.Photos)...)
		}
		for _, ev := range events {
			shas = append(shas, parsePhotos(ev.Photos)...)
		}
		shas = slices.DeleteFunc(shas, func(s string) bool { return !ValidPhotoSHA(s) })
		types, err = s.ReportPhotoTypes(ctx, shas)
		return err
	})
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]store.ReportEnterprise, len(ents))
	for _, e := range ents {
		byID[e.ID] = e
	}
	slices.SortStableFunc(hazards, func(a, b store.ReportHazard) int {
		ea, eb := byID[a.EnterpriseID], byID[b.EnterpriseID]
		if c := cmpStrings(ea.Township, eb.Township); c != 0 {
			return c
		}
		if c := cmpStrings(ea.Name, eb.Name); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	evByHazard := map[int64][]store.ReportHazardEvent{}
	for _, ev := range events {
		evByHazard[ev.HazardID] = append(evByHazard[ev.HazardID], ev)
	}

	// Folder names: an enterprise's name, with its credit code when two
	// enterprises of a township share a name.
	names := map[[2]string]map[int64]bool{}
	for _, h := range hazards {
		e := byID[h.EnterpriseID]
		k := [2]string{e.Township, e.Name}
		if names[k] == nil {
			names[k] = map[int64]bool{}
		}
		names[k][e.ID] = true
	}
	folder := func(e store.ReportEnterprise) string {
		name := e.Name
		if len(names[[2]string{e.Township, e.Name}]) > 1 {
			name += "-" + e.CreditCode
		}
		return safeName(e.Township) + "/" + safeName(name)
	}

	zw := zip.NewWriter(w)
	arc := &PhotoArchive{Index: []PhotoIndexLine{}}
	for _, h := range hazards {
		e := byID[h.EnterpriseID]
		dir := folder(e) + "/" + safeName(fmt.Sprintf("%d-%s", h.ID, h.Status))
		type shot struct{ sha, stage, on string }
		var shots []shot
		for _, sha := range parsePhotos(h.Photos) {
			shots = append(shots, shot{sha, "登记", h.FoundAt.In(loc).Format("2006-01-02")})
		}
		for _, ev := range evByHazard[h.ID] {
			for _, sha := range parsePhotos(ev.Photos) {
				shots = append(shots, shot{sha, ev.ToStatus, ev.At.In(loc).Format("2006-01-02")})
			}
		}
		if len(shots) == 0 {
			continue
		}
		arc.Hazards++
		seen := map[string]bool{}
		n := 0
		for _, sh := range shots {
			line := PhotoIndexLine{Township: e.Township, Enterprise: e.Name, CreditCode: e.CreditCode, HazardID: h.ID, Grade: h.Grade,
				Status: h.Status, Description: h.Description, Stage: sh.stage, On: sh.on, SHA256: sh.sha}
			if seen[sh.sha] {
				continue // the same photo sent twice for one hazard is kept once
			}
			seen[sh.sha] = true
			path := PhotoPath(dataDir, sh.sha)
			if path == "" {
				line.Note = "照片编号无效"
				arc.Missing++
				arc.Index = append(arc.Index, line)
				continue
			}
			file, err := os.Open(path)
			if err != nil {
				line.Note = "照片文件缺失"
				arc.Missing++
				arc.Index = append(arc.Index, line)
				continue
			}
			ext := photoExt(types[sh.sha], file)
			n++
			line.File = fmt.Sprintf("%s/%02d-%s-%s%s", dir, n, sh.on, safeName(sh.stage), ext)
			fw, err := zw.CreateHeader(&zip.FileHeader{Name: line.File, Method: zip.Store, Modified: time.Now()})
			if err == nil {
				_, err = io.Copy(fw, file)
			}
			file.Close()
			if err != nil {
				return nil, fmt.Errorf("write %s: %w", line.File, err)
			}
			arc.Photos++
			arc.Index = append(arc.Index, line)
		}
	}
	var idx bytes.Buffer
	if err := WriteXLSX(&idx, []Table{arc.IndexTable()}); err != nil {
		return nil, err
	}
	iw, err := zw.CreateHeader(&zip.FileHeader{Name: "index.xlsx", Method: zip.Deflate, Modified: time.Now()})
	if err != nil {
		return nil, err
	}
	if _, err := iw.Write(idx.Bytes()); err != nil {
		return nil, err
	}
	return arc, zw.Close()
}

// IndexTable is the index sheet of a photo archive.
func (a *PhotoArchive) IndexTable() Table {
	t := Table{Name: "照片索引", Headers: []string{"镇街", "企业名称", "统一社会信用代码", "隐患编号", "等级", "状态", "隐患描述", "阶段", "日期", "文件", "SHA-256", "说明"}}
	for _, l := range a.Index {
		t.Rows = append(t.Rows, []Cell{Text(l.Township), Text(l.Enterprise), Text(l.CreditCode), Int(int(l.HazardID)), Text(l.Grade), Text(l.Status),
			Text(l.Description), Text(l.Stage), Date(parseDay(l.On)), Text(l.File), Text(l.SHA256), Text(l.Note)})
	}
	return t
}

// photoExt picks the file extension from the recorded type, else the file's first bytes.
func photoExt(contentType string, f io.ReadSeeker) string {
	if contentType == "" {
		head := make([]byte, 12)
		n, _ := io.ReadFull(f, head)
		f.Seek(0, io.SeekStart)
		contentType = safetybot.PhotoType(head[:n])
	}
	switch contentType {
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/webp":
		return ".webp"
	}
	return ".bin"
}

// safeName makes a folder or file name out of user text: no path separators,
// no characters Windows refuses, no leading dots, at most 80 characters.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r < 0x20 || r == 0x7f || unicode.IsControl(r):
			return -1
		case strings.ContainsRune(`/\:*?"<>|`, r):
			return '_'
		}
		return r
	}, s)
	s = strings.TrimLeft(strings.TrimSpace(s), ".")
	s = strings.TrimRight(s, ". ")
	for utf8.RuneCountInString(s) > 80 {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	if s == "" {
		s = "_"
	}
	return s
}
