package report_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"safetybot/report"
	"safetybot/report/reporttest"
	"safetybot/store"
)

func unzip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		out[f.Name] = data
	}
	return out
}

// hazardID finds a hazard's id by its description.
func hazardID(t *testing.T, s *store.Store, desc string) int64 {
	t.Helper()
	var id int64
	if err := s.DB().Get(&id, s.DB().Rebind(`SELECT id FROM hazards WHERE description = ?`), desc); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestPhotos(t *testing.T) {
	fx := reporttest.Small()
	seeded(t, fx, func(t *testing.T, s *store.Store, dir string, _ map[string]int64) {
		ctx := context.Background()
		h1 := hazardID(t, s, "反应釜无泄压装置")
		var buf bytes.Buffer
		arc, err := report.Photos(ctx, s, dir, report.PhotoFilter{Location: reporttest.Location}, &buf)
		if err != nil {
			t.Fatal(err)
		}
		files := unzip(t, buf.Bytes())
		folder := fmt.Sprintf("青石镇/青石甲化工厂/%d-已销号/", h1)
		wantFiles := map[string][]byte{
			folder + "01-2026-07-10-登记.png":  fx.Photos["a"],
			folder + "02-2026-08-04-待复查.png": fx.Photos["b"],
		}
		var names []string
		for n := range files {
			names = append(names, n)
			if strings.Contains(n, "..") || strings.HasPrefix(n, "/") {
				t.Errorf("unsafe name in the archive: %q", n)
			}
		}
		slices.Sort(names)
		if len(files) != 3 || files["index.xlsx"] == nil {
			t.Fatalf("archive holds %v", names)
		}
		for n, data := range wantFiles {
			if !bytes.Equal(files[n], data) {
				t.Errorf("%s: %d bytes, want the photo (%d bytes); archive: %v", n, len(files[n]), len(data), names)
			}
		}
		if arc.Photos != 2 || arc.Missing != 2 || arc.Hazards != 2 {
			t.Errorf("archive = %d photos, %d missing, %d hazards", arc.Photos, arc.Missing, arc.Hazards)
		}
		f, err := excelize.OpenReader(bytes.NewReader(files["index.xlsx"]))
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := f.GetRows("照片索引")
		f.Close()
		if len(rows) != 5 {
			t.Fatalf("index rows = %v", rows)
		}
		byFile := map[string][]string{}
		for _, r := range rows[1:] {
			for len(r) < 12 {
				r = append(r, "")
			}
			byFile[r[9]+"|"+r[11]] = r
		}
		if r := byFile[folder+"01-2026-07-10-登记.png|"]; r == nil || r[0] != "青石镇" || r[1] != "青石甲化工厂" || r[3] != fmt.Sprint(h1) || r[7] != "登记" || r[10] != fx.SHA("a") {
			t.Errorf("index row for photo a: %v (rows %v)", r, rows)
		}
		if r := byFile["|照片文件缺失"]; r == nil || r[10] != fx.SHA("c") || r[1] != "白沙甲饭店" {
			t.Errorf("missing photo not listed: %v", rows)
		}
		if r := byFile["|照片编号无效"]; r == nil {
			t.Errorf("invalid photo name not listed: %v", rows)
		}

		// One hazard.
		buf.Reset()
		if _, err := report.Photos(ctx, s, dir, report.PhotoFilter{HazardID: h1}, &buf); err != nil {
			t.Fatal(err)
		}
		if files := unzip(t, buf.Bytes()); len(files) != 3 || files[folder+"02-2026-08-04-待复查.png"] == nil {
			t.Errorf("--hazard: %v", keys(files))
		}
		// One township: 白沙镇's only photos are missing, so only the index.
		buf.Reset()
		arc, err = report.Photos(ctx, s, dir, report.PhotoFilter{Townships: []string{"白沙镇"}}, &buf)
		if err != nil {
			t.Fatal(err)
		}
		if files := unzip(t, buf.Bytes()); len(files) != 1 || arc.Missing != 2 {
			t.Errorf("--township 白沙镇: %v, %+v", keys(files), arc)
		}
		if _, err := report.Photos(ctx, s, dir, report.PhotoFilter{HazardID: 99999}, io.Discard); err == nil || !strings.Contains(err.Error(), "99999") {
			t.Errorf("unknown hazard: %v", err)
		}
		if _, err := report.Photos(ctx, s, dir, report.PhotoFilter{Townships: []string{"../x"}}, io.Discard); err == nil {
			t.Error("unknown township accepted")
		}
	})
}

func TestPhotoPath(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	if got := report.PhotoPath("/data", sha); got != "/data/photos/ab/"+sha {
		t.Errorf("PhotoPath = %q", got)
	}
	for _, bad := range []string{"", "../../etc/passwd", strings.Repeat("AB", 32), sha + "/", sha[:63], "ab/../" + sha[6:], sha[:62] + "\x00a"} {
		if got := report.PhotoPath("/data", bad); got != "" {
			t.Errorf("PhotoPath(%q) = %q, want refused", bad, got)
		}
	}
}

func TestServePhoto(t *testing.T) {
	dir := t.TempDir()
	put := func(sha string, b []byte) {
		os.MkdirAll(filepath.Join(dir, "photos", sha[:2]), 0o755)
		if err := os.WriteFile(filepath.Join(dir, "photos", sha[:2], sha), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	png := []byte("\x89PNG\r\n\x1a\nrest of the picture")
	webp := []byte("RIFF\x10\x00\x00\x00WEBPVP8 ")
	pngSHA, webpSHA, html, folder := strings.Repeat("a1", 32), strings.Repeat("b2", 32), strings.Repeat("c3", 32), strings.Repeat("d4", 32)
	put(pngSHA, png)
	put(webpSHA, webp)
	put(html, []byte("<html><script>alert(1)</script>"))
	os.MkdirAll(filepath.Join(dir, "photos", folder[:2], folder), 0o755)
	serve := func(dataDir, sha string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		report.ServePhoto(w, httptest.NewRequest("GET", "/p", nil), dataDir, sha, "private, max-age=60")
		return w
	}
	for sha, want := range map[string]struct {
		ct   string
		body []byte
	}{pngSHA: {"image/png", png}, webpSHA: {"image/webp", webp}} {
		w := serve(dir, sha)
		if w.Code != 200 || w.Header().Get("Content-Type") != want.ct || !bytes.Equal(w.Body.Bytes(), want.body) ||
			w.Header().Get("Cache-Control") != "private, max-age=60" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %v %q", want.ct, w.Code, w.Header(), w.Body.Bytes())
		}
	}
	for name, c := range map[string][2]string{
		"not a picture": {dir, html},
		"a folder":      {dir, folder},
		"missing":       {dir, strings.Repeat("e5", 32)},
		"no data dir":   {"", pngSHA},
		"traversal":     {dir, "../../etc/passwd"},
		"uppercase":     {dir, strings.ToUpper(pngSHA)},
	} {
		if w := serve(c[0], c[1]); w.Code != 404 || strings.Contains(w.Body.String(), "alert") || strings.Contains(w.Body.String(), "PNG") {
			t.Errorf("%s: %d %q", name, w.Code, w.Body.String())
		}
	}
}

// docText extracts the text of a WordprocessingML document, one paragraph a line.
func docText(t *testing.T, docx []byte) string {
	t.Helper()
	files := unzip(t, docx)
	for _, part := range []string{"[Content_Types].xml", "_rels/.rels", "word/document.xml"} {
		if files[part] == nil {
			t.Fatalf("docx lacks %s", part)
		}
		if err := xml.Unmarshal(files[part], new(any)); err != nil {
			t.Fatalf("%s is not well-formed XML: %v", part, err)
		}
	}
	var b strings.Builder
	d := xml.NewDecoder(bytes.NewReader(files["word/document.xml"]))
	inText := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			inText = v.Name.Local == "t"
		case xml.EndElement:
			if v.Name.Local == "p" {
				b.WriteString("\n")
			}
			inText = false
		case xml.CharData:
			if inText {
				b.Write(v)
			}
		}
	}
	return b.String()
}

func TestCampaign(t *testing.T) {
	fx := reporttest.Small()
	fx.Enterprises[2].Hazards[0].Description = "<script>alert(1)</script>消防通道堵塞" // 丙's open 重大 hazard, listed as supervised
	seeded(t, fx, func(t *testing.T, s *store.Store, dir string, _ map[string]int64) {
		ctx := context.Background()
		r, err := report.Campaign(ctx, s, report.CampaignOptions{Options: opts(fx), DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if r.Title != "2026年安全生产大检查工作总结" || len(r.Cases) != 2 || len(r.Open) != 1 {
			t.Fatalf("title %q, %d cases, %d open", r.Title, len(r.Cases), len(r.Open))
		}
		c := r.Cases[1] // 青石 sorts after 白沙
		if c.Hazard.Enterprise != "青石甲化工厂" || len(c.Steps) != 4 || len(c.Photos) != 2 || c.Photos[1].Stage != "待复查" {
			t.Errorf("case = %+v", c)
		}

		var doc bytes.Buffer
		if err := r.Write(&doc, "docx"); err != nil {
			t.Fatal(err)
		}
		text := docText(t, doc.Bytes())
		order := []string{"2026年安全生产大检查工作总结", "一、总体情况", "纳入大检查范围的企业（场所）7 家，其中重点监管单位 3 家。",
			"已签收公开信的企业 4 家，签收率 57.1%", "排查隐患 8 项（一般 4 项、较大 1 项、重大 3 项），已整改 3 项，整改率 37.5%",
			"责令停产整改企业 1 家，关闭取缔企业 1 家", "二、各镇（板块）情况", "三、较大及以上隐患整改情况",
			"重大隐患：发现 3 项，已整改 2 项，整改率 66.7%", "四、重大隐患整改案例", "案例1：白沙甲饭店（白沙镇）", "案例2：青石甲化工厂（青石镇）",
			"反应釜无泄压装置", "2026-08-04 待复查", "五、无法整改企业关闭情况", "青石丁作坊", "青石乙超市"}
		at := 0
		for _, w := range order {
			i := strings.Index(text[at:], w)
			if i < 0 {
				t.Fatalf("docx lacks %q after position %d:\n%s", w, at, text)
			}
			at += i + len(w)
		}
		if !strings.Contains(text, "照片：待复查 2026-08-04（照片 "+fx.SHA("b")[:12]+"）") {
			t.Errorf("docx does not name the photo:\n%s", text)
		}

		var page bytes.Buffer
		if err := r.Write(&page, "html"); err != nil {
			t.Fatal(err)
		}
		h := page.String()
		for _, w := range []string{"<h2>四、重大隐患整改案例</h2>", "<h3>案例2：青石甲化工厂（青石镇）</h3>", "data:image/png;base64,", "<td>青石镇</td>", "<td>28.6%</td>"} {
			if !strings.Contains(h, w) {
				t.Errorf("html lacks %q", w)
			}
		}
		if strings.Count(h, "data:image/png;base64,") != 2 {
			t.Errorf("want the two stored photos embedded, got %d", strings.Count(h, "data:image/png;base64,"))
		}
		if strings.Contains(h, "src=\"http") || strings.Contains(h, "<script") {
			t.Error("the summary page loads something from outside or runs script")
		}
		if !strings.Contains(h, "&lt;script&gt;alert(1)&lt;/script&gt;消防通道堵塞") {
			t.Error("user text is not escaped in the page")
		}
		if !strings.Contains(text, "<script>alert(1)</script>消防通道堵塞") {
			t.Error("user text is not kept in the document")
		}
	})
}
