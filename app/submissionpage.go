package app

import (
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"safetybot"
	"safetybot/handlers"
	"safetybot/messages"
	"safetybot/messages/form"
	"safetybot/report"
	"safetybot/store"
)

// The written self-inspection report (S7: key units report in writing): one
// printable page per submission version. It opens with the admin token or with
// the signed link the bot's cards carry (?sig=HMAC of the id).
var submissionPage = template.Must(template.New("submission").Funcs(template.FuncMap{
	"photo": func(id int64, sig, sha string) string {
		return "/submissions/" + strconv.FormatInt(id, 10) + "/photos/" + sha + "?sig=" + sig
	},
}).Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Enterprise.Name}} {{.Period}}自查报告</title>
<style>
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;max-width:52em;margin:0 auto;padding:1em 1.1em 3em;line-height:1.6;color:#222;font-size:16px}
h1{font-size:1.35em;text-align:center;margin:.4em 0}
h2{font-size:1.1em;margin:1.4em 0 .5em;border-bottom:1px solid #ccc;padding-bottom:.2em}
.state{text-align:center;font-weight:bold;margin-bottom:1em}
.state.signed{color:#1a7f37}.state.waiting{color:#9a6700}.state.returned{color:#cf222e}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{border:1px solid #bbb;padding:.35em .5em;vertical-align:top;text-align:left}
th{background:#f3f5f8;white-space:nowrap}
.meta th{width:8em}
tr.failed td{background:#fff4f2}
.photos img{height:84px;margin:2px;border:1px solid #ddd}
.sign{margin-top:2em;display:flex;justify-content:space-between;gap:2em}
.sha{color:#888;font-size:.72em;word-break:break-all;border-top:1px solid #ddd;margin-top:2em;padding-top:.8em}
@media print{body{max-width:none;font-size:12px}.photos img{height:64px}a{color:inherit;text-decoration:none}}
</style></head><body>
<h1>{{.Enterprise.Name}}<br>{{.Period}}安全生产自查自纠报告</h1>
<div class="state {{.StateClass}}">{{.Sub.State}}{{if gt .Sub.Version 1}} · 第 {{.Sub.Version}} 版{{end}}</div>
<table class="meta">
<tr><th>统一社会信用代码</th><td>{{.Enterprise.CreditCode}}</td><th>所属镇街</th><td>{{.Enterprise.Township}}</td></tr>
<tr><th>类别</th><td>{{.Enterprise.Category}}{{if .Enterprise.SmallType}}（{{.Enterprise.SmallType}}）{{end}}{{if .Enterprise.KeyUnit}} · 重点监管单位{{end}}</td><th>主管部门</th><td>{{.Enterprise.Department}}</td></tr>
<tr><th>自查表</th><td>{{.Answers.Title}}</td><th>表单版本</th><td>{{.Sub.FormVersion}}</td></tr>
<tr><th>填报人</th><td>{{.Filler}}</td><th>提交时间</th><td>{{.Created}}</td></tr>
<tr><th>签字人</th><td>{{.Signer}}</td><th>签字时间</th><td>{{.Signed}}</td></tr>
<tr><th>检查结论</th><td colspan="3">{{.Outcome}}</td></tr>
{{if .Sub.Comment}}<tr><th>退回意见</th><td colspan="3">{{.Sub.Comment}}（{{.Returner}}）</td></tr>{{end}}
</table>

<h2>检查项目</h2>
<table>
<tr><th>序号</th><th>检查项目</th><th>结果</th><th>照片</th></tr>
{{range .Items}}<tr{{if .Failed}} class="failed"{{end}}><td>{{.N}}</td><td>{{.Text}}{{if .Basis}}<br><small>依据：{{.Basis}}</small>{{end}}</td>
<td>{{.Display}}{{if .Failed}}{{with .Answer.Failure}}<br>⚠ {{.Grade}}隐患：{{.Problem}}{{if .FixedOnSpot}}（已当场整改）{{else if .Deadline}}（限 {{.Deadline}} 前整改）{{end}}{{end}}{{end}}</td>
<td class="photos">{{range .Photos}}<a href="{{photo $.Sub.ID $.Sig .}}"><img src="{{photo $.Sub.ID $.Sig .}}" alt="照片"></a>{{end}}</td></tr>
{{end}}</table>

{{if .Hazards}}<h2>发现的隐患</h2>
<table>
<tr><th>项目</th><th>问题</th><th>等级</th><th>状态</th><th>整改期限</th></tr>
{{range .Hazards}}<tr><td>{{index $.ItemLabels .ItemKey}}</td><td>{{.Description}}</td><td>{{.Grade}}</td><td>{{.Status}}</td><td>{{if .Deadline}}{{.Deadline.Format "2006-01-02"}}{{end}}</td></tr>
{{end}}</table>{{end}}

{{if gt (len .Versions) 1}}<h2>版本记录</h2>
<table><tr><th>版本</th><th>状态</th><th>提交</th><th>意见</th></tr>
{{range .Versions}}<tr><td>{{if eq .ID $.Sub.ID}}<b>第 {{.Version}} 版</b>{{else}}<a href="{{.Link}}">第 {{.Version}} 版</a>{{end}}</td><td>{{.State}}</td><td>{{.Created}}</td><td>{{.Comment}}</td></tr>
{{end}}</table>{{end}}

<div class="sign"><div>检查人：{{.Inspector}}</div><div>主要负责人（签字）：{{.Signer}} {{.Signed}}</div></div>
<div class="sha">内容校验码（SHA-256）：{{.Sub.SHA256}}<br>签字记录以此校验码对应的填报内容为准。</div>
</body></html>`))

type versionLine struct {
	ID                            int64
	Version                       int
	State, Created, Comment, Link string
}

// authorizedSubmission reports whether r may see submission id: the admin
// token, or a valid link signature.
func (a *App) authorizedSubmission(r *http.Request, id int64) (sig string, ok bool) {
	key, err := handlers.SubmissionLinkKey(r.Context(), a.Store)
	if err != nil {
		a.Log.Error("submission link key", "err", err)
		return "", false
	}
	sig = handlers.SubmissionSig(key, id)
	return sig, a.isAdmin(r) || handlers.ValidSubmissionSig(key, id, r.URL.Query().Get("sig"))
}

func (a *App) submissionPage(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.Error(w, "没有这份自查报告", http.StatusNotFound)
		return
	}
	sig, ok := a.authorizedSubmission(r, id)
	if !ok {
		http.Error(w, "链接无效或已失效，请从企业微信卡片打开", http.StatusForbidden)
		return
	}
	ctx := r.Context()
	sub, err := a.Store.FindSubmission(ctx, id)
	if err != nil {
		a.pageErr(w, err, "没有这份自查报告")
		return
	}
	e, err := a.Store.FindEnterprise(ctx, sub.EnterpriseID)
	if err != nil {
		a.pageErr(w, err, "没有这家企业")
		return
	}
	var ans handlers.SubmissionAnswers
	if err := json.Unmarshal([]byte(sub.Answers), &ans); err != nil {
		a.pageErr(w, err, "")
		return
	}
	hazards, err := a.Store.ListHazards(ctx, store.HazardFilter{SubmissionID: sub.ID})
	if err != nil {
		a.pageErr(w, err, "")
		return
	}
	versions, err := a.Store.SubmissionVersions(ctx, sub.EnterpriseID, sub.Period)
	if err != nil {
		a.pageErr(w, err, "")
		return
	}
	key, _ := handlers.SubmissionLinkKey(ctx, a.Store)
	var vl []versionLine
	for _, v := range versions {
		vl = append(vl, versionLine{ID: v.ID, Version: v.Version, State: v.State, Created: a.when(&v.CreatedAt), Comment: v.Comment,
			Link: handlers.SubmissionURL("", key, v.ID)})
	}
	name := func(userid string) string {
		if userid == "" {
			return ""
		}
		if p, err := a.Store.FindPerson(ctx, userid); err == nil {
			return p.Name
		}
		return userid
	}
	major, fixed := 0, 0
	for _, h := range ans.Hazards {
		if h.Grade == safetybot.GradeMajor {
			major++
		}
		if h.FixedOnSpot {
			fixed++
		}
	}
	filler := name(sub.Filler)
	if sub.FillerRole == safetybot.ContactSafetyOfficer {
		filler += "（安全管理员）"
	} else if sub.FillerRole == safetybot.ContactPrincipal {
		filler += "（主要负责人）"
	}
	labels := map[string]string{}
	for _, it := range ans.Items {
		labels[it.Key] = messages.SelfCheckItemLabel(it.N, it.Short)
	}
	inspector := ""
	if i := slices.IndexFunc(ans.Items, func(it form.ItemResult) bool { return it.Key == "inspector" }); i >= 0 {
		inspector = ans.Items[i].Answer.Value
	}
	class := map[string]string{safetybot.SubmissionSigned: "signed", safetybot.SubmissionAwaitingSignature: "waiting",
		safetybot.SubmissionReturned: "returned"}[sub.State]
	data := map[string]any{
		"Sub": sub, "Enterprise": e, "Answers": ans, "Items": ans.Items, "Hazards": hazards, "Sig": sig,
		"Period": messages.PeriodLabel(sub.Period), "StateClass": class, "Versions": vl,
		"Filler": filler, "Signer": name(sub.Signer), "Signed": a.when(sub.SignedAt), "Created": a.when(&sub.CreatedAt),
		"Returner": name(sub.ReturnedBy), "Inspector": inspector, "ItemLabels": labels,
		"Outcome": messages.SelfCheckOutcome(len(ans.Items), len(ans.Hazards), major, fixed),
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-store")
	if err := submissionPage.Execute(w, data); err != nil {
		a.Log.Error("submission page", "submission", id, "err", err)
	}
}

func (a *App) when(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	loc := a.Config.Location
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04")
}

// submissionPhoto serves one photo of a submission to whoever may see the page.
func (a *App) submissionPhoto(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	sha := r.PathValue("sha")
	if err != nil || !report.ValidPhotoSHA(sha) {
		http.NotFound(w, r)
		return
	}
	if _, ok := a.authorizedSubmission(r, id); !ok {
		http.Error(w, "链接无效", http.StatusForbidden)
		return
	}
	photos, err := a.Store.SubmissionPhotos(r.Context(), id)
	if err != nil || !slices.ContainsFunc(photos, func(p store.SubmissionPhoto) bool { return p.SHA256 == sha }) {
		http.NotFound(w, r)
		return
	}
	report.ServePhoto(w, r, a.Config.DataDir, sha, "private, max-age=86400")
}

func (a *App) pageErr(w http.ResponseWriter, err error, notFound string) {
	if safetybot.ErrorCode(err) == safetybot.ENOTFOUND && notFound != "" {
		http.Error(w, notFound, http.StatusNotFound)
		return
	}
	a.Log.Error("submission page", "err", err)
	http.Error(w, "服务暂时不可用", http.StatusInternalServerError)
}

// returnRequest is the body of POST /api/submissions/{id}/return.
type returnRequest struct {
	Comment string `json:"comment"`
	Items   []int  `json:"items,omitempty"` // item numbers as in the report; empty: every item may change
	By      string `json:"by,omitempty"`    // who sends it back (recorded); default "admin-api"
}

// postSubmissionReturn sends a submission back for correction (退回补正).
func (a *App) postSubmissionReturn(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		a.writeErr(w, safetybot.Errorf(safetybot.ENOTFOUND, "no submission %q", r.PathValue("id")))
		return
	}
	var req returnRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeErr(w, err)
		return
	}
	if req.By == "" {
		req.By = "admin-api"
	}
	sub, err := handlers.SendBack(r.Context(), a.Store, a.Config.Location, handlers.ReturnInput{
		SubmissionID: id, By: req.By, Items: req.Items, Comment: req.Comment, Admin: true})
	if err != nil {
		a.writeErr(w, err)
		return
	}
	a.Sender.Wake()
	writeJSON(w, http.StatusOK, map[string]any{"id": sub.ID, "state": sub.State, "version": sub.Version,
		"comment": sub.Comment, "flagged": sub.Flagged})
}
