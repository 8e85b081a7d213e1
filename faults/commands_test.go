package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"safetybot"
	"safetybot/e2e"
	"safetybot/handlers"
	"safetybot/messages"
	"safetybot/store"
	"safetybot/store/storetest"
)

// errRollback ends the transaction of one tried command, so that every
// command starts from the same seeded state.
var errRollback = errors.New("rollback")

// TestChatCommandsStayInScope tries every command word the router knows (read
// from the router itself), every command with an in-scope and an
// out-of-scope enterprise name after it, every menu key and every card key
// prefix, as every role of a seeded roster (two principals, a safety officer,
// township leader and staff of both townships, department officials of two
// departments, the office, and someone not in the roster), each followed by
// the answer "1" in case the command asked a question. Every answer must stay
// inside the asker's scope — no name, credit code, phone, hazard or
// principal of an enterprise the asker may not see, unless the asker typed
// it — and must be polite Chinese: no internal error, no Go or SQL error
// text, at least one Chinese character in every text.
func TestChatCommandsStayInScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		loc, _ := time.LoadLocation("Asia/Shanghai")
		day := time.Now().In(loc)
		r, err := e2e.SeedFieldRoster(ctx, st, day, "az"+tag())
		if err != nil {
			t.Fatal(err)
		}
		// The seed stores signed submissions without a signing time; real ones have it.
		if _, err := st.DB().ExecContext(ctx, st.DB().Rebind(`UPDATE submissions SET signed_at = created_at WHERE state = ? AND signed_at IS NULL`),
			safetybot.SubmissionSigned); err != nil {
			t.Fatal(err)
		}
		// Names unlike any example in the bot's own texts (企业 青石小吃店 is one).
		if _, err := st.DB().ExecContext(ctx, `UPDATE enterprises SET name = name || '（测）'`); err != nil {
			t.Fatal(err)
		}
		router := handlers.New(handlers.Deps{Store: st, PublicURL: "https://bot.example.cn", Location: loc})

		// What belongs to each enterprise, to recognise it in an answer.
		type ent struct {
			id      int64
			markers []string
		}
		ents := map[string]*ent{}
		var rows []struct {
			ID    int64  `db:"id"`
			Name  string `db:"name"`
			Code  string `db:"credit_code"`
			Phone string `db:"phone"`
		}
		if err := st.DB().SelectContext(ctx, &rows, `SELECT id, name, credit_code, phone FROM enterprises`); err != nil {
			t.Fatal(err)
		}
		byID := map[int64]string{}
		for _, row := range rows {
			ents[row.Name] = &ent{id: row.ID, markers: []string{row.Name, row.Code}}
			if row.Phone != "" {
				ents[row.Name].markers = append(ents[row.Name].markers, row.Phone)
			}
			byID[row.ID] = row.Name
		}
		var hz []struct {
			E    int64  `db:"enterprise_id"`
			Desc string `db:"description"`
		}
		if err := st.DB().SelectContext(ctx, &hz, `SELECT enterprise_id, description FROM hazards`); err != nil {
			t.Fatal(err)
		}
		for _, h := range hz {
			e := ents[byID[h.E]]
			e.markers = append(e.markers, h.Desc)
		}
		principalOf := map[string][]int64{ // principal's name → enterprises
			"王建国": {r.E1, r.E2}, "李秀英": {r.E3}, "张伟": {r.E5}, "刘洋": {r.E6, r.E7},
		}

		all := []int64{r.E1, r.E2, r.E3, r.E4, r.E5, r.E6, r.E7}
		type who struct {
			role, user string
			sees       []int64
		}
		stranger := "stranger-" + tag()
		people := []who{
			{"principal of two", r.Wang, []int64{r.E1, r.E2}},
			{"principal", r.Li, []int64{r.E3}},
			{"principal of an inactive unit", r.Liu, []int64{r.E6, r.E7}},
			{"safety officer", r.Officer, []int64{r.E1}},
			{"township leader 青石镇", r.QsLeader, []int64{r.E1, r.E2, r.E3, r.E4}},
			{"township staff 青石镇", r.QsStaff, []int64{r.E1, r.E2, r.E3, r.E4}},
			{"township leader 白沙镇", r.BsLeader, []int64{r.E5, r.E6, r.E7}},
			{"department 应急管理局", r.Yj, []int64{r.E1, r.E2, r.E3, r.E5, r.E7}},
			{"department staff 应急管理局", r.YjStaff, []int64{r.E1, r.E2, r.E3, r.E5, r.E7}},
			// 住建局 supervises E4 and E6 and tracks hazard H4 of E3.
			{"department 住建局", r.Zj, []int64{r.E3, r.E4, r.E6}},
			{"office", r.Office, all},
			{"not in the roster", stranger, nil},
		}
		scopeOf := map[string][]int64{}
		for _, p := range people {
			scopeOf[strings.ToLower(p.user)] = p.sees
		}
		forbidden := func(user string) []string {
			sees := map[int64]bool{}
			for _, id := range scopeOf[strings.ToLower(user)] {
				sees[id] = true
			}
			var out []string
			for name, e := range ents {
				if !sees[e.id] {
					out = append(out, ents[name].markers...)
				}
			}
			for name, ids := range principalOf {
				visible := false
				for _, id := range ids {
					visible = visible || sees[id]
				}
				if !visible {
					out = append(out, name)
				}
			}
			return out
		}

		// The inputs: every word alone; every command word with a name after
		// it; every menu key; every card key prefix with a few ids.
		type input struct {
			label string
			in    messages.Inbound
		}
		text := func(s string) input {
			return input{s, messages.Inbound{Kind: messages.KindText, Text: s}}
		}
		var inputs []input
		for _, w := range router.Words() {
			inputs = append(inputs, text(w))
		}
		for _, w := range router.Commands() {
			for _, arg := range []string{byID[r.E3], byID[r.E6], "1"} {
				inputs = append(inputs, text(w+" "+arg))
			}
		}
		inputs = append(inputs, text("随便说点什么"))
		for _, k := range router.MenuKeys() {
			inputs = append(inputs, input{"menu " + k, messages.Inbound{Kind: messages.KindEvent, Event: messages.EventClick, EventKey: k}})
		}
		for _, p := range router.CardPrefixes() {
			for _, id := range []int64{r.Letter, r.SpotCheck, r.E3, r.E6, 1, 999999} {
				key := p
				if strings.HasSuffix(p, ":") {
					key += strconv.FormatInt(id, 10)
				}
				inputs = append(inputs, input{"card " + key, messages.Inbound{Kind: messages.KindEvent, Event: messages.EventTemplateCard,
					EventKey: key, ResponseCode: "rc-" + key, TaskID: "task"}})
			}
		}
		if len(router.Words()) < 10 {
			t.Fatalf("the router lists only %d command words: %v", len(router.Words()), router.Words())
		}

		badText := regexp.MustCompile(`(?i)\b(error|err|sql|sqlite|pq|null|nil|panic|undefined|exception|goroutine)\b|%!|<nil>|\{\{|\}\}`)
		tried, answers, refusals := 0, 0, 0
		var seq int64
		for _, p := range people {
			for _, inp := range inputs {
				steps := []messages.Inbound{inp.in, {Kind: messages.KindText, Text: "1"}}
				err := st.InTx(ctx, func(ctx context.Context) error {
					for i, in := range steps {
						seq++
						in.From = p.user
						in.CreateTime = time.Now()
						in.MsgID = strconv.FormatInt(seq, 10)
						label := inp.label
						if i > 0 {
							label += " → 1"
						}
						reply, herr := router.Handle(ctx, in)
						tried++
						if herr != nil {
							if safetybot.ErrorCode(herr) == safetybot.EINTERNAL {
								t.Errorf("%s: %q: internal error: %v", p.role, label, herr)
								return errRollback
							}
							// The user sees the error's message.
							reply = messages.Reply{messages.Text(safetybot.ErrorMessage(herr))}
							refusals++
						}
						if in.Kind == messages.KindText && i == 0 && len(reply) == 0 {
							t.Errorf("%s: %q: no answer", p.role, label)
						}
						for _, o := range reply {
							answers++
							b, err := json.Marshal(o.Body)
							if err != nil {
								t.Fatal(err)
							}
							body := string(b)
							var decoded any
							json.Unmarshal(b, &decoded)
							strs := stringsIn(decoded)
							to := o.To
							if len(to) == 0 {
								to = []string{p.user}
							}
							for _, u := range to {
								for _, m := range forbidden(u) {
									if strings.Contains(body, m) && !(strings.EqualFold(u, p.user) && strings.Contains(in.Text, m)) {
										t.Errorf("LEAK: %s: %q: the answer to %s names %q outside their scope: %s", p.role, label, u, m, short(strings.Join(strs, " | ")))
									}
								}
							}
							if tb, ok := o.Body.(messages.TextBody); ok {
								c := tb.Text.Content
								if !hasHan(c) {
									t.Errorf("%s: %q: answer without Chinese: %q", p.role, label, c)
								}
								if badText.MatchString(c) {
									t.Errorf("%s: %q: answer shows internal text: %q", p.role, label, c)
								}
							}
						}
					}
					return errRollback
				})
				if err != nil && !errors.Is(err, errRollback) {
					t.Errorf("%s: %q: %v", p.role, inp.label, err)
				}
			}
		}
		t.Logf("%d roles × %d inputs (%d words, %d commands with names, %d menu keys, %d card prefixes), each followed by “1”: %d messages handled, %d answers checked, %d refusals",
			len(people), len(inputs), len(router.Words()), len(router.Commands()), len(router.MenuKeys()), len(router.CardPrefixes()), tried, answers, refusals)
	})
}

// stringsIn returns every string value in a decoded JSON value.
func stringsIn(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, stringsIn(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, e := range x {
			out = append(out, stringsIn(e)...)
		}
		return out
	}
	return nil
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

func short(s string) string {
	if r := []rune(s); len(r) > 300 {
		return string(r[:300]) + "…"
	}
	return s
}

var _ = fmt.Sprint
