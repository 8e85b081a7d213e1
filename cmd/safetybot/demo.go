package main

import (
	"context"
	"fmt"
	"time"

	"safetybot"
	"safetybot/app"
	"safetybot/handlers"
	"safetybot/store"
)

// demoRoster is a small fictional roster: three townships, eight enterprises, a
// principal of two enterprises, a safety officer, two officials.
var demoRoster = []struct {
	prefix, name, township, category, smallType, principal, principalID, officer string
	key                                                                          bool
}{
	{"91320581MA1XY1001", "青石示范小吃店", "青石镇", safetybot.CategoryNineSmall, "小餐饮", "王建国", "demo_wang", "demo_aq", false},
	{"91320581MA1XY1002", "青石示范旅馆", "青石镇", safetybot.CategoryNineSmall, "小旅馆", "王建国", "demo_wang", "", false},
	{"91320581MA1XY1003", "青石示范家具厂", "青石镇", safetybot.CategoryFiveSmall, "小家具", "李秀英", "demo_li", "demo_aq", true},
	{"91320581MA1XY1004", "白沙示范诊所", "白沙镇", safetybot.CategoryNineSmall, "小医院", "张伟", "demo_zhang", "", false},
	{"91320581MA1XY1005", "白沙示范印染厂", "白沙镇", safetybot.CategoryFiveSmall, "小印染", "刘洋", "demo_liu", "", true},
	{"91320581MA1XY1006", "临江示范网吧", "临江镇", safetybot.CategoryNineSmall, "小网吧", "陈静", "demo_chen", "", false},
	{"91320581MA1XY1007", "临江示范机械公司", "临江镇", safetybot.CategoryGeneral, "", "杨帆", "demo_yang", "", true},
	{"91320581MA1XY1008", "临江示范超市", "临江镇", safetybot.CategoryNineSmall, "小商店", "赵敏", "demo_zhao", "", false},
}

var demoOfficials = []safetybot.Person{
	{UserID: "demo_zhen", Name: "周镇长", Role: safetybot.RoleTownship, Township: "青石镇", Leader: true},
	{UserID: "demo_office", Name: "吴主任", Role: safetybot.RoleOffice, Department: "市安委办"},
	{UserID: "demo_dept", Name: "郑科长", Role: safetybot.RoleDepartment, Department: "应急管理局", Leader: true},
}

const demoLetter = `# 致全市企业主要负责人的一封信

各位企业负责人：

为深刻吸取近期事故教训，全市开展安全生产大检查。请您认真履行安全生产第一责任人职责：

1. 组织一次全面的**自查自纠**，对照检查表逐项排查，发现隐患立即整改；
2. 建立隐患清单、整改清单、责任清单和销号清单，做到闭环管理；
3. 每月30日前在单位内部公示自查结果；
4. 发生事故立即如实报告，严禁迟报、漏报、谎报、瞒报。

谢谢您的支持与配合！

市安全生产委员会办公室`

// runDemo loads the demo roster into an empty store, sends a sample letter
// through the simulator and prints userids to try.
func runDemo(ctx context.Context, e *env, a *app.App) error {
	existing, err := a.Store.ListEnterprises(ctx, store.EnterpriseFilter{Limit: 1})
	if err != nil {
		return err
	}
	if len(existing) == 0 {
		for _, p := range demoOfficials {
			p := p
			if _, err := a.Store.UpsertPerson(ctx, &p); err != nil {
				return err
			}
		}
		for _, d := range demoRoster {
			ent := safetybot.Enterprise{CreditCode: d.prefix + string(safetybot.CreditCodeCheckChar(d.prefix)), Name: d.name,
				Township: d.township, Category: d.category, SmallType: d.smallType, KeyUnit: d.key, Department: "应急管理局"}
			if _, err := a.Store.UpsertEnterprise(ctx, &ent); err != nil {
				return err
			}
			pr := safetybot.Person{UserID: d.principalID, Name: d.principal, Role: safetybot.RolePrincipal, Township: d.township}
			if _, err := a.Store.UpsertPerson(ctx, &pr); err != nil {
				return err
			}
			if err := a.Store.SetContact(ctx, ent.ID, pr.ID, safetybot.ContactPrincipal); err != nil {
				return err
			}
			if d.officer != "" {
				of := safetybot.Person{UserID: d.officer, Name: "孙安全", Role: safetybot.RoleSafetyOfficer, Township: d.township}
				if _, err := a.Store.UpsertPerson(ctx, &of); err != nil {
					return err
				}
				if err := a.Store.SetContact(ctx, ent.ID, of.ID, safetybot.ContactSafetyOfficer); err != nil {
					return err
				}
			}
		}
		deadline := time.Now().In(a.Config.Location).AddDate(0, 0, 7)
		d := time.Date(deadline.Year(), deadline.Month(), deadline.Day(), 0, 0, 0, 0, time.UTC)
		res, err := handlers.SendLetter(ctx, a.Store, a.Config.PublicURL, a.Config.Location, handlers.LetterInput{
			Title: "致全市企业主要负责人的一封信", Body: demoLetter, Deadline: &d, Sender: "市安委办"}, nil)
		if err != nil {
			return err
		}
		a.Sender.Wake()
		a.Log.Info("demo roster loaded and sample letter sent", "letter", res.Letter.ID, "principals", res.Principals)
	}
	fmt.Fprintf(e.stdout, `
演示数据已就绪。另开一个终端试试：
  go run ./cmd/safetybot chat --as demo_wang     企业主要负责人（两家企业），可签收公开信、自查
  go run ./cmd/safetybot chat --as demo_aq       安全管理员，可代填自查
  go run ./cmd/safetybot chat --as demo_zhen     青石镇干部，可查本镇进度
`)
	return nil
}
