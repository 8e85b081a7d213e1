package main

import (
	"archive/zip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"safetybot/report"
	"safetybot/report/reporttest"
	"safetybot/store"
	"safetybot/store/storetest"
)

// seededCLI runs the command against a database holding the hand-made
// campaign (reporttest.Small) with its photos in the data dir. The command
// runs on today's date, so only figures that do not depend on it are checked.
func seededCLI(t *testing.T, dialect string) *cli {
	t.Helper()
	u := storetest.URL(t, dialect)
	fx := reporttest.Small()
	clk := reporttest.NewClock(fx.Now)
	s, err := store.Open(context.Background(), u, store.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := newCLI(t, u)
	c.env["SAFETYBOT_DATA_DIR"] = filepath.Join(c.dir, "data")
	reporttest.Seed(t, s, clk, c.env["SAFETYBOT_DATA_DIR"], fx)
	s.Close()
	return c
}

func TestReportCommands(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			c := seededCLI(t, d)

			r := c.ok("report", "summary", "--format", "json")
			var sum report.SummaryReport
			if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
				t.Fatalf("summary json: %v\n%s", err, r.stdout)
			}
			if sum.Period.Campaign != "2026年安全生产大检查" || sum.City.Enterprises != 7 || sum.City.LetterSigned != 4 || sum.City.Hazards.Found != 8 ||
				sum.City.Hazards.Rectified != 3 || sum.City.ShutDown != 1 || sum.City.CampaignSubmitted != 4 {
				t.Errorf("summary city line = %+v", sum.City)
			}
			r = c.ok("report", "summary", "--township", "白沙镇")
			if !strings.Contains(r.stdout, "白沙镇") || strings.Contains(r.stdout, "青石镇") || strings.Contains(r.stdout, "公开信签收") {
				t.Errorf("summary table for 白沙镇:\n%s", r.stdout)
			}
			r = c.ok("report", "summary", "--list", "--format", "csv")
			if !strings.Contains(r.stdout, "青石丙宾馆") || !strings.Contains(r.stdout, "未签收") {
				t.Errorf("summary --list lacks the names")
			}
			out := filepath.Join(c.dir, "汇总.xlsx")
			c.ok("report", "summary", "--format", "xlsx", "--out", out)
			f, err := excelize.OpenFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if sheets := f.GetSheetList(); len(sheets) < 7 || sheets[1] != "公开信签收" {
				t.Errorf("xlsx sheets = %v (the workbook always has the lists)", sheets)
			}
			f.Close()
			c.fails(1, "没有名为“不存在”的镇街", "report", "summary", "--township", "不存在")
			c.fails(1, "没有名为“2019”的专项活动", "report", "summary", "--campaign", "2019")

			r = c.ok("report", "hazards", "--status", "关闭取缔", "--format", "csv")
			if !strings.Contains(r.stdout, "青石丁作坊") || strings.Contains(r.stdout, "反应釜无泄压装置") {
				t.Errorf("hazards --status 关闭取缔:\n%s", r.stdout)
			}
			c.fails(1, "隐患状态“随便”不正确", "report", "hazards", "--status", "随便")

			zipOut := filepath.Join(c.dir, "photos.zip")
			r = c.ok("report", "photos", "--township", "青石镇", "--out", zipOut)
			if !strings.Contains(r.stderr, "2 张照片") {
				t.Errorf("photos stderr: %s", r.stderr)
			}
			zr, err := zip.OpenReader(zipOut)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range zr.File {
				names = append(names, f.Name)
			}
			zr.Close()
			if len(names) != 3 || !strings.HasPrefix(names[0], "青石镇/青石甲化工厂/") {
				t.Errorf("photos.zip = %v", names)
			}
			c.fails(2, "not both", "report", "photos", "--hazard", "1", "--township", "青石镇", "--out", zipOut)
			c.fails(1, "没有编号为 999 的隐患", "report", "photos", "--hazard", "999", "--out", zipOut)

			doc := filepath.Join(c.dir, "总结.docx")
			c.ok("report", "campaign", "--out", doc)
			if b, err := os.ReadFile(doc); err != nil || !strings.HasPrefix(string(b), "PK") {
				t.Errorf("campaign docx: %v", err)
			}
			page := filepath.Join(c.dir, "总结.html")
			c.ok("report", "campaign", "--out", page)
			if b, _ := os.ReadFile(page); !strings.Contains(string(b), "四、重大隐患整改案例") || !strings.Contains(string(b), "data:image/png;base64,") {
				t.Error("campaign html lacks the cases or their photos")
			}
			c.fails(2, ".docx or .html", "report", "campaign", "--out", filepath.Join(c.dir, "x.pdf"))

			r = c.ok("help")
			for _, k := range []string{"campaign", "hazards", "letters", "photos", "summary"} {
				if !strings.Contains(r.stdout, k) {
					t.Errorf("help does not list report %s", k)
				}
			}
		})
	}
}
