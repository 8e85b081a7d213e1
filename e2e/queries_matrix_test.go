package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"safetybot"
	"safetybot/e2e"
	"safetybot/store"
	"safetybot/store/storetest"
)

// matrixDay is D of the seeded roster in the matrix test.
var matrixDay = time.Date(2026, 7, 20, 0, 0, 0, 0, time.UTC)

// TestQueryScopeMatrix asks every scoped store query as every role of the
// seeded roster and compares the answer with the known one: the scope's WHERE
// clause is applied by the store itself, so a principal sees only their
// enterprises, a township official their township, a department official
// their department's enterprises and the office everything; anyone else is
// refused (无权查看).
func TestQueryScopeMatrix(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		r, err := e2e.SeedFieldRoster(ctx, s, matrixDay, "m")
		if err != nil {
			t.Fatal(err)
		}
		day := r.Day
		person := func(userid string) store.Scope {
			p, err := s.FindPerson(ctx, userid)
			if err != nil {
				t.Fatal(err)
			}
			return store.ScopeOf(p)
		}
		scopes := []struct {
			name string
			sc   store.Scope
		}{
			{"principal of two", person(r.Wang)},
			{"principal of one", person(r.Li)},
			{"safety officer", person(r.Officer)},
			{"township 青石镇", person(r.QsLeader)},
			{"township 白沙镇", person(r.BsLeader)},
			{"department 应急管理局", person(r.Yj)},
			{"department 住建局", person(r.Zj)},
			{"office", person(r.Office)},
			{"no role", store.Scope{UserID: r.Wang}},
			{"township without township", store.Scope{Role: safetybot.RoleTownship, UserID: r.QsStaff}},
		}
		off := func(days int) string { return fmt.Sprint(days) }
		progressWant := []string{
			"ent=2 signed=2 self=1 ni=1 hz=3 rect=1 open=2 overdue=1 major=1/1",
			"ent=1 signed=0 self=1 ni=1 hz=1 rect=0 open=1 overdue=1 major=1/1",
			"ent=1 signed=1 self=1 ni=0 hz=3 rect=1 open=2 overdue=1 major=1/1",
			"ent=4 signed=2 self=2 ni=2 hz=4 rect=1 open=3 overdue=2 major=2/2",
			"ent=2 signed=1 self=0 ni=1 hz=3 rect=2 open=1 overdue=0 major=1/0",
			"ent=4 signed=3 self=2 ni=2 hz=5 rect=2 open=3 overdue=2 major=2/2",
			"ent=2 signed=0 self=0 ni=1 hz=2 rect=1 open=1 overdue=0 major=1/0",
			"ent=6 signed=3 self=2 ni=3 hz=7 rect=3 open=4 overdue=2 major=3/2",
			"无权查看", "无权查看",
		}
		queries := []struct {
			name string
			run  func(sc store.Scope) (string, error)
			want []string // per scope, in the order of scopes
		}{
			{"progress", func(sc store.Scope) (string, error) {
				p, err := s.ScopeProgress(ctx, sc, day)
				return progressString(p), err
			}, progressWant},
			{"progress snapshot", func(sc store.Scope) (string, error) {
				rows, _, err := s.ProgressSnapshot(ctx, sc, day, time.Hour)
				var p store.Progress
				for _, r := range rows {
					p.Enterprises += r.Enterprises
					p.Signed += r.Signed
					p.SelfInspected += r.SelfInspected
					p.NotInspected += r.NotInspected
					p.Hazards += r.Hazards
					p.Rectified += r.Rectified
					p.Open += r.Open
					p.Overdue += r.Overdue
					p.Major += r.Major
					p.MajorOpen += r.MajorOpen
				}
				return progressString(p), err
			}, progressWant},
			{"progress by township", func(sc store.Scope) (string, error) {
				rows, err := s.ProgressByTownship(ctx, sc, day)
				var out []string
				for _, p := range rows {
					out = append(out, fmt.Sprintf("%s:%d/%d/%d", p.Township, p.Enterprises, p.Hazards, p.Overdue))
				}
				return strings.Join(out, ","), err
			}, []string{
				"青石镇:2/3/1", "青石镇:1/1/1", "青石镇:1/3/1", "青石镇:4/4/2", "白沙镇:2/3/0",
				"白沙镇:1/1/0,青石镇:3/4/2", "白沙镇:1/2/0,青石镇:1/0/0", "白沙镇:2/3/0,青石镇:4/4/2",
				"无权查看", "无权查看",
			}},
			{"未签收", func(sc store.Scope) (string, error) {
				rows, _, total, err := s.UnsignedEnterprises(ctx, sc, store.Page{Count: true})
				return entNames(rows, total), err
			}, []string{
				"", "青石家具厂", "", "青石家具厂,青石建材厂(未登记负责人)", "白沙印染厂",
				"青石家具厂", "白沙印染厂,青石建材厂(未登记负责人)", "白沙印染厂,青石家具厂,青石建材厂(未登记负责人)",
				"无权查看", "无权查看",
			}},
			{"未自查", func(sc store.Scope) (string, error) {
				rows, _, total, err := s.NotSelfInspected(ctx, sc, day, store.Page{Count: true})
				return entNames(rows, total), err
			}, []string{
				"青石旅馆", "", "", "青石建材厂,青石旅馆", "白沙印染厂,白沙诊所(待签字)",
				"白沙诊所(待签字),青石旅馆", "白沙印染厂,青石建材厂", "白沙印染厂,白沙诊所(待签字),青石建材厂,青石旅馆",
				"无权查看", "无权查看",
			}},
			{"逾期隐患", func(sc store.Scope) (string, error) {
				rows, _, total, err := s.OverdueHazards(ctx, sc, day, store.Page{Count: true})
				return hazardNames(rows, total), err
			}, []string{
				"灭火器过期", "粉尘超标", "灭火器过期", "灭火器过期,粉尘超标", "",
				"灭火器过期,粉尘超标", "", "灭火器过期,粉尘超标",
				"无权查看", "无权查看",
			}},
			{"两年未检查", func(sc store.Scope) (string, error) {
				rows, _, total, err := s.NotInspectedSince(ctx, sc, matrixDay.AddDate(0, 0, -730).Format("2006-01-02"), store.Page{Count: true})
				return entNames(rows, total), err
			}, []string{
				"青石旅馆", "青石家具厂", "", "青石家具厂,青石旅馆", "白沙印染厂",
				"青石家具厂,青石旅馆", "白沙印染厂", "白沙印染厂,青石家具厂,青石旅馆",
				"无权查看", "无权查看",
			}},
			{"隐患", func(sc store.Scope) (string, error) {
				rows, total, err := s.Hazards(ctx, sc, store.Page{Count: true})
				return hazardNames(rows, total), err
			}, []string{
				"灭火器过期,消防通道堵塞,电线老化", "粉尘超标", "灭火器过期,消防通道堵塞,电线老化",
				"灭火器过期,粉尘超标,消防通道堵塞,电线老化", "染缸无防护,危化品超量,药品存放混乱",
				"灭火器过期,粉尘超标,消防通道堵塞,药品存放混乱,电线老化", "染缸无防护,危化品超量",
				"灭火器过期,粉尘超标,消防通道堵塞,染缸无防护,危化品超量,药品存放混乱,电线老化",
				"无权查看", "无权查看",
			}},
			{"未整改隐患", func(sc store.Scope) (string, error) {
				rows, _, total, err := s.OpenHazards(ctx, sc, store.Page{Count: true})
				return hazardNames(rows, total), err
			}, []string{
				"灭火器过期,消防通道堵塞", "粉尘超标", "灭火器过期,消防通道堵塞", "灭火器过期,粉尘超标,消防通道堵塞",
				"染缸无防护", "灭火器过期,粉尘超标,消防通道堵塞", "染缸无防护", "灭火器过期,粉尘超标,消防通道堵塞,染缸无防护",
				"无权查看", "无权查看",
			}},
			{"重大隐患", func(sc store.Scope) (string, error) {
				rows, _, total, err := s.MajorHazards(ctx, sc, store.Page{Count: true})
				return hazardNames(rows, total), err
			}, []string{
				"消防通道堵塞", "粉尘超标", "消防通道堵塞", "粉尘超标,消防通道堵塞", "",
				"粉尘超标,消防通道堵塞", "粉尘超标", "粉尘超标,消防通道堵塞",
				"无权查看", "无权查看",
			}},
			{"企业 家具", func(sc store.Scope) (string, error) {
				found, _, err := s.FindEnterprisesInScope(ctx, sc, "家具", 10)
				return enterpriseNames(found), err
			}, []string{
				"无权查看", "青石家具厂", "无权查看", "青石家具厂", "无权查看",
				"青石家具厂", "无权查看", "青石家具厂", "无权查看", "无权查看",
			}},
			{"企业 青石", func(sc store.Scope) (string, error) {
				found, total, err := s.FindEnterprisesInScope(ctx, sc, "青石", 10)
				return fmt.Sprintf("%s/%d", enterpriseNames(found), total), err
			}, []string{
				"青石旅馆,青石小吃店/2", "青石家具厂/1", "青石小吃店/1", "青石旅馆,青石家具厂,青石小吃店,青石建材厂/4", "无权查看",
				"青石旅馆,青石家具厂,青石小吃店/3", "青石建材厂/1", "青石旅馆,青石家具厂,青石小吃店,青石建材厂/4",
				"无权查看", "无权查看",
			}},
			{"企业 老厂 (closed)", func(sc store.Scope) (string, error) {
				found, _, err := s.FindEnterprisesInScope(ctx, sc, "老厂", 10)
				return enterpriseNames(found), err
			}, []string{"", "", "", "", "", "", "", "", "无权查看", "无权查看"}},
			{"status of E3", func(sc store.Scope) (string, error) {
				st, err := s.EnterpriseStatusInScope(ctx, sc, r.E3, day)
				return fmt.Sprintf("%s principals=%s letters=%d unsigned=%d self=%s open=%d overdue=%d rect=%d insp=%d last=%s",
					st.Enterprise.Name, strings.Join(st.Principals, ","), st.Letters, len(st.Unsigned), st.Submission,
					st.OpenCount(), st.Overdue, st.Rectified, st.Inspections, deref(st.LastInspSelf)), err
			}, []string{
				"无权查看",
				"青石家具厂 principals=李秀英 letters=1 unsigned=1 self=已签字 open=1 overdue=1 rect=0 insp=1 last=2023-04-07",
				"无权查看",
				"青石家具厂 principals=李秀英 letters=1 unsigned=1 self=已签字 open=1 overdue=1 rect=0 insp=1 last=2023-04-07",
				"无权查看",
				"青石家具厂 principals=李秀英 letters=1 unsigned=1 self=已签字 open=1 overdue=1 rect=0 insp=1 last=2023-04-07",
				"无权查看",
				"青石家具厂 principals=李秀英 letters=1 unsigned=1 self=已签字 open=1 overdue=1 rect=0 insp=1 last=2023-04-07",
				"无权查看", "无权查看",
			}},
			{"期限", func(sc store.Scope) (string, error) {
				ds, err := s.Deadlines(ctx, sc, 10)
				var out []string
				for _, d := range ds {
					what := d.What
					if d.Kind == "letter" {
						what = "letter"
					}
					t, _ := time.Parse("2006-01-02", d.Date)
					out = append(out, off(int(t.Sub(matrixDay).Hours()/24))+":"+what)
				}
				return strings.Join(out, ","), err
			}, []string{
				"-10:灭火器过期,5:消防通道堵塞", "-5:粉尘超标,11:letter", "-10:灭火器过期,5:消防通道堵塞",
				"-10:灭火器过期,-5:粉尘超标,5:消防通道堵塞,11:letter", "11:letter,12:染缸无防护",
				"-10:灭火器过期,-5:粉尘超标,5:消防通道堵塞,11:letter", "11:letter,12:染缸无防护",
				"-10:灭火器过期,-5:粉尘超标,5:消防通道堵塞,11:letter,11:letter,12:染缸无防护",
				"无权查看", "无权查看",
			}},
			{"我的带队检查", func(sc store.Scope) (string, error) {
				led, err := s.LedInspections(ctx, sc, day)
				var out []string
				for _, l := range led {
					out = append(out, l.Enterprise)
				}
				return fmt.Sprintf("%d:%s", len(led), strings.Join(out, ",")), err
			}, []string{
				"无权查看", "无权查看", "无权查看", "2:青石小吃店,青石旅馆", "0:", "0:", "0:", "0:", "无权查看", "0:",
			}},
			{"抽查任务", func(sc store.Scope) (string, error) {
				rows, _, err := s.SpotCheckTasks(ctx, sc, store.Page{})
				var out []string
				for _, a := range rows {
					out = append(out, a.Enterprise)
				}
				return strings.Join(out, ","), err
			}, []string{"无权查看", "无权查看", "无权查看", "", "", "青石家具厂", "", "青石家具厂", "无权查看", ""}},
			{"my enterprises", func(sc store.Scope) (string, error) {
				ents, err := s.MyEnterprises(ctx, sc)
				return enterpriseNames(ents), err
			}, []string{"青石小吃店,青石旅馆", "青石家具厂", "青石小吃店", "", "", "", "", "", "", ""}},
		}
		for _, q := range queries {
			if len(q.want) != len(scopes) {
				t.Fatalf("%s: %d answers for %d scopes", q.name, len(q.want), len(scopes))
			}
			for i, sc := range scopes {
				got, err := q.run(sc.sc)
				switch {
				case safetybot.ErrorCode(err) == safetybot.EFORBIDDEN:
					if !strings.HasPrefix(safetybot.ErrorMessage(err), store.ErrOutOfScope) {
						t.Errorf("%s as %s: refusal says %q", q.name, sc.name, safetybot.ErrorMessage(err))
					}
					got = "无权查看"
				case err != nil:
					t.Errorf("%s as %s: %v", q.name, sc.name, err)
					continue
				}
				if got != q.want[i] {
					t.Errorf("%s as %s:\n got  %s\n want %s", q.name, sc.name, got, q.want[i])
				}
			}
		}

		t.Run("pages", func(t *testing.T) {
			office := person(r.Office)
			var names []string
			var after *store.Cursor
			for i := 0; i < 4; i++ {
				rows, next, total, err := s.UnsignedEnterprises(ctx, office, store.Page{After: after, Limit: 1, Count: i == 0})
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 && total != 3 {
					t.Fatalf("counted total %d, want 3", total)
				}
				names = append(names, entNames(rows, len(rows)))
				if after = next; next == nil {
					break
				}
			}
			if got := strings.Join(names, "|"); got != "白沙印染厂|青石家具厂|青石建材厂(未登记负责人)" {
				t.Fatalf("pages of one: %s", got)
			}
			rows, next, total, err := s.OverdueHazards(ctx, office, day, store.Page{Limit: 1})
			if err != nil || total != -1 || next == nil || hazardNames(rows, len(rows)) != "灭火器过期" {
				t.Fatalf("first overdue page of one: %s next %v total %d err %v", hazardNames(rows, len(rows)), next, total, err)
			}
			rows, next, _, err = s.OverdueHazards(ctx, office, day, store.Page{After: next, Limit: 1})
			if err != nil || next != nil || hazardNames(rows, len(rows)) != "粉尘超标" {
				t.Fatalf("second and last overdue page: %s next %v err %v", hazardNames(rows, len(rows)), next, err)
			}
		})
		t.Run("snapshot is recomputed when stale or of another day", func(t *testing.T) {
			qs := person(r.QsLeader)
			before, at, err := s.ProgressSnapshot(ctx, qs, day, time.Hour)
			if err != nil || len(before) != 1 || before[0].Signed != 2 || at.IsZero() {
				t.Fatalf("snapshot: %+v at %v %v", before, at, err)
			}
			if _, err := s.SignLetter(ctx, r.Letter, r.Li, safetybot.SignByText); err != nil {
				t.Fatal(err)
			}
			cached, at2, err := s.ProgressSnapshot(ctx, qs, day, time.Hour)
			if err != nil || cached[0].Signed != 2 || !at2.Equal(at) {
				t.Fatalf("within the hour: signed %d at %v (first %v) %v, want the cached 2", cached[0].Signed, at2, at, err)
			}
			fresh, _, err := s.ProgressSnapshot(ctx, qs, day, 0)
			if err != nil || fresh[0].Signed != 3 {
				t.Fatalf("max age 0: signed %d %v, want 3", fresh[0].Signed, err)
			}
			next, _, err := s.ProgressSnapshot(ctx, qs, matrixDay.AddDate(0, 0, 6).Format("2006-01-02"), time.Hour)
			if err != nil || next[0].Overdue != 3 {
				t.Fatalf("six days later: overdue %d %v, want 3 (消防通道堵塞 is due on D+5)", next[0].Overdue, err)
			}
		})
		t.Run("enterprise outside the scope is refused by id", func(t *testing.T) {
			_, err := s.EnterpriseInScope(ctx, person(r.BsLeader), r.E1)
			if safetybot.ErrorCode(err) != safetybot.EFORBIDDEN {
				t.Fatalf("白沙镇 official reading 青石镇's E1: %v, want 无权查看", err)
			}
			_, err = s.EnterpriseInScope(ctx, person(r.Office), 999999)
			if safetybot.ErrorCode(err) != safetybot.ENOTFOUND {
				t.Fatalf("office reading a missing id: %v, want not found", err)
			}
		})
	})
}

func entNames(rows []store.EnterpriseLine, total int) string {
	var out []string
	for _, r := range rows {
		n := r.Name
		if r.Detail != "" {
			n += "(" + r.Detail + ")"
		}
		out = append(out, n)
	}
	if total != len(rows) && total != 0 {
		out = append(out, fmt.Sprintf("total=%d", total))
	}
	return strings.Join(out, ",")
}

func hazardNames(rows []store.HazardLine, total int) string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Description)
	}
	if total != len(rows) {
		out = append(out, fmt.Sprintf("total=%d", total))
	}
	return strings.Join(out, ",")
}

func enterpriseNames(ents []safetybot.Enterprise) string {
	var out []string
	for _, e := range ents {
		out = append(out, e.Name)
	}
	return strings.Join(out, ",")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func progressString(p store.Progress) string {
	return fmt.Sprintf("ent=%d signed=%d self=%d ni=%d hz=%d rect=%d open=%d overdue=%d major=%d/%d",
		p.Enterprises, p.Signed, p.SelfInspected, p.NotInspected, p.Hazards, p.Rectified, p.Open, p.Overdue, p.Major, p.MajorOpen)
}
