package form_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf8"

	"safetybot"
	"safetybot/messages"
	"safetybot/messages/form"
)

// now is a fixed "today" for every test: 15 July 2025, 10:00 Beijing time.
var now = time.Date(2025, 7, 15, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

// MustShipped returns the embedded registry or stops the test.
func MustShipped(tb testing.TB) *form.Registry {
	tb.Helper()
	r, err := form.Shipped()
	if err != nil {
		tb.Fatalf("Shipped: %v", err)
	}
	return r
}

// MustFor composes a shipped form or stops the test.
func MustFor(tb testing.TB, category, smallType string, keyUnit bool) *form.Form {
	tb.Helper()
	f, err := MustShipped(tb).For(category, smallType, keyUnit)
	if err != nil {
		tb.Fatalf("For(%s, %s, %v): %v", category, smallType, keyUnit, err)
	}
	return f
}

// MustLoad loads definitions from a map of file name → YAML or stops the test.
func MustLoad(tb testing.TB, files map[string]string) *form.Registry {
	tb.Helper()
	r, err := form.Load(mapFS(files))
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return r
}

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

// convo drives one session and checks the output contract on every step.
type convo struct {
	t   testing.TB
	f   *form.Form
	st  form.State
	out form.Output
	log []string
}

func start(t testing.TB, f *form.Form, ctx form.Context) *convo {
	t.Helper()
	if ctx.Now.IsZero() {
		ctx.Now = now
	}
	if ctx.Role == "" {
		ctx.Role = safetybot.ContactPrincipal
	}
	c := &convo{t: t, f: f}
	c.st, c.out = f.Start(ctx)
	c.check("start")
	return c
}

func startNineSmall(t testing.TB, smallType string, role safetybot.ContactRole) *convo {
	t.Helper()
	f := MustFor(t, safetybot.CategoryNineSmall, smallType, false)
	return start(t, f, form.Context{Enterprise: "临江旺美小吃", Category: safetybot.CategoryNineSmall, SmallType: smallType, Role: role})
}

func (c *convo) check(what string) {
	c.t.Helper()
	c.log = append(c.log, fmt.Sprintf("> %s\n%s", what, c.out.Text))
	checkOutput(c.t, what, c.out)
}

// rangeOfOne finds "请回复 1–1" and the like.
var rangeOfOne = regexp.MustCompile(`(^|[^0-9])1–1([^0-9]|$)`)

func checkOutput(t testing.TB, what string, out form.Output) {
	t.Helper()
	switch {
	case strings.TrimSpace(out.Text) == "":
		t.Fatalf("%s: empty Output.Text", what)
	case len(out.Text) > form.MaxTextBytes:
		t.Fatalf("%s: Output.Text is %d bytes > %d", what, len(out.Text), form.MaxTextBytes)
	case !utf8.ValidString(out.Text):
		t.Fatalf("%s: Output.Text is not valid UTF-8", what)
	case out.Error != "" && !strings.HasPrefix(out.Text, out.Error):
		t.Fatalf("%s: Text does not start with Error %q:\n%s", what, out.Error, out.Text)
	case rangeOfOne.MatchString(out.Text):
		t.Fatalf("%s: a range of one choice reads \"1–1\", say \"1\":\n%s", what, out.Text)
	}
}

func (c *convo) send(in form.Input) *convo {
	c.t.Helper()
	if in.Now.IsZero() {
		in.Now = now
	}
	c.st, c.out = c.f.Step(c.st, in)
	what := in.Text
	switch {
	case in.PhotoSHA256 != "":
		what = "📷" + in.PhotoSHA256
	case in.Location != nil:
		what = "📍"
	case len(in.OptionIDs) > 0:
		what = "🔘" + strings.Join(in.OptionIDs, ",")
	}
	c.check(what)
	return c
}

func (c *convo) say(text string) *convo {
	c.t.Helper()
	return c.send(form.Input{Text: text})
}

func (c *convo) photo(sha string) *convo {
	c.t.Helper()
	return c.send(form.Input{PhotoSHA256: sha})
}

func (c *convo) click(ids ...string) *convo {
	c.t.Helper()
	return c.send(form.Input{OptionIDs: ids})
}

// ok fails the test when the last input was rejected.
func (c *convo) ok() *convo {
	c.t.Helper()
	if c.out.Error != "" {
		c.t.Fatalf("unexpected error %q\n%s", c.out.Error, c.transcript())
	}
	return c
}

// at fails the test unless the open step is want.
func (c *convo) at(want string) *convo {
	c.t.Helper()
	if c.out.Step != want || c.st.Phase != form.PhaseAsking && c.st.Phase != form.PhaseRepeat {
		c.t.Fatalf("at step %q (phase %s), want %q\n%s", c.out.Step, c.st.Phase, want, c.transcript())
	}
	return c
}

func (c *convo) phase(want string) *convo {
	c.t.Helper()
	if c.st.Phase != want {
		c.t.Fatalf("phase %s, want %s\n%s", c.st.Phase, want, c.transcript())
	}
	return c
}

func (c *convo) transcript() string {
	tail := c.log
	if len(tail) > 8 {
		tail = tail[len(tail)-8:]
	}
	return strings.Join(tail, "\n")
}

// pass answers the open step with a valid, non-failing answer.
func (c *convo) pass() {
	c.t.Helper()
	step := c.out.Step
	key, sub, _ := strings.Cut(step, "#")
	switch sub {
	case "":
	case form.RepeatProblem:
		c.say("有问题")
		return
	case form.RepeatGrade:
		c.say("1")
		return
	case form.RepeatPhotos:
		c.photo(step + "-p")
		c.say("完成")
		return
	case form.RepeatFixed:
		c.say("是")
		return
	case form.RepeatFixedPhotos:
		c.say("跳过")
		return
	case form.RepeatDeadline:
		c.say("7天")
		return
	}
	q := c.f.Question(key)
	if q == nil {
		c.t.Fatalf("no open question (step %q, phase %s)\n%s", step, c.st.Phase, c.transcript())
	}
	switch q.Type {
	case form.TypeYesNo:
		if q.FailOn == form.Yes {
			c.say("否")
		} else {
			c.say("是")
		}
	case form.TypeSingle, form.TypeMulti:
		c.say("1")
	case form.TypeText:
		c.say("张三")
	case form.TypeNumber:
		c.say("10")
	case form.TypeDate:
		c.say("今天")
	case form.TypeLocation:
		c.send(form.Input{Location: &messages.Location{Lat: 31.3, Lng: 120.6, Label: "厂区大门"}})
	case form.TypePhoto:
		for i := 0; i < max(q.MinPhotos, 1) && c.out.Step == step; i++ {
			c.photo(fmt.Sprintf("%s-%d", key, i))
		}
		if c.out.Step == step {
			c.say("完成")
		}
	}
	c.ok()
}

// passUntil answers with pass until the open step is want.
func (c *convo) passUntil(want string) *convo {
	c.t.Helper()
	for i := 0; c.out.Step != want; i++ {
		if i > 300 || (c.st.Phase != form.PhaseAsking && c.st.Phase != form.PhaseRepeat) {
			c.t.Fatalf("never reached %q\n%s", want, c.transcript())
		}
		c.pass()
	}
	return c
}

// passToReview answers with pass until the review.
func (c *convo) passToReview() *convo {
	c.t.Helper()
	for i := 0; c.st.Phase != form.PhaseReview; i++ {
		if i > 300 {
			c.t.Fatalf("never reached the review\n%s", c.transcript())
		}
		c.pass()
	}
	return c
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

func keysOf(m map[string]form.Answer) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
