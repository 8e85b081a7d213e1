package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"safetybot/e2e"
)

// TestCLISpotCheck draws a spot check twice with the same seed (same sample)
// and once without a seed (a new seed is printed).
func TestCLISpotCheck(t *testing.T) {
	c := sqliteCLI(t)
	c.ok("migrate")
	if _, err := e2e.SeedFieldRoster(context.Background(), c.store(), time.Now(), "cli"); err != nil {
		t.Fatal(err)
	}
	c.fails(2, "--department and --percent are required", "spotcheck", "--percent", "50")
	c.fails(2, "--percent 120 is not between 1 and 100", "spotcheck", "--department", "应急管理局", "--percent", "120")
	c.fails(1, "部门“无人局”没有登记干部", "spotcheck", "--department", "无人局", "--percent", "50")

	// 应急管理局's key units with a signed self-inspection: only 青石家具厂.
	first := c.ok("spotcheck", "--department", "应急管理局", "--percent", "100", "--seed", "42")
	if !strings.Contains(first.stdout, "100% of 1 key units with a signed self-inspection = 1 drawn") ||
		!strings.Contains(first.stdout, "seed 42 (run again with --seed 42") || !strings.Contains(first.stdout, "青石家具厂") {
		t.Fatalf("spotcheck output:\n%s", first.stdout)
	}
	table := func(out string) string { return out[strings.Index(out, "#"):strings.Index(out, "cards queued")] }
	again := c.ok("spotcheck", "--department", "应急管理局", "--percent", "100", "--seed", "42")
	if table(again.stdout) != table(first.stdout) {
		t.Fatalf("same seed, different draw:\n%s\n%s", first.stdout, again.stdout)
	}
	random := c.ok("spotcheck", "--department", "应急管理局", "--percent", "100")
	if !regexp.MustCompile(`seed \d+ \(run again with --seed \d+`).MatchString(random.stdout) {
		t.Fatalf("a draw without --seed prints none:\n%s", random.stdout)
	}
}

// TestCLINoticeSendAndReport sends a notice with 已阅 to key units' principals,
// acknowledges one and reads the report.
func TestCLINoticeSendAndReport(t *testing.T) {
	c := sqliteCLI(t)
	c.ok("migrate")
	s := c.store()
	r, err := e2e.SeedFieldRoster(context.Background(), s, time.Now(), "nt")
	if err != nil {
		t.Fatal(err)
	}
	c.fails(2, "give exactly one of --text and --file", "notice", "send", "--to", "principals")
	c.fails(2, "--to is required", "notice", "send", "--text", "开会")
	c.fails(1, "通知对象“everyone”不正确", "notice", "send", "--text", "开会", "--to", "everyone")

	file := c.file("notice.txt", []byte("请重点单位于周五前上报自查情况"))
	out := c.ok("notice", "send", "--file", file, "--to", "key-units", "--to", "township-officials:白沙镇", "--ack")
	var id int64
	if m := regexp.MustCompile(`notice (\d+): 3 recipients, 1 API calls queued`).FindStringSubmatch(out.stdout); m == nil {
		t.Fatalf("notice send: %s", out.stdout)
	} else {
		json.Unmarshal([]byte(m[1]), &id)
	}
	if _, err := s.AckNotice(context.Background(), id, r.Li); err != nil {
		t.Fatal(err)
	}
	var rep NoticeReport
	if err := json.Unmarshal([]byte(c.ok("report", "notices", "--format", "json").stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.NoticeID != id || rep.Total != 3 || rep.Acked != 1 || len(rep.NotAcked) != 2 || rep.AckedUsers[0].UserID != r.Li || !rep.Ack {
		t.Fatalf("report: %+v", rep)
	}
	var not []string
	for _, u := range rep.NotAcked {
		not = append(not, u.UserID)
	}
	if strings.Join(not, ",") != r.BsLeader+","+r.Liu {
		t.Fatalf("not acknowledged: %v, want %s and %s", not, r.BsLeader, r.Liu)
	}
	csv := c.ok("report", "notices", "--notice", "1", "--format", "csv").stdout
	if !strings.Contains(csv, "已阅,"+r.Li+",李秀英,企业主要负责人,青石镇,") || !strings.Contains(csv, "未阅,"+r.Liu+",刘洋") {
		t.Fatalf("csv report:\n%s", csv)
	}
	c.fails(1, "没有编号为 9 的通知", "report", "notices", "--notice", "9")
	var n int
	s.DB().Get(&n, `SELECT COUNT(*) FROM outbox WHERE batch LIKE 'notice%'`)
	if n != 3 {
		t.Fatalf("%d outbox rows for the notice, want one card per recipient (3)", n)
	}
}
