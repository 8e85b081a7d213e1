package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"safetybot"
	"safetybot/store"
	"safetybot/store/storetest"
)

// seedSelfInspections registers four enterprises — three in 青石镇 (one signed,
// one waiting for the signature, one without a submission) and one in 白水镇
// whose submission was sent back — plus a July submission that does not
// count for August.
func seedSelfInspections(t *testing.T, s *store.Store) {
	t.Helper()
	ctx := context.Background()
	states := []struct {
		name, township, state string
	}{{"甲餐馆", "青石镇", safetybot.SubmissionSigned}, {"乙旅馆", "青石镇", safetybot.SubmissionAwaitingSignature},
		{"丙网吧", "青石镇", ""}, {"丁商店", "白水镇", safetybot.SubmissionReturned}}
	for i, st := range states {
		first := fmt.Sprintf("91320581MA9%06d", i+1)
		e := safetybot.Enterprise{CreditCode: first + string(safetybot.CreditCodeCheckChar(first)), Name: st.name,
			Township: st.township, Category: safetybot.CategoryNineSmall}
		if err := s.CreateEnterprise(ctx, &e); err != nil {
			t.Fatal(err)
		}
		p := safetybot.Person{UserID: fmt.Sprintf("boss%d", i+1), Name: "负责人" + st.name, Role: safetybot.RolePrincipal}
		if err := s.CreatePerson(ctx, &p); err != nil {
			t.Fatal(err)
		}
		if err := s.SetContact(ctx, e.ID, p.ID, safetybot.ContactPrincipal); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			// A July submission only.
			if _, err := s.CreateSubmission(ctx, store.NewSubmission{EnterpriseID: e.ID, Period: "2026-07", FormKey: "f", FormVersion: "f@1",
				Answers: "{}", Filler: p.UserID, FillerRole: safetybot.ContactPrincipal, Signed: true}); err != nil {
				t.Fatal(err)
			}
		}
		if st.state == "" {
			continue
		}
		sub, err := s.CreateSubmission(ctx, store.NewSubmission{EnterpriseID: e.ID, Period: "2026-08", FormKey: "f", FormVersion: "f@1",
			Answers: "{}", Filler: p.UserID, FillerRole: safetybot.ContactPrincipal, Signed: st.state == safetybot.SubmissionSigned})
		if err != nil {
			t.Fatal(err)
		}
		if st.state == safetybot.SubmissionReturned {
			if _, err := s.ReturnSubmission(ctx, sub.ID, "office", "请补充照片", nil); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestReportInspections(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			c := newCLI(t, storetest.URL(t, dialect))
			c.ok("migrate")
			seedSelfInspections(t, c.store())

			var r selfInspectionReport
			out := c.ok("report", "inspections", "--month", "2026-08", "--format", "json")
			if err := json.Unmarshal([]byte(out.stdout), &r); err != nil {
				t.Fatalf("json: %v\n%s", err, out.stdout)
			}
			if r.Month != "2026-08" || r.Total != 4 || r.Submitted != 2 || r.Signed != 1 || r.Rate != 0.25 || len(r.Townships) != 2 {
				t.Fatalf("totals %+v", r)
			}
			by := map[string]townshipSelfInspection{}
			for _, tw := range r.Townships {
				by[tw.Township] = tw
			}
			if bs := by["白水镇"]; bs.Total != 1 || bs.Signed != 0 || len(bs.NotDone) != 1 || bs.NotDone[0].State != safetybot.SubmissionReturned {
				t.Fatalf("白水镇 %+v", bs)
			}
			qs := by["青石镇"]
			if qs.Total != 3 || qs.Submitted != 2 || qs.Signed != 1 || qs.Rate != 0.3333 {
				t.Fatalf("青石镇 %+v", qs)
			}
			var states []string
			for _, n := range qs.NotDone {
				states = append(states, n.Name+":"+n.State)
			}
			if got := strings.Join(states, ","); got != "丙网吧:未提交,乙旅馆:待签字" {
				t.Fatalf("not done in 青石镇: %s", got)
			}
			if qs.NotDone[0].UserID != "boss3" || qs.NotDone[0].Principal != "负责人丙网吧" {
				t.Fatalf("names behind the rate: %+v", qs.NotDone[0])
			}

			table := c.ok("report", "inspections", "--month", "2026-08", "--township", "青石镇").stdout
			for _, want := range []string{"自查汇总", "未完成名单", "丙网吧", "33.3%", "全市合计"} {
				if !strings.Contains(table, want) {
					t.Errorf("table lacks %q:\n%s", want, table)
				}
			}
			if strings.Contains(table, "丁商店") {
				t.Errorf("--township 青石镇 lists 白水镇:\n%s", table)
			}
			var july selfInspectionReport
			json.Unmarshal([]byte(c.ok("report", "inspections", "--month", "2026-07", "--format", "json").stdout), &july)
			if july.Signed != 1 || july.Submitted != 1 || july.Total != 4 {
				t.Fatalf("July %+v", july)
			}
			csv := c.ok("report", "inspections", "--month", "2026-07", "--format", "csv").stdout
			if !strings.Contains(csv, "甲餐馆") || strings.Contains(csv, "丙网吧") {
				t.Errorf("July csv lists the wrong enterprises:\n%s", csv)
			}
			c.fails(2, "--month", "report", "inspections", "--month", "八月")
		})
	}
}
