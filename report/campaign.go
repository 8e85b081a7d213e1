package report

import (
	"archive/zip"
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"safetybot"
	"safetybot/store"
)

// CampaignOptions select the campaign summary.
type CampaignOptions struct {
	Options
	// DataDir is where photos live (<DataDir>/photos/…); empty: no photos.
	DataDir string
	// MaxCases caps the cases of major hazards rectified (0: 30).
	MaxCases int
	// Office signs the summary (empty: 市安委办).
	Office string
}

// CampaignReport is the campaign summary due 15 September (S12): the figures,
// the township table, the rectification of larger hazards, cases of major
// hazards rectified with their photos, and the closures — in the order the
// plan asks for them.
type CampaignReport struct {
	Title    string         `json:"title"`
	Office   string         `json:"office"`
	Summary  *SummaryReport `json:"summary"`
	Hazards  *HazardsReport `json:"hazards"`
	Cases    []Case         `json:"cases"`
	MoreCase int            `json:"more_cases"` // rectified major hazards beyond MaxCases
	Open     []HazardLine   `json:"open_major"` // major hazards still under supervision
	dataDir  string
	loc      *time.Location
}

// Case is one major hazard rectified, with its history and photos.
type Case struct {
	Hazard HazardLine  `json:"hazard"`
	Steps  []CaseStep  `json:"steps"`
	Photos []CasePhoto `json:"photos"`
}

// CaseStep is one step of a case's history.
type CaseStep struct {
	On     string `json:"on"`
	Status string `json:"status"`
	Actor  string `json:"actor"`
	Note   string `json:"note,omitempty"`
}

// CasePhoto is a photo of a case.
type CasePhoto struct {
	SHA256 string `json:"sha256"`
	Stage  string `json:"stage"`
	On     string `json:"on"`
	Type   string `json:"content_type,omitempty"`
}

// Name is how the photo is named in the text: stage, date and the start of its SHA-256.
func (p CasePhoto) Name() string {
	return fmt.Sprintf("%s %s（照片 %s）", p.Stage, p.On, p.SHA256[:min(12, len(p.SHA256))])
}

// Campaign computes the campaign summary from one consistent snapshot.
func Campaign(ctx context.Context, s *store.Store, opt CampaignOptions) (*CampaignReport, error) {
	if opt.MaxCases == 0 {
		opt.MaxCases = 30
	}
	var events []store.ReportHazardEvent
	var types map[string]string
	sn, err := load(ctx, s, opt.Options, false, func(ctx context.Context, hazards []store.ReportHazard) error {
		var ids []int64
		var shas []string
		for _, h := range hazards {
			if h.Grade == safetybot.GradeMajor {
				ids = append(ids, h.ID)
				shas = append(shas, parsePhotos(h.Photos)...)
			}
		}
		if len(ids) == 0 {
			return nil
		}
		var err error
		if events, err = s.ReportHazardEvents(ctx, ids...); err != nil {
			return err
		}
		for _, ev := range events {
			shas = append(shas, parsePhotos(ev.Photos)...)
		}
		var valid []string
		for _, sha := range shas {
			if ValidPhotoSHA(sha) {
				valid = append(valid, sha)
			}
		}
		types, err = s.ReportPhotoTypes(ctx, valid)
		return err
	})
	if err != nil {
		return nil, err
	}
	r := &CampaignReport{Office: firstNonEmpty(opt.Office, "市安委办"), Summary: sn.summary(), Hazards: sn.hazardsReport(nil),
		Cases: []Case{}, Open: []HazardLine{}, dataDir: opt.DataDir, loc: sn.loc}
	r.Title = firstNonEmpty(sn.period.Campaign, "安全生产大检查") + "工作总结"
	byHazard := map[int64][]store.ReportHazardEvent{}
	for _, ev := range events {
		byHazard[ev.HazardID] = append(byHazard[ev.HazardID], ev)
	}
	for _, h := range sn.hazards {
		if h.Grade != safetybot.GradeMajor {
			continue
		}
		if h.Open {
			r.Open = append(r.Open, h)
			continue
		}
		if !h.Rectified {
			continue
		}
		if len(r.Cases) >= opt.MaxCases {
			r.MoreCase++
			continue
		}
		c := Case{Hazard: h, Steps: []CaseStep{{On: h.FoundOn, Status: "发现登记", Actor: sn.rawHazards[h.ID].FoundBy}}, Photos: []CasePhoto{}}
		seen := map[string]bool{}
		addPhotos := func(list []string, stage, on string) {
			for _, sha := range list {
				if ValidPhotoSHA(sha) && !seen[sha] {
					seen[sha] = true
					c.Photos = append(c.Photos, CasePhoto{SHA256: sha, Stage: stage, On: on, Type: types[sha]})
				}
			}
		}
		addPhotos(h.Photos, "登记", h.FoundOn)
		for _, ev := range byHazard[h.ID] {
			on := ev.At.In(sn.loc).Format("2006-01-02")
			c.Steps = append(c.Steps, CaseStep{On: on, Status: ev.ToStatus, Actor: ev.Actor, Note: ev.Note})
			addPhotos(parsePhotos(ev.Photos), ev.ToStatus, on)
		}
		r.Cases = append(r.Cases, c)
	}
	return r, nil
}

// docBlock is one block of the summary document, rendered to HTML or DOCX.
type docBlock struct {
	Kind   string // h1, h2, h3, p, meta, table, photos
	Text   string
	Table  *Table
	Photos []CasePhoto
}

func pct(f float64) string { return Percent(f).String() }

// blocks lays the summary out in the plan's order.
func (r *CampaignReport) blocks() []docBlock {
	s := r.Summary
	c := s.City
	h := c.Hazards
	var b []docBlock
	add := func(kind, format string, args ...any) {
		b = append(b, docBlock{Kind: kind, Text: fmt.Sprintf(format, args...)})
	}
	add("h1", "%s", r.Title)
	add("meta", "%s · %s", r.Office, s.Period.Label())

	add("h2", "一、总体情况")
	add("p", "纳入大检查范围的企业（场所）%d 家，其中重点监管单位 %d 家。", c.Enterprises, c.KeyUnits)
	add("p", "领导带队检查：带队领导 %d 人，本月（%s）带队检查 %d 次，达到每月 %d 次要求的 %d 人。",
		c.Leaders, s.Period.Month, c.LedThisMonth, s.Period.LedTarget, c.LeadersOnTarget)
	add("p", "公开信发动：已签收公开信的企业 %d 家，签收率 %s。", c.LetterSigned, pct(c.LetterRate))
	add("p", "企业自查自纠：活动期间已提交自查 %d 家，自查率 %s；经主要负责人签字 %d 家（%s）。本月已提交 %d 家（%s），已签字 %d 家（%s）。",
		c.CampaignSubmitted, pct(c.CampaignSubmittedRate), c.CampaignSigned, pct(c.CampaignSignedRate),
		c.MonthSubmitted, pct(c.MonthSubmittedRate), c.MonthSigned, pct(c.MonthSignedRate))
	add("p", "执法检查：现场检查 %d 次，覆盖企业 %d 家，检查覆盖率 %s；重点监管单位已检查 %d 家，覆盖率 %s；近两年未检查的企业 %d 家。",
		c.Inspections, c.Inspected, pct(c.InspectedRate), c.KeyInspected, pct(c.KeyInspectedRate), c.NotInspected2y)
	add("p", "隐患排查治理：排查隐患 %d 项（一般 %d 项、较大 %d 项、重大 %d 项），已整改 %d 项，整改率 %s；按期整改率 %s；逾期未整改 %d 项。",
		h.Found, h.General, h.Larger, h.Major, h.Rectified, pct(h.Rate), pct(h.OnTimeRate), h.Overdue)
	add("p", "依法处置：责令停产整改企业 %d 家，关闭取缔企业 %d 家。", c.Suspended, c.ShutDown)

	add("h2", "二、各镇（板块）情况")
	tt := Table{Name: "各镇（板块）情况", Headers: []string{"镇街", "企业数", "签收率", "自查率", "隐患数", "已整改", "整改率", "重大隐患", "重大已整改", "停产整改", "关闭取缔", "检查覆盖率"}}
	for _, l := range append(append([]TownshipSummary{}, s.Townships...), s.City) {
		tt.Rows = append(tt.Rows, []Cell{Text(l.Township), Int(l.Enterprises), Percent(l.LetterRate), Percent(l.CampaignSubmittedRate),
			Int(l.Hazards.Found), Int(l.Hazards.Rectified), Percent(l.Hazards.Rate), Int(l.Hazards.Major), Int(l.Hazards.MajorRectified),
			Int(l.Suspended), Int(l.ShutDown), Percent(l.InspectedRate)})
	}
	b = append(b, docBlock{Kind: "table", Table: &tt})

	add("h2", "三、较大及以上隐患整改情况")
	for _, g := range []string{"较大", safetybot.GradeMajor} {
		gc, _ := r.Hazards.Row(CityLabel, g)
		add("p", "%s隐患：发现 %d 项，已整改 %d 项，整改率 %s，按期整改率 %s，逾期未整改 %d 项。", g, gc.Found, gc.Rectified, pct(gc.Rate), pct(gc.OnTimeRate), gc.Overdue)
	}
	if len(r.Open) > 0 {
		add("p", "尚在挂牌督办的重大隐患 %d 项（其中未明确跟踪责任人 %d 项）：", h.MajorOpen, h.MajorNoTracker)
		ot := Table{Name: "督办中的重大隐患", Headers: []string{"隐患编号", "镇街", "企业名称", "隐患描述", "状态", "整改期限", "跟踪人"}}
		for _, o := range r.Open {
			ot.Rows = append(ot.Rows, []Cell{Int(int(o.ID)), Text(o.Township), Text(o.Enterprise), Text(o.Description), Text(o.Status),
				Date(parseDay(o.Deadline)), Text(firstNonEmpty(o.Tracker, "未明确"))})
		}
		b = append(b, docBlock{Kind: "table", Table: &ot})
	} else {
		add("p", "重大隐患已全部整改，无挂牌督办中的重大隐患。")
	}

	add("h2", "四、重大隐患整改案例")
	if len(r.Cases) == 0 {
		add("p", "统计期内暂无整改完成的重大隐患。")
	}
	for i, cs := range r.Cases {
		hz := cs.Hazard
		add("h3", "案例%d：%s（%s）", i+1, hz.Enterprise, hz.Township)
		add("p", "隐患情况：%s（隐患编号 %d，%s发现，来源：%s）。", hz.Description, hz.ID, hz.FoundOn, firstNonEmpty(hz.Source, "—"))
		if hz.Measures != "" {
			add("p", "整改措施：%s", hz.Measures)
		}
		dl := "未定"
		if hz.Deadline != "" {
			dl = hz.Deadline
		}
		onTime := "按期"
		if hz.OnTime != nil && !*hz.OnTime {
			onTime = "逾期"
		}
		add("p", "整改期限 %s，%s完成整改（%s），现状态：%s。", dl, hz.ClosedOn, onTime, hz.Status)
		var steps []string
		for _, st := range cs.Steps {
			x := st.On + " " + st.Status
			if st.Note != "" {
				x += "（" + st.Note + "）"
			}
			steps = append(steps, x)
		}
		add("p", "整改过程：%s。", strings.Join(steps, "；"))
		if len(cs.Photos) > 0 {
			b = append(b, docBlock{Kind: "photos", Photos: cs.Photos})
		}
	}
	if r.MoreCase > 0 {
		add("p", "另有 %d 项重大隐患已整改，详见隐患台账。", r.MoreCase)
	}

	add("h2", "五、无法整改企业关闭情况")
	if len(s.Closures) == 0 {
		add("p", "统计期内无责令停产整改或关闭取缔的企业。")
	} else {
		add("p", "对无法整改到位的企业依法处置：责令停产整改 %d 家，关闭取缔 %d 家。", c.Suspended, c.ShutDown)
		ct := Table{Name: "关闭取缔", Headers: []string{"镇街", "企业名称", "处置", "日期", "隐患描述", "隐患现状态"}}
		for _, kind := range []string{ClosureShutDown, ClosureSuspended} {
			for _, cl := range s.Closures {
				if cl.Kind == kind {
					ct.Rows = append(ct.Rows, []Cell{Text(cl.Township), Text(cl.Enterprise), Text(cl.Kind), Date(parseDay(cl.On)), Text(cl.Description), Text(cl.Status)})
				}
			}
		}
		b = append(b, docBlock{Kind: "table", Table: &ct})
	}
	return b
}

// Write writes the summary as "html" or "docx".
func (r *CampaignReport) Write(w io.Writer, format string) error {
	switch format {
	case "html":
		return r.WriteHTML(w)
	case "docx":
		return r.WriteDOCX(w)
	}
	return fmt.Errorf("unknown campaign summary format %q (want html or docx)", format)
}

// maxEmbeddedPhoto caps a photo embedded in the HTML summary.
const maxEmbeddedPhoto = 4 << 20

var campaignHTML = template.Must(template.New("campaign").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:"FangSong","STFangsong","SimSun","Songti SC",serif;max-width:52em;margin:0 auto;padding:1.5em;line-height:1.8;color:#111;font-size:16px}
h1{text-align:center;font-size:1.6em;font-family:"SimHei","Heiti SC",sans-serif}
h2{font-size:1.2em;font-family:"SimHei","Heiti SC",sans-serif;margin-top:1.6em}
h3{font-size:1.05em;margin-top:1.2em}
.meta{text-align:center;color:#555}
p{text-indent:2em;margin:.4em 0}
table{border-collapse:collapse;width:100%;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #888;padding:.25em .4em;text-align:center}
th{background:#eef}
figure{display:inline-block;margin:.4em;text-align:center;font-size:.8em;color:#444;max-width:30%}
figure img{max-width:100%;max-height:14em;border:1px solid #ccc}
@media print{body{max-width:none}}
</style></head><body>
{{range .Blocks}}{{if eq .Kind "h1"}}<h1>{{.Text}}</h1>
{{else if eq .Kind "meta"}}<p class="meta">{{.Text}}</p>
{{else if eq .Kind "h2"}}<h2>{{.Text}}</h2>
{{else if eq .Kind "h3"}}<h3>{{.Text}}</h3>
{{else if eq .Kind "p"}}<p>{{.Text}}</p>
{{else if eq .Kind "table"}}<table><thead><tr>{{range .Table.Headers}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Table.Rows}}<tr>{{range .}}<td>{{.String}}</td>{{end}}</tr>
{{end}}</tbody></table>
{{else if eq .Kind "photos"}}<div class="photos">{{range .Photos}}<figure>{{with call $.Img .}}<img src="{{.}}" alt="">{{end}}<figcaption>{{.Name}}</figcaption></figure>{{end}}</div>
{{end}}{{end}}</body></html>
`))

// WriteHTML writes a self-contained HTML page; photos are embedded.
func (r *CampaignReport) WriteHTML(w io.Writer) error {
	return campaignHTML.Execute(w, map[string]any{"Title": r.Title, "Blocks": r.blocks(), "Img": r.dataURL})
}

// dataURL embeds a photo as a data: URL ("" when it is not available).
func (r *CampaignReport) dataURL(p CasePhoto) template.URL {
	if r.dataDir == "" {
		return ""
	}
	path := PhotoPath(r.dataDir, p.SHA256)
	if path == "" {
		return ""
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Size() > maxEmbeddedPhoto {
		return ""
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	ct := safetybot.PhotoType(data)
	if ct == "" {
		return "" // never embed anything but a picture
	}
	// The content is a sniffed image encoded in base64: safe as a URL.
	return template.URL("data:" + ct + ";base64," + base64.StdEncoding.EncodeToString(data))
}

// WriteDOCX writes a minimal WordprocessingML document; photos are named, not embedded.
func (r *CampaignReport) WriteDOCX(w io.Writer) error {
	zw := zip.NewWriter(w)
	files := []struct{ name, body string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`},
		{"word/document.xml", r.documentXML()},
	}
	for _, f := range files {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: time.Now()})
		if err != nil {
			return err
		}
		if _, err := io.WriteString(fw, f.body); err != nil {
			return err
		}
	}
	return zw.Close()
}

func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// run is one run of text; size in half-points.
func run(text string, bold bool, size int) string {
	rp := `<w:rFonts w:ascii="SimSun" w:hAnsi="SimSun" w:eastAsia="SimSun"/>`
	if bold {
		rp += `<w:b/>`
	}
	if size > 0 {
		rp += `<w:sz w:val="` + strconv.Itoa(size) + `"/><w:szCs w:val="` + strconv.Itoa(size) + `"/>`
	}
	return `<w:r><w:rPr>` + rp + `</w:rPr><w:t xml:space="preserve">` + xmlText(text) + `</w:t></w:r>`
}

func para(text string, bold bool, size int, pPr string) string {
	return `<w:p><w:pPr>` + pPr + `</w:pPr>` + run(text, bold, size) + `</w:p>`
}

func (r *CampaignReport) documentXML() string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>`)
	for _, blk := range r.blocks() {
		switch blk.Kind {
		case "h1":
			b.WriteString(para(blk.Text, true, 36, `<w:jc w:val="center"/><w:spacing w:after="240"/>`))
		case "meta":
			b.WriteString(para(blk.Text, false, 21, `<w:jc w:val="center"/><w:spacing w:after="240"/>`))
		case "h2":
			b.WriteString(para(blk.Text, true, 30, `<w:spacing w:before="240" w:after="120"/>`))
		case "h3":
			b.WriteString(para(blk.Text, true, 28, `<w:spacing w:before="120" w:after="60"/>`))
		case "p":
			b.WriteString(para(blk.Text, false, 28, `<w:ind w:firstLineChars="200" w:firstLine="560"/>`))
		case "photos":
			for _, p := range blk.Photos {
				b.WriteString(para("照片："+p.Name()+"，见照片包（report photos）", false, 21, `<w:ind w:firstLineChars="200" w:firstLine="420"/>`))
			}
		case "table":
			b.WriteString(`<w:tbl><w:tblPr><w:tblW w:w="5000" w:type="pct"/><w:tblBorders>`)
			for _, side := range []string{"top", "left", "bottom", "right", "insideH", "insideV"} {
				b.WriteString(`<w:` + side + ` w:val="single" w:sz="4" w:space="0" w:color="000000"/>`)
			}
			b.WriteString(`</w:tblBorders></w:tblPr><w:tblGrid>`)
			for range blk.Table.Headers {
				b.WriteString(`<w:gridCol/>`)
			}
			b.WriteString(`</w:tblGrid>`)
			row := func(cells []string, bold bool) {
				b.WriteString(`<w:tr>`)
				for _, c := range cells {
					b.WriteString(`<w:tc><w:tcPr><w:tcW w:w="0" w:type="auto"/></w:tcPr>` + para(c, bold, 18, `<w:jc w:val="center"/>`) + `</w:tc>`)
				}
				b.WriteString(`</w:tr>`)
			}
			row(blk.Table.Headers, true)
			for _, rr := range blk.Table.Rows {
				cells := make([]string, len(rr))
				for i, c := range rr {
					cells[i] = c.String()
				}
				row(cells, false)
			}
			b.WriteString(`</w:tbl>`)
			b.WriteString(`<w:p/>`)
		}
	}
	b.WriteString(`<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1304" w:bottom="1440" w:left="1304" w:header="851" w:footer="992" w:gutter="0"/></w:sectPr></w:body></w:document>`)
	return b.String()
}
