package e2e_test

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"safetybot"
	"safetybot/e2e"
	"safetybot/messages"
)

// TestQueriesByRole asks every query word through the simulator as every
// role of the seeded roster and checks the answers against its known state.
func TestQueriesByRole(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		b, r := fieldBot(t, v)
		day := r.Day
		sd := func(days int) string { return messages.ShortDate(dayOff(r, days)) }
		due := selfDue(day)

		t.Run("principal", func(t *testing.T) {
			wang := chatAs(t, b, r.Wang)
			mine := wang.say("我的情况")
			mustContain(t, "我的情况", mine,
				"您的情况（"+sd(0)+"）：",
				"【青石小吃店】\n· 公开信：已签收\n· 本月自查：已完成\n· 隐患：2 条未整改，1 条已逾期\n  - 灭火器过期，期限"+sd(-10)+"，逾期10天\n  - 消防通道堵塞，期限"+sd(5),
				"【青石旅馆】\n· 公开信：已签收\n· 本月自查：未填报，"+messages.ShortDate(due)+"前回复“自查”\n· 隐患：没有未整改的隐患")
			mustEqual(t, "menu 我的情况", wang.menu(messages.MenuStatus), mine)
			mustEqual(t, "隐患", wang.say("隐患"), "您企业的隐患共 3 条（未整改的在前）：\n"+
				"1. 青石小吃店：灭火器过期（一般，整改中，期限"+sd(-10)+"，逾期10天）\n"+
				"2. 青石小吃店：消防通道堵塞（重大，整改中，期限"+sd(5)+"）\n"+
				"3. 青石小吃店：电线老化（一般，已销号，期限"+sd(-15)+"）")
			items := []messages.DeadlineItem{
				{Date: dayOff(r, -10), What: "隐患整改：灭火器过期", Enterprise: "青石小吃店"},
				{Date: dayOff(r, 5), What: "隐患整改：消防通道堵塞", Enterprise: "青石小吃店"},
				{Date: due, What: "本月自查自纠", Enterprise: "青石旅馆"},
			}
			sort.SliceStable(items, func(i, j int) bool { return items[i].Date < items[j].Date })
			mustEqual(t, "期限", wang.say("期限"), messages.DeadlinesText(items, day, true))
			mustEqual(t, "未签收 as a principal", wang.say("未签收"), messages.OnlyOfficials)
			mustEqual(t, "企业 家具 as wang", wang.say("企业 家具"), "无权查看：“家具”不在您的管辖范围内")
			mustEqual(t, "unknown input", wang.say("明天下雨吗"), messages.UnknownInput("明天下雨吗", safetybot.RolePrincipal))

			li := chatAs(t, b, r.Li)
			mustContain(t, "期限 of li", li.say("期限"),
				"已逾期 1 项：\n· 隐患整改：粉尘超标，"+sd(-5)+"到期，逾期5天",
				"签收公开信《"+e2e.RosterLetter+"》")
			mustContain(t, "企业 家具 as li", li.say("企业 家具"), "青石家具厂（青石镇·小家具·重点单位）")

			officer := chatAs(t, b, r.Officer)
			got := officer.say("我的情况")
			mustContain(t, "我的情况 of the safety officer", got, "【青石小吃店】")
			if strings.Contains(got, "青石旅馆") {
				t.Errorf("the safety officer of E1 sees E2:\n%s", got)
			}
		})

		t.Run("township official", func(t *testing.T) {
			qs := chatAs(t, b, r.QsStaff)
			got := qs.say("本镇进度")
			progress := messages.ProgressText(e2e.RosterQs, day, statAt(t, got), messages.Figures{Enterprises: 4, Signed: 2, SelfInspected: 2,
				NotInspected: 2, Hazards: 4, Rectified: 1, Open: 3, Overdue: 2, Major: 2, MajorOpen: 2})
			mustEqual(t, "本镇进度", got, progress)
			mustEqual(t, "menu 本镇进度", qs.menu(messages.MenuProgress), progress)
			mustEqual(t, "未签收", qs.say("未签收"), "青石镇 未签收公开信的企业 2 家：\n"+
				"1. 青石家具厂（李秀英 13800000003）\n2. 青石建材厂（13800000004 未登记负责人）")
			month := strings.TrimLeft(day[5:7], "0")
			mustEqual(t, "未自查", qs.say("未自查"), "青石镇 "+month+"月未完成自查的企业 2 家：\n"+
				"1. 青石建材厂（13800000004）\n2. 青石旅馆（王建国 13800000002）")
			mustEqual(t, "逾期隐患", qs.say("逾期隐患"), "青石镇 逾期未整改隐患 2 条：\n"+
				"1. 青石小吃店：灭火器过期（一般，整改中，期限"+sd(-10)+"，逾期10天）\n"+
				"2. 青石家具厂：粉尘超标（重大，待复查，期限"+sd(-5)+"，逾期5天）")
			mustEqual(t, "两年未检查", qs.say("两年未检查"), "青石镇 两年内未检查的企业 2 家：\n"+
				"1. 青石家具厂（李秀英 13800000003 上次 "+dayOff(r, -1200)+"）\n2. 青石旅馆（王建国 13800000002 从未检查）")
			status := "青石家具厂（青石镇·小家具·重点单位）\n负责人：李秀英　电话：13800000003\n" +
				"公开信：未签收《" + e2e.RosterLetter + "》\n本月自查：已完成（负责人已签字）\n" +
				"隐患：未整改 1 条（逾期 1 条），已整改 0 条\n· 粉尘超标（重大，期限" + sd(-5) + "，逾期5天）\n" +
				"上次检查：" + dayOff(r, -1200) + "（已超过两年）"
			mustEqual(t, "企业 家具", qs.say("企业 家具"), status)
			mustEqual(t, "企业 印染 (白沙镇)", qs.say("企业 印染"), "无权查看：“印染”不在您的管辖范围内")
			mustEqual(t, "企业 青石", qs.say("企业 青石"), "找到 4 家，请回复序号：\n1. 青石旅馆［青石镇］\n2. 青石家具厂［青石镇］\n"+
				"3. 青石小吃店［青石镇］\n4. 青石建材厂［青石镇］\n回复“取消”放弃。")
			mustEqual(t, "pick 2", qs.say("2"), status)
			mustContain(t, "重大隐患", qs.say("重大隐患"), "2 条：\n1. 青石家具厂：粉尘超标（重大", "\n2. 青石小吃店：消防通道堵塞（重大")
			mustEqual(t, "全市进度 as a township official", qs.say("全市进度"), messages.OnlyOffice)
			mustEqual(t, "我的带队检查 of a non-leader", qs.say("我的带队检查"),
				messages.LedHeader(day, 0, 3)+"\n发送“带队检查”登记一次。")
			mustEqual(t, "unknown input", qs.say("天气"), messages.UnknownInput("天气", safetybot.RoleTownship))

			leader := chatAs(t, b, r.QsLeader)
			mustEqual(t, "我的带队检查", leader.say("我的带队检查"), messages.LedHeader(day, 2, 3)+"\n"+
				"1. "+sd(0)+" 青石小吃店［青石镇］，隐患 0 条\n2. "+sd(0)+" 青石旅馆［青石镇］，隐患 0 条")
		})

		t.Run("department official", func(t *testing.T) {
			zj := chatAs(t, b, r.Zj)
			got := zj.say("进度")
			mustEqual(t, "进度", got, messages.ProgressText("住建局监管企业", day, statAt(t, got), messages.Figures{Enterprises: 2,
				NotInspected: 1, Hazards: 2, Rectified: 1, Open: 1, Major: 1}))
			mustEqual(t, "重大隐患 (tracked)", zj.say("重大隐患"), "未整改的重大隐患（含我跟踪的） 1 条：\n"+
				"1. 青石家具厂［青石镇］：粉尘超标（重大，待复查，期限"+sd(-5)+"，逾期5天）［我跟踪］")
			mustEqual(t, "未签收", zj.say("未签收"), "住建局监管企业 未签收公开信的企业 2 家：\n"+
				"1. 白沙印染厂［白沙镇］（刘洋 13800000006）\n2. 青石建材厂［青石镇］（13800000004 未登记负责人）")
			mustEqual(t, "企业 家具 (应急管理局's)", zj.say("企业 家具"), "无权查看：“家具”不在您的管辖范围内")

			yj := chatAs(t, b, r.Yj)
			mustEqual(t, "抽查任务", yj.say("抽查任务"), fmt.Sprintf("抽查任务 1 家：\n1. 青石家具厂［青石镇］批次%d", r.SpotCheck))
			mustEqual(t, "两年未检查", yj.say("两年未检查"), "应急管理局监管企业 两年内未检查的企业 2 家：\n"+
				"1. 青石家具厂［青石镇］（李秀英 13800000003 上次 "+dayOff(r, -1200)+"）\n2. 青石旅馆［青石镇］（王建国 13800000002 从未检查）")
			mustContain(t, "逾期隐患", yj.say("逾期隐患"), "逾期未整改隐患 2 条：")
		})

		t.Run("office", func(t *testing.T) {
			of := chatAs(t, b, r.Office)
			bs := messages.Figures{Enterprises: 2, Signed: 1, NotInspected: 1, Hazards: 3, Rectified: 2, Open: 1, Major: 1}
			qs := messages.Figures{Enterprises: 4, Signed: 2, SelfInspected: 2, NotInspected: 2, Hazards: 4, Rectified: 1, Open: 3, Overdue: 2, Major: 2, MajorOpen: 2}
			all := messages.Figures{Enterprises: 6, Signed: 3, SelfInspected: 2, NotInspected: 3, Hazards: 7, Rectified: 3, Open: 4, Overdue: 2, Major: 3, MajorOpen: 2}
			got := of.say("全市进度")
			city := messages.CityHeader(day, statAt(t, got), all) + "\n" + messages.CityLine(e2e.RosterBs, bs) + "\n" + messages.CityLine(e2e.RosterQs, qs)
			mustEqual(t, "全市进度", got, city)
			mustEqual(t, "进度", of.say("进度"), city)
			mustContain(t, "企业 印染", of.say("企业 印染"), "白沙印染厂（白沙镇·小印染·重点单位）\n负责人：刘洋")
			mustEqual(t, "未签收", of.say("未签收"), "全市 未签收公开信的企业 3 家：\n1. 白沙印染厂［白沙镇］（刘洋 13800000006）\n"+
				"2. 青石家具厂［青石镇］（李秀英 13800000003）\n3. 青石建材厂［青石镇］（13800000004 未登记负责人）")
		})

		t.Run("unregistered", func(t *testing.T) {
			mustEqual(t, "我的情况", chatAs(t, b, e2e.Users("stranger", 1)[0]).say("我的情况"), messages.NotRegistered)
		})
	})
}

// statAt returns the HH:MM a progress answer says its figures were counted at.
func statAt(t *testing.T, reply string) string {
	t.Helper()
	m := regexp.MustCompile(`(\d\d:\d\d)统计`).FindStringSubmatch(reply)
	if m == nil {
		t.Fatalf("no counting time in %q", reply)
	}
	return m[1]
}

// selfDue is the month's self-inspection due date (the 30th, or the month's
// last day when shorter).
func selfDue(day string) string {
	d, _ := time.Parse("2006-01-02", day)
	last := time.Date(d.Year(), d.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return time.Date(d.Year(), d.Month(), min(30, last), 0, 0, 0, 0, time.UTC).Format("2006-01-02")
}

// TestQueryPaging pages a list longer than one message with 更多: every page
// fits one WeCom text, every enterprise is listed once and in order, the last
// page says so, and another question ends the list.
func TestQueryPaging(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		b := start(t, v)
		ctx := context.Background()
		official := e2e.Users("hx", 1)[0]
		if err := b.Store.CreatePerson(ctx, &safetybot.Person{UserID: official, Name: "红星干部", Role: safetybot.RoleTownship, Township: "红星镇"}); err != nil {
			t.Fatal(err)
		}
		const n = 70
		var names []string
		for i := 1; i <= n; i++ {
			prefix := fmt.Sprintf("91320581MA1PG%04d", i)
			name := fmt.Sprintf("红星第%02d号五金加工有限责任公司", i)
			e := &safetybot.Enterprise{CreditCode: prefix + string(safetybot.CreditCodeCheckChar(prefix)), Name: name,
				Township: "红星镇", Category: safetybot.CategoryGeneral, Phone: fmt.Sprintf("139%08d", i)}
			if err := b.Store.CreateEnterprise(ctx, e); err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
		}
		m := chatAs(t, b, official)
		var listed []string
		reply := m.say("未签收")
		if !strings.HasPrefix(reply, fmt.Sprintf("红星镇 未签收公开信的企业 %d 家：", n)) {
			t.Fatalf("first page:\n%s", reply)
		}
		for page := 1; ; page++ {
			lines := strings.Split(reply, "\n")
			footer := lines[len(lines)-1]
			if lines[0] != fmt.Sprintf("红星镇 未签收公开信的企业 %d 家：", n) {
				t.Fatalf("page %d does not start with the list's header: %q", page, lines[0])
			}
			body := lines[1 : len(lines)-1]
			if len(body) < 10 && !strings.Contains(footer, "已全部列出") {
				t.Fatalf("page %d lists only %d enterprises", page, len(body))
			}
			for _, l := range body {
				num, name, _ := strings.Cut(l, ". ")
				name, _, _ = strings.Cut(name, "（")
				if num != fmt.Sprint(len(listed)+1) {
					t.Fatalf("page %d: line %q, want number %d", page, l, len(listed)+1)
				}
				listed = append(listed, name)
			}
			if strings.Contains(footer, "已全部列出") {
				if want := fmt.Sprintf("，共%d条，已全部列出）", n); !strings.HasSuffix(footer, want) {
					t.Fatalf("last footer %q", footer)
				}
				break
			}
			if want := fmt.Sprintf("条，共%d条。回复“更多”看下一页）", n); !strings.HasSuffix(footer, want) {
				t.Fatalf("page %d footer %q", page, footer)
			}
			if page > 10 {
				t.Fatal("more than 10 pages")
			}
			reply = m.say(messages.WordMore)
		}
		if strings.Join(listed, ",") != strings.Join(names, ",") {
			t.Fatalf("the pages listed %d enterprises:\n%v\nwant\n%v", len(listed), listed, names)
		}
		mustEqual(t, "更多 after the last page", m.say(messages.WordMore), messages.NoMore)

		// Another question in the middle of a list ends it.
		m.say("未签收")
		mustContain(t, "本镇进度 while a list is open", m.say("本镇进度"), "红星镇进度")
		mustEqual(t, "更多 after another question", m.say(messages.WordMore), messages.NoMore)
	})
}
