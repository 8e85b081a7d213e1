package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"safetybot"
	"safetybot/config"
	"safetybot/handlers"
	"safetybot/report"
	"safetybot/store"
)

func init() {
	extraCommands = append(extraCommands, command{name: "notice send", summary: "send a notice (--text T | --file F) --to GROUP… [--ack]; GROUP: principals, officials, key-units, township:NAME, category:NAME, department:NAME", run: cmdNotice})
	reportKinds["notices"] = reportKind{summary: "who has and has not acknowledged a notice sent with --ack (--notice ID, default the newest)", flags: noticesReport}
}

const noticeUsage = "usage: safetybot notice send (--text T | --file F) --to GROUP [--to GROUP]… [--ack]"

func cmdNotice(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "send" {
		return usageError{noticeUsage}
	}
	fs := flags("notice send", "Store a notice and queue it for the groups' members; serve sends it. With --ack the notice is a card\n"+
		"with 已阅 and `safetybot report notices` shows who has and has not acknowledged it.\n"+
		"GROUP is principals, officials, key-units, township:NAME (principals and officials of the township),\n"+
		"township-officials:NAME, category:NAME (九小场所, 五小企业, 一般企业) or department:NAME (the department's officials).", e)
	text := fs.String("text", "", "the notice (at most 2048 bytes)")
	file := fs.String("file", "", "read the notice from this file")
	ack := fs.Bool("ack", false, "ask every recipient to tap 已阅")
	sender := fs.String("sender", "市安委办", "sender shown under the notice")
	var groups listFlag
	fs.Var(&groups, "to", "recipient group (repeatable)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if (*text == "") == (*file == "") {
		return usageError{"give exactly one of --text and --file"}
	}
	if len(groups) == 0 {
		return usageError{"--to is required (" + noticeUsage + ")"}
	}
	body := *text
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return fmt.Errorf("cannot read the notice: %w", err)
		}
		body = string(b)
	}
	c, err := e.config()
	if err != nil {
		return err
	}
	s, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		return err
	}
	res, err := handlers.SendNotice(ctx, s, handlers.NoticeInput{Text: body, Groups: groups, Ack: *ack, Sender: *sender})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "notice %d: %d recipients, %d API calls queued; serve sends them\n", res.Notice.ID, res.Recipients, res.Calls)
	if *ack {
		fmt.Fprintf(e.stdout, "acknowledgements: safetybot report notices --notice %d\n", res.Notice.ID)
	}
	return nil
}

// NoticeReport is who has and has not acknowledged a notice. Its JSON form is stable.
type NoticeReport struct {
	NoticeID   int64             `json:"notice_id"`
	SentAt     string            `json:"sent_at"`
	Groups     []string          `json:"groups"`
	Ack        bool              `json:"ack"`
	Total      int               `json:"total"`
	Acked      int               `json:"acked"`
	Rate       float64           `json:"rate"`
	NotAcked   []noticeRecipient `json:"not_acked"`
	AckedUsers []noticeRecipient `json:"acked_users"`
}

type noticeRecipient struct {
	UserID   string `json:"userid"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Township string `json:"township"`
	AckedAt  string `json:"acked_at,omitempty"`
}

func noticesReport(fs *flagSet) func(ctx context.Context, s *store.Store, c config.Config) (any, []report.Table, error) {
	id := fs.Int64("notice", 0, "notice id (default: the newest notice)")
	return func(ctx context.Context, s *store.Store, c config.Config) (any, []report.Table, error) {
		noticeID := *id
		if noticeID == 0 {
			var err error
			if noticeID, err = s.LatestNoticeID(ctx); err != nil {
				return nil, nil, err
			}
		}
		n, err := s.FindNotice(ctx, noticeID)
		if err != nil {
			return nil, nil, err
		}
		rs, err := s.NoticeRecipients(ctx, noticeID)
		if err != nil {
			return nil, nil, err
		}
		r := &NoticeReport{NoticeID: n.ID, SentAt: n.CreatedAt.In(c.Location).Format("2006-01-02 15:04"), Groups: n.Groups, Ack: n.Ack,
			Total: len(rs), NotAcked: []noticeRecipient{}, AckedUsers: []noticeRecipient{}}
		list := report.Table{Name: "阅读情况", Headers: []string{"已阅", "企业微信账号", "姓名", "角色", "镇街", "已阅时间"}}
		for _, x := range rs {
			nr := noticeRecipient{UserID: x.UserID, Name: x.Name, Role: x.Role, Township: x.Township}
			state := "未阅"
			if x.AckedAt != nil {
				nr.AckedAt = x.AckedAt.In(c.Location).Format("2006-01-02 15:04")
				r.Acked++
				r.AckedUsers = append(r.AckedUsers, nr)
				state = "已阅"
			} else {
				r.NotAcked = append(r.NotAcked, nr)
			}
			list.Rows = append(list.Rows, []report.Cell{report.Text(state), report.Text(x.UserID), report.Text(x.Name), report.Text(safetybot.Role(x.Role).Label()), report.Text(x.Township), report.Text(nr.AckedAt)})
		}
		r.Rate = report.Rate(r.Acked, r.Total)
		ackWord := "否（未要求已阅）"
		if n.Ack {
			ackWord = "是"
		}
		sum := report.Table{Name: "通知", Headers: []string{"编号", "发送时间", "对象", "要求已阅", "人数", "已阅", "未阅", "已阅率"},
			Rows: [][]report.Cell{{report.Int(int(n.ID)), report.Text(r.SentAt), report.Text(strings.Join(n.Groups, " ")), report.Text(ackWord),
				report.Int(r.Total), report.Int(r.Acked), report.Int(r.Total - r.Acked), report.Percent(r.Rate)}}}
		return r, []report.Table{sum, list}, nil
	}
}
