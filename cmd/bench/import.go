package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"time"

	"safetybot/e2e"
	"safetybot/roster"
	"safetybot/store"
)

func init() { register(scenario{name: "import-5000", run: benchImport}) }

const (
	importRows = 5000
	importGoal = 5 * time.Second
)

// importCSV is a valid enterprise roster of n rows: every fifth principal
// heads two enterprises, every third enterprise names a safety officer who
// serves three.
func importCSV(n int) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"统一社会信用代码", "企业名称", "所属镇街", "行业", "类别", "九小场所类型", "重点监管单位", "主要负责人", "负责人企业微信账号", "安全管理员账号", "联系电话", "地址", "最近检查日期"})
	for i := 1; i <= n; i++ {
		p := i
		if i%5 == 0 {
			p = i - 1
		}
		officer := ""
		if i%3 == 0 {
			officer = fmt.Sprintf("aq%05d", i/9)
		}
		cat, typ := "九小场所", "小餐饮"
		if i%2 == 0 {
			cat, typ = "一般企业", ""
		}
		w.Write([]string{e2e.GeneratedCode(i), fmt.Sprintf("导入测试企业%05d", i), letterTownships[i%len(letterTownships)], "餐饮", cat, typ, "否",
			fmt.Sprintf("负责人%05d", p), fmt.Sprintf("qy%05d", p), officer, fmt.Sprintf("139%08d", i), fmt.Sprintf("人民路%d号", i), "2025-03-01"})
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// benchImport times `safetybot import enterprises` of a 5,000-row CSV —
// read, validate, apply in one transaction — on SQLite and on Postgres, and
// the same file again (every row compared, nothing changed).
func benchImport(ctx context.Context, env *benchEnv) ([]row, error) {
	data, err := importCSV(importRows)
	if err != nil {
		return nil, err
	}
	var rows []row
	for _, dialect := range []string{"sqlite", "postgres"} {
		var url string
		drop := func() {}
		if dialect == "sqlite" {
			url, err = env.SQLiteURL("import")
		} else {
			url, drop, err = env.FreshPostgres(ctx, "import")
		}
		if err != nil {
			return rows, err
		}
		got, err := importOnce(ctx, url, data, dialect)
		drop()
		rows = append(rows, got...)
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

func importOnce(ctx context.Context, url string, data []byte, dialect string) ([]row, error) {
	s, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		return nil, err
	}
	run := func() (*roster.Report, time.Duration, error) {
		t0 := time.Now()
		res, err := roster.ReadEnterprises(bytes.NewReader(data), "roster.csv")
		if err != nil {
			return nil, 0, err
		}
		rep, err := roster.ApplyEnterprises(ctx, s, res, roster.ApplyOptions{})
		return rep, time.Since(t0), err
	}
	first, d1, err := run()
	if err != nil {
		return nil, err
	}
	if first.Created != importRows {
		return nil, fmt.Errorf("%s: first import: %s", dialect, first.Summary())
	}
	again, d2, err := run()
	if err != nil {
		return nil, err
	}
	sc := "import 5,000 rows, " + dialect
	return []row{
		metRow(sc, fmt.Sprintf("%s (%s)", d1.Round(time.Millisecond), first.Summary()), "< "+importGoal.String(), d1 < importGoal),
		metRow(sc+", again", fmt.Sprintf("%s (%s)", d2.Round(time.Millisecond), again.Summary()), "< "+importGoal.String(), d2 < importGoal),
	}, nil
}
