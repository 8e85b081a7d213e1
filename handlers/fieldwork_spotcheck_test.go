package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"safetybot"
	"safetybot/handlers"
	"safetybot/store"
	"safetybot/store/storetest"
)

// seedKeyUnits registers n key units of 应急管理局 with a signed
// self-inspection, plus units that must never be drawn, and three officials.
func seedKeyUnits(t *testing.T, s *store.Store, n int) {
	t.Helper()
	ctx := context.Background()
	add := func(i int, name string, key bool, dept string, state string, active bool) {
		prefix := fmt.Sprintf("91320581MA1KC%04d", i)
		e := &safetybot.Enterprise{CreditCode: prefix + string(safetybot.CreditCodeCheckChar(prefix)), Name: name,
			Township: []string{"青石镇", "白沙镇"}[i%2], Category: safetybot.CategoryGeneral, KeyUnit: key, Department: dept}
		if err := s.CreateEnterprise(ctx, e); err != nil {
			t.Fatal(err)
		}
		if state != "" {
			if _, err := s.DB().Exec(s.DB().Rebind(`INSERT INTO submissions (enterprise_id, period, form_key, form_version, version, answers, filler, signer, state, created_at)
				VALUES (?, '2026-07', 'general', '1', 1, '{}', 'x', 'x', ?, ?)`), e.ID, state, s.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if !active {
			if _, err := s.DB().Exec(s.DB().Rebind(`UPDATE enterprises SET active = FALSE WHERE id = ?`), e.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := 1; i <= n; i++ {
		add(i, fmt.Sprintf("重点单位%02d", i), true, "应急管理局", safetybot.SubmissionSigned, true)
	}
	add(n+1, "未签字单位", true, "应急管理局", safetybot.SubmissionAwaitingSignature, true)
	add(n+2, "未自查单位", true, "应急管理局", "", true)
	add(n+3, "非重点单位", false, "应急管理局", safetybot.SubmissionSigned, true)
	add(n+4, "住建单位", true, "住建局", safetybot.SubmissionSigned, true)
	add(n+5, "已关闭单位", true, "应急管理局", safetybot.SubmissionSigned, false)
	for _, u := range []string{"yj3", "yj1", "yj2"} {
		if err := s.CreatePerson(ctx, &safetybot.Person{UserID: u, Name: "干部" + u, Role: safetybot.RoleDepartment, Department: "应急管理局"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreatePerson(ctx, &safetybot.Person{UserID: "zj1", Name: "住建干部", Role: safetybot.RoleDepartment, Department: "住建局"}); err != nil {
		t.Fatal(err)
	}
}

func drawn(res handlers.SpotCheckResult) []string {
	var out []string
	for _, a := range res.Assignments {
		out = append(out, a.Enterprise+"→"+a.Official)
	}
	return out
}

func TestSpotCheckIsReproducible(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		seedKeyUnits(t, s, 40)
		in := handlers.SpotCheckInput{Department: "应急管理局", Percent: 25, Seed: 20260801}
		first, err := handlers.RunSpotCheck(ctx, s, in)
		if err != nil {
			t.Fatal(err)
		}
		if first.Population != 40 || len(first.Assignments) != 10 {
			t.Fatalf("population %d, drawn %d; want 40 and 10 (25%%)", first.Population, len(first.Assignments))
		}
		for _, a := range first.Assignments {
			if !strings.HasPrefix(a.Enterprise, "重点单位") {
				t.Errorf("%s was drawn: only active key units of the department with a signed self-inspection may be", a.Enterprise)
			}
		}
		// Round robin over the officials by userid.
		for i, a := range first.Assignments {
			if want := []string{"yj1", "yj2", "yj3"}[i%3]; a.Official != want {
				t.Errorf("assignment %d to %s, want %s", i, a.Official, want)
			}
		}

		again, err := handlers.RunSpotCheck(ctx, s, in)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(drawn(first), drawn(again)) {
			t.Fatalf("same seed, different sample:\n%v\n%v", drawn(first), drawn(again))
		}
		other, err := handlers.RunSpotCheck(ctx, s, handlers.SpotCheckInput{Department: "应急管理局", Percent: 25, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(drawn(first), drawn(other)) {
			t.Fatalf("seeds 20260801 and 7 drew the same sample %v", drawn(first))
		}

		// Stored with its seed; one card per official.
		var seed int64
		if err := s.DB().Get(&seed, s.DB().Rebind(`SELECT seed FROM spot_checks WHERE id = ?`), first.SpotCheck.ID); err != nil || seed != in.Seed {
			t.Fatalf("stored seed %d (%v), want %d", seed, err, in.Seed)
		}
		var n int
		if err := s.DB().Get(&n, s.DB().Rebind(`SELECT COUNT(*) FROM spot_check_assignments WHERE spot_check_id = ?`), first.SpotCheck.ID); err != nil || n != 10 {
			t.Fatalf("%d assignments stored (%v), want 10", n, err)
		}
		var payloads []string
		if err := s.DB().Select(&payloads, s.DB().Rebind(`SELECT payload FROM outbox WHERE batch LIKE ? ORDER BY recipient`), fmt.Sprintf("spot%d_%%", first.SpotCheck.ID)); err != nil {
			t.Fatal(err)
		}
		if len(payloads) != 3 {
			t.Fatalf("%d cards queued, want one per official (3)", len(payloads))
		}
		var card struct {
			TemplateCard struct {
				CardType string `json:"card_type"`
				SubTitle string `json:"sub_title_text"`
			} `json:"template_card"`
		}
		if err := json.Unmarshal([]byte(payloads[0]), &card); err != nil || card.TemplateCard.CardType != "button_interaction" ||
			!strings.Contains(card.TemplateCard.SubTitle, "4 家") {
			t.Fatalf("yj1's card (4 of 10 units): %s (%v)", payloads[0], err)
		}
	})
}

func TestSpotCheckTownshipAndErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		seedKeyUnits(t, s, 10)
		res, err := handlers.RunSpotCheck(ctx, s, handlers.SpotCheckInput{Department: "应急管理局", Township: "青石镇", Percent: 100, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if res.Population != 5 || len(res.Assignments) != 5 {
			t.Fatalf("青石镇 population %d drawn %d, want 5 and 5", res.Population, len(res.Assignments))
		}
		for _, a := range res.Assignments {
			if a.Township != "青石镇" {
				t.Errorf("%s of %s drawn for 青石镇", a.Enterprise, a.Township)
			}
		}
		for _, c := range []handlers.SpotCheckInput{
			{Department: "应急管理局", Percent: 0},
			{Department: "应急管理局", Percent: 101},
			{Department: "无人局", Percent: 10},
			{Department: "应急管理局", Township: "火星镇", Percent: 10},
		} {
			if _, err := handlers.RunSpotCheck(ctx, s, c); safetybot.ErrorCode(err) != safetybot.EINVALID || safetybot.ErrorMessage(err) == "" {
				t.Errorf("%+v: %v, want an invalid-input error with a message", c, err)
			}
		}
	})
}

func TestSampleSpotCheck(t *testing.T) {
	var units []store.SpotCheckUnit
	for i := int64(1); i <= 7; i++ {
		units = append(units, store.SpotCheckUnit{EnterpriseID: i * 11})
	}
	ids := func(us []store.SpotCheckUnit) []int64 {
		var out []int64
		for _, u := range us {
			out = append(out, u.EnterpriseID)
		}
		return out
	}
	a := handlers.SampleSpotCheck(units, 30, 99)
	if len(a) != 3 { // ceil(7 × 30%)
		t.Fatalf("30%% of 7 drew %d, want 3", len(a))
	}
	reversed := slices.Clone(units)
	slices.Reverse(reversed)
	if b := handlers.SampleSpotCheck(reversed, 30, 99); !slices.Equal(ids(a), ids(b)) {
		t.Fatalf("the order of the units changed the sample: %v vs %v", ids(a), ids(b))
	}
	if got := len(handlers.SampleSpotCheck(units, 100, 1)); got != 7 {
		t.Fatalf("100%% drew %d of 7", got)
	}
	if got := len(handlers.SampleSpotCheck(units, 1, 1)); got != 1 {
		t.Fatalf("1%% of 7 drew %d, want 1 (at least one)", got)
	}
}
