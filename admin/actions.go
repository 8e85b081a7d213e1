package admin

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"safetybot"
	"safetybot/handlers"
	"safetybot/report"
	"safetybot/roster"
	"safetybot/store"
)

// --- roster upload ---------------------------------------------------------

func (s *Server) rosterPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "roster", view{Title: "名册导入", Nav: "roster", Data: map[string]any{"Kind": "enterprises"}})
}

// rosterUpload reads and applies a roster exactly as `safetybot import` does,
// and shows every bad row.
func (s *Server) rosterUpload(w http.ResponseWriter, r *http.Request) {
	kind := r.PostFormValue("kind")
	if kind != "officials" {
		kind = "enterprises"
	}
	data := map[string]any{"Kind": kind}
	v := view{Title: "名册导入", Nav: "roster", Data: data}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		v.Error = "请选择要导入的名册文件（CSV 或 XLSX）。"
		s.render(w, r, http.StatusBadRequest, "roster", v)
		return
	}
	defer file.Close()
	opt := roster.ApplyOptions{SkipInvalid: r.PostFormValue("skip_invalid") != "", DryRun: r.PostFormValue("dry_run") != "",
		DeactivateMissing: kind == "enterprises" && r.PostFormValue("deactivate_missing") != ""}
	rd := &roster.Reader{Location: s.d.Location}
	name := filepath.Base(hdr.Filename)
	data["File"] = name
	var rep *roster.Report
	switch kind {
	case "enterprises":
		res, rerr := rd.ReadEnterprises(file, name)
		if rerr != nil {
			err = rerr
			break
		}
		rep, err = roster.ApplyEnterprises(r.Context(), s.d.Store, res, opt)
	default:
		res, rerr := rd.ReadOfficials(file, name)
		if rerr != nil {
			err = rerr
			break
		}
		rep, err = roster.ApplyOfficials(r.Context(), s.d.Store, res, opt)
	}
	if rep == nil && err != nil {
		if msg := safetybot.ErrorMessage(err); msg != "" {
			v.Error = msg
			s.render(w, r, http.StatusBadRequest, "roster", v)
			return
		}
		s.fail(w, r, err)
		return
	}
	data["Report"] = rep
	var lines []string
	for _, e := range rep.Errors {
		lines = append(lines, e.String())
	}
	data["Errors"] = lines
	status := http.StatusOK
	if err != nil {
		status = http.StatusUnprocessableEntity
		v.Error = firstNonEmpty(safetybot.ErrorMessage(err), "导入失败")
	} else {
		s.changed()
		if rep.DryRun {
			v.Flash = fmt.Sprintf("（试运行，未写入）共 %d 行：%s", rep.Total, rep.Summary())
		} else {
			v.Flash = fmt.Sprintf("已导入，共 %d 行：%s", rep.Total, rep.Summary())
		}
	}
	s.render(w, r, status, "roster", v)
}

// --- open letter -----------------------------------------------------------

type letterForm struct {
	Title, Body, Deadline  string
	Townships, Categories  []string
	AllTownships, AllCats  []string
	Preview                template.HTML
	Enterprises, Principal int
	Ready                  bool // previewed: the send button shows
	Sent                   *handlers.LetterSent
	URL                    string
}

func (s *Server) letterForm(r *http.Request) (*letterForm, error) {
	f := &letterForm{Title: strings.TrimSpace(r.PostFormValue("title")), Body: r.PostFormValue("body"),
		Deadline: strings.TrimSpace(r.PostFormValue("deadline")), Townships: r.PostForm["township"], Categories: r.PostForm["category"],
		AllCats: safetybot.Categories}
	var err error
	f.AllTownships, err = s.d.Store.ListTownships(r.Context())
	return f, err
}

func (s *Server) letterPage(w http.ResponseWriter, r *http.Request) {
	r.PostForm = url.Values{}
	f, err := s.letterForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "letter", view{Title: "发送公开信", Nav: "letter", Data: f})
}

func (s *Server) letterPost(w http.ResponseWriter, r *http.Request) {
	f, err := s.letterForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := view{Title: "发送公开信", Nav: "letter", Data: f}
	in := handlers.LetterInput{Title: f.Title, Body: f.Body, Townships: f.Townships, Categories: f.Categories, Sender: "市安委办（管理页面）"}
	if f.Deadline != "" {
		d, err := time.Parse("2006-01-02", f.Deadline)
		if err != nil {
			v.Error = "签收截止日期应为 2026-07-31 这样的日期。"
			s.render(w, r, http.StatusBadRequest, "letter", v)
			return
		}
		in.Deadline = &d
	}
	for _, t := range f.Townships {
		if !slices.Contains(f.AllTownships, t) {
			v.Error = fmt.Sprintf("没有名为“%s”的镇街。", t)
			s.render(w, r, http.StatusBadRequest, "letter", v)
			return
		}
	}
	if r.PostFormValue("action") == "send" {
		res, err := handlers.SendLetter(r.Context(), s.d.Store, s.d.PublicURL, s.d.Location, in, nil)
		if err != nil {
			if msg := safetybot.ErrorMessage(err); msg != "" {
				v.Error = msg
				s.render(w, r, http.StatusBadRequest, "letter", v)
				return
			}
			s.fail(w, r, err)
			return
		}
		if s.d.WakeSender != nil {
			s.d.WakeSender()
		}
		s.changed()
		f.Sent = &res
		f.URL = strings.TrimRight(s.d.PublicURL, "/") + "/letters/" + fmt.Sprint(res.Letter.ID)
		v.Flash = fmt.Sprintf("公开信已发出：%d 家企业、%d 位主要负责人。", res.Enterprises, res.Principals)
		s.render(w, r, http.StatusOK, "letter", v)
		return
	}
	// Preview: the text as principals will read it and how many get it.
	l := safetybot.Letter{Title: f.Title, Body: f.Body, Sender: in.Sender, Deadline: in.Deadline}
	if err := l.Validate(); err != nil {
		v.Error = safetybot.ErrorMessage(err)
		s.render(w, r, http.StatusBadRequest, "letter", v)
		return
	}
	aud, err := s.d.Store.LetterAudience(r.Context(), safetybot.LetterScope{Townships: f.Townships, Categories: f.Categories})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ents, users := map[int64]bool{}, map[string]bool{}
	for _, a := range aud {
		ents[a.EnterpriseID] = true
		users[strings.ToLower(a.UserID)] = true
	}
	f.Enterprises, f.Principal = len(ents), len(users)
	if s.d.Markdown != nil {
		f.Preview = s.d.Markdown(f.Body)
	} else {
		f.Preview = template.HTML("<pre>" + template.HTMLEscapeString(f.Body) + "</pre>")
	}
	f.Ready = f.Enterprises > 0
	if !f.Ready {
		v.Error = "范围内没有登记了主要负责人的企业，无法发送。"
	}
	s.render(w, r, http.StatusOK, "letter", v)
}

// --- notice ------------------------------------------------------------------

type noticeForm struct {
	Text       string
	Groups     []string
	Ack        bool
	Options    []struct{ Value, Label string }
	Recipients int
	Ready      bool
	Sent       *handlers.NoticeSent
}

func (s *Server) noticeForm(r *http.Request) (*noticeForm, error) {
	f := &noticeForm{Text: strings.TrimSpace(r.PostFormValue("text")), Groups: r.PostForm["group"], Ack: r.PostFormValue("ack") != ""}
	add := func(v, l string) { f.Options = append(f.Options, struct{ Value, Label string }{v, l}) }
	add(store.GroupPrincipals, "全部企业主要负责人")
	add(store.GroupKeyUnits, "重点监管单位主要负责人")
	add(store.GroupOfficials, "全部镇街、部门干部")
	for _, c := range safetybot.Categories {
		add(store.GroupCategory+c, c+"主要负责人")
	}
	ts, err := s.d.Store.ListTownships(r.Context())
	for _, t := range ts {
		add(store.GroupTownship+t, t+"（企业负责人和干部）")
	}
	return f, err
}

func (s *Server) noticePage(w http.ResponseWriter, r *http.Request) {
	r.PostForm = url.Values{}
	f, err := s.noticeForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "notice", view{Title: "发送通知", Nav: "notice", Data: f})
}

func (s *Server) noticePost(w http.ResponseWriter, r *http.Request) {
	f, err := s.noticeForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := view{Title: "发送通知", Nav: "notice", Data: f}
	invalid := func(err error) bool {
		if msg := safetybot.ErrorMessage(err); msg != "" {
			v.Error = msg
			s.render(w, r, http.StatusBadRequest, "notice", v)
			return true
		}
		return false
	}
	if err := s.d.Store.ValidateNotice(r.Context(), f.Text, f.Groups); err != nil {
		if !invalid(err) {
			s.fail(w, r, err)
		}
		return
	}
	if r.PostFormValue("action") == "send" {
		res, err := handlers.SendNotice(r.Context(), s.d.Store, handlers.NoticeInput{Text: f.Text, Groups: f.Groups, Ack: f.Ack, Sender: "市安委办（管理页面）"})
		if err != nil {
			if !invalid(err) {
				s.fail(w, r, err)
			}
			return
		}
		if s.d.WakeSender != nil {
			s.d.WakeSender()
		}
		f.Sent = &res
		v.Flash = fmt.Sprintf("通知已发出：%d 人。", res.Recipients)
		s.render(w, r, http.StatusOK, "notice", v)
		return
	}
	to, err := s.d.Store.NoticeAudience(r.Context(), f.Groups)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f.Recipients = len(to)
	f.Ready = len(to) > 0
	if !f.Ready {
		v.Error = "所选范围内没有登记的人员，无法发送。"
	}
	s.render(w, r, http.StatusOK, "notice", v)
}

// --- downloads -----------------------------------------------------------------

// downloads lists every file the reports page offers.
var downloads = []struct{ File, Label string }{
	{"summary.xlsx", "大检查汇总（Excel：汇总及全部名单）"},
	{"summary.csv", "大检查汇总（CSV）"},
	{"hazards.xlsx", "隐患台账（Excel）"},
	{"hazards.csv", "隐患台账（CSV）"},
	{"letters.xlsx", "最新公开信签收情况（Excel）"},
	{"letters.csv", "最新公开信签收情况（CSV）"},
	{"campaign.docx", "大检查工作总结（Word）"},
	{"campaign.html", "大检查工作总结（网页，含照片）"},
	{"photos.zip", "隐患照片包（ZIP，按镇街/企业/隐患分文件夹）"},
}

func (s *Server) reportsPage(w http.ResponseWriter, r *http.Request) {
	ts, err := s.d.Store.ListTownships(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "reports", view{Title: "报表下载", Nav: "reports", Data: map[string]any{"Files": downloads, "Townships": ts}})
}

// download builds a report into memory first, so a failure is an error page
// rather than half a file.
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	name, ext, _ := strings.Cut(file, ".")
	ok := false
	for _, d := range downloads {
		ok = ok || d.File == file
	}
	if !ok {
		http.Error(w, "没有这个报表", http.StatusNotFound)
		return
	}
	ctx := r.Context()
	opt := s.reportOptions()
	if t := r.URL.Query().Get("t"); t != "" {
		opt.Townships = []string{t}
	}
	var buf bytes.Buffer
	var err error
	switch name {
	case "summary":
		var rep *report.SummaryReport
		if rep, err = report.Summary(ctx, s.d.Store, opt); err == nil {
			err = report.Write(&buf, ext, rep, rep.Tables(true))
		}
	case "hazards":
		var rep *report.HazardsReport
		if rep, err = report.Hazards(ctx, s.d.Store, opt); err == nil {
			err = report.Write(&buf, ext, rep, rep.Tables())
		}
	case "letters":
		var ls []safetybot.Letter
		if ls, err = s.d.Store.ListLetters(ctx); err == nil {
			if len(ls) == 0 {
				err = safetybot.Errorf(safetybot.ENOTFOUND, "还没有发送过公开信")
			} else {
				var rep *report.LetterReport
				if rep, err = report.Letters(ctx, s.d.Store, ls[0].ID, opt.Townships...); err == nil {
					err = report.Write(&buf, ext, rep, rep.Tables())
				}
			}
		}
	case "campaign":
		var rep *report.CampaignReport
		if rep, err = report.Campaign(ctx, s.d.Store, report.CampaignOptions{Options: opt, DataDir: s.d.DataDir}); err == nil {
			err = rep.Write(&buf, ext)
		}
	case "photos":
		// A photo archive can be large: it streams. Its reads and checks come
		// before the first byte, so a bad request still gets an error page.
		s.setDownloadHeaders(w, name, ext)
		cw := &countingWriter{w: w}
		_, err = report.Photos(ctx, s.d.Store, s.d.DataDir, report.PhotoFilter{Townships: opt.Townships, Location: s.d.Location}, cw)
		if err != nil && cw.n == 0 {
			w.Header().Del("Content-Disposition")
			s.fail(w, r, err)
		} else if err != nil {
			s.d.Logger.Error("photo archive cut short", "err", err)
		}
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setDownloadHeaders(w, name, ext)
	w.Write(buf.Bytes())
}

var downloadTypes = map[string]string{
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"csv":  "text/csv; charset=utf-8",
	"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"html": "text/html; charset=utf-8",
	"zip":  "application/zip",
}

func (s *Server) setDownloadHeaders(w http.ResponseWriter, name, ext string) {
	day := s.d.Clock.Now().In(s.d.Location).Format("20060102")
	w.Header().Set("Content-Type", downloadTypes[ext])
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.%s"`, name, day, ext))
	w.Header().Set("Cache-Control", "no-store")
}

// countingWriter counts what went out, to know whether an error page can still be sent.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
