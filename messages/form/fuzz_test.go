package form_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"safetybot"
	"safetybot/messages"
	"safetybot/messages/form"
)

// FuzzStep feeds random conversations to a composed form. Each line of the input
// is one message: "📷x" a photo, "📍" a location, "🔘a,b" a card click, else text.
// Nothing may panic, Output.Text is never empty nor over MaxTextBytes, and the
// state always survives a JSON round trip.
func FuzzStep(f *testing.F) {
	for _, seed := range []string{
		"1\n否\n否\n后门上锁\n1\n📷a\n完成\n否\n7天",
		"📷early\n1\n上一步\n上一步\n跳过\n取消\n确认\n继续",
		"2\n是\n🔘no\n堵了\n🔘major\n📷x\n📷x\n好了\n是\n跳过\n修改 1\n3",
		"帮助\n继续\n📍\n１\n是\n不适用\n提交\n修改 99\n下一页\n上一页",
		"\n\n　\n修改\n🔘\n🔘确认\n📷\n不用\n取消\n随便\n确认\n提交",
	} {
		f.Add(seed, uint8(0))
		f.Add(seed, uint8(5))
	}
	r := MustShipped(f)
	combos := []form.Context{
		{Category: safetybot.CategoryNineSmall, SmallType: "小餐馆", Role: safetybot.ContactPrincipal},
		{Category: safetybot.CategoryNineSmall, SmallType: "小网吧", KeyUnit: true, Role: safetybot.ContactSafetyOfficer},
		{Category: safetybot.CategoryFiveSmall, SmallType: "小电镀", KeyUnit: true, Role: safetybot.ContactPrincipal},
		{Category: safetybot.CategoryGeneral, Role: ""},
	}
	f.Fuzz(func(t *testing.T, conversation string, pick uint8) {
		ctx := combos[int(pick)%len(combos)]
		ctx.Now = now
		fm, err := r.For(ctx.Category, ctx.SmallType, ctx.KeyUnit)
		if err != nil {
			t.Fatal(err)
		}
		st, out := fm.Start(ctx)
		checkOutput(t, "start", out)
		lines := strings.Split(conversation, "\n")
		// Drive to the review now and then so the later phases get fuzzed too.
		if pick&1 == 1 {
			c := &convo{t: t, f: fm, st: st, out: out}
			c.passToReview()
			st = c.st
		}
		for i, line := range lines {
			if i > 200 {
				break
			}
			in := form.Input{Now: now.Add(timeStep(i))}
			switch {
			case strings.HasPrefix(line, "📷"):
				in.PhotoSHA256 = strings.TrimPrefix(line, "📷")
				if in.PhotoSHA256 == "" {
					in.PhotoSHA256 = "p"
				}
			case strings.HasPrefix(line, "📍"):
				in.Location = &messages.Location{Lat: 31, Lng: 120, Label: strings.TrimPrefix(line, "📍")}
			case strings.HasPrefix(line, "🔘"):
				in.OptionIDs = strings.Split(strings.TrimPrefix(line, "🔘"), ",")
			default:
				in.Text = line
			}
			st, out = fm.Step(st, in)
			checkOutput(t, line, out)
			b, err := json.Marshal(st)
			if err != nil {
				t.Fatal(err)
			}
			var back form.State
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			checkOutput(t, "current", fm.Current(back))
			_ = fm.Summary(back)
			_ = fm.Items(back)
			_ = fm.Hazards(back)
		}
	})
}

func timeStep(i int) time.Duration { return time.Duration(i) * time.Minute }
