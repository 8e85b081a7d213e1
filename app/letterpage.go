package app

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"safetybot"
)

var letterPage = template.Must(template.New("letter").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;max-width:40em;margin:0 auto;padding:1em 1.1em 3em;line-height:1.75;color:#222;font-size:17px}
h1{font-size:1.35em;line-height:1.4;text-align:center}
.meta{color:#666;font-size:.85em;text-align:center;margin-bottom:1.5em}
.sha{color:#888;font-size:.72em;word-break:break-all;border-top:1px solid #ddd;margin-top:2em;padding-top:.8em}
p{text-indent:2em;margin:.6em 0} h2,h3{font-size:1.1em;margin:1.2em 0 .4em}
ul,ol{padding-left:1.6em}
</style></head><body>
<h1>{{.Title}}</h1>
<div class="meta">{{.Sender}} · {{.Date}}{{if .Deadline}} · 请于 {{.Deadline}} 前签收{{end}}</div>
{{.Body}}
<div class="sha">文本校验码（SHA-256）：{{.SHA}}<br>签收记录以此校验码对应的文本为准。</div>
</body></html>`))

func (a *App) letterPage(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.Error(w, "没有这封公开信", http.StatusNotFound)
		return
	}
	l, err := a.Store.FindLetter(r.Context(), id)
	if err != nil {
		if safetybot.ErrorCode(err) == safetybot.ENOTFOUND {
			http.Error(w, "没有这封公开信", http.StatusNotFound)
			return
		}
		a.Log.Error("letter page", "letter", id, "err", err)
		http.Error(w, "服务暂时不可用", http.StatusInternalServerError)
		return
	}
	data := map[string]any{"Title": l.Title, "Sender": l.Sender, "SHA": l.SHA256,
		"Date": l.CreatedAt.In(a.Config.Location).Format("2006年1月2日"), "Body": Markdown(l.Body)}
	if l.Deadline != nil {
		data["Deadline"] = l.Deadline.Format("2006年1月2日")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	letterPage.Execute(w, data)
}

// Markdown renders the small Markdown subset letters use — headings, paragraphs,
// lists, bold — to HTML. Everything is escaped first; no raw HTML passes.
func Markdown(src string) template.HTML {
	var b strings.Builder
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	var para []string
	list := ""
	flush := func() {
		if len(para) > 0 {
			b.WriteString("<p>" + inline(strings.Join(para, "")) + "</p>\n")
			para = nil
		}
	}
	closeList := func() {
		if list != "" {
			b.WriteString("</" + list + ">\n")
			list = ""
		}
	}
	for _, line := range lines {
		t := strings.TrimSpace(line)
		switch {
		case t == "":
			flush()
			closeList()
		case strings.HasPrefix(t, "#"):
			flush()
			closeList()
			level := min(len(t)-len(strings.TrimLeft(t, "#")), 3)
			h := strconv.Itoa(max(level, 2))
			b.WriteString("<h" + h + ">" + inline(strings.TrimSpace(strings.TrimLeft(t, "#"))) + "</h" + h + ">\n")
		case strings.HasPrefix(t, "- "), strings.HasPrefix(t, "* "):
			flush()
			if list != "ul" {
				closeList()
				b.WriteString("<ul>\n")
				list = "ul"
			}
			b.WriteString("<li>" + inline(t[2:]) + "</li>\n")
		case orderedItem(t) != "":
			flush()
			if list != "ol" {
				closeList()
				b.WriteString("<ol>\n")
				list = "ol"
			}
			b.WriteString("<li>" + inline(orderedItem(t)) + "</li>\n")
		default:
			closeList()
			para = append(para, t)
		}
	}
	flush()
	closeList()
	return template.HTML(b.String())
}

func orderedItem(t string) string {
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i > 0 && i+1 < len(t) && (t[i] == '.' || t[i] == ')') && t[i+1] == ' ' {
		return t[i+2:]
	}
	return ""
}

// inline escapes text and renders **bold**.
func inline(s string) string {
	s = template.HTMLEscapeString(s)
	for {
		i := strings.Index(s, "**")
		if i < 0 {
			return s
		}
		j := strings.Index(s[i+2:], "**")
		if j < 0 {
			return s
		}
		s = s[:i] + "<strong>" + s[i+2:i+2+j] + "</strong>" + s[i+2+j+2:]
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
