package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"safetybot/report"
	"safetybot/store"
)

func init() { register(scenario{name: "reports-100k", run: benchReports}) }

// reportsGoal is the bound for the summary workbook on 100,000 enterprises.
const reportsGoal = 10 * time.Second

// benchReports fills a Postgres database with a campaign of 100,000
// enterprises (2% deactivated) — principals, a letter signed by 70%, two months of
// self-inspections, about 64,000 hazards with their history, 67,000
// inspections, 56 leaders — and times the reports an office downloads: the
// summary workbook (every sheet, every list), the hazard ledger and the
// campaign summary. Each report reads one snapshot and writes a file.
func benchReports(ctx context.Context, env *benchEnv) ([]row, error) {
	n := 100_000
	if env.Quick {
		n = 10_000
	}
	s, closeStore, err := env.FreshStore(ctx, "reports", store.Options{})
	if err != nil {
		return nil, err
	}
	defer closeStore()
	env.Logf("reports: seeding %d enterprises", n)
	t0 := time.Now()
	if err := seedReports(ctx, s, n); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	env.Logf("reports: seeded in %s", time.Since(t0).Round(time.Millisecond))
	loc, _ := time.LoadLocation("Asia/Shanghai")
	opt := report.Options{Now: time.Date(2026, 8, 20, 10, 0, 0, 0, loc), Location: loc}
	dir, err := os.MkdirTemp(env.TempDir, "reports-")
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("reports-%dk", n/1000)

	// The summary workbook: read, compute, write every sheet.
	load := load1()
	cpu0 := cpuTime()
	start := time.Now()
	sum, err := report.Summary(ctx, s, opt)
	if err != nil {
		return nil, err
	}
	computed := time.Since(start)
	path := filepath.Join(dir, "summary.xlsx")
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	tables := sum.Tables(true)
	if err := report.Write(f, "xlsx", sum, tables); err != nil {
		f.Close()
		return nil, err
	}
	f.Close()
	total := time.Since(start)
	cpu := cpuTime() - cpu0
	fi, _ := os.Stat(path)
	cells := 0
	for _, t := range tables {
		cells += len(t.Rows) * len(t.Headers)
	}
	if active := n - n/50; sum.City.Enterprises != active {
		return nil, fmt.Errorf("summary counts %d enterprises, seeded %d active", sum.City.Enterprises, active)
	}
	rows := []row{
		metRow(name+" summary XLSX (Postgres)", fmt.Sprintf("%.2f s (%d sheets, %.1fM cells, %.1f MB; %.1f s CPU, load average %s before)",
			total.Seconds(), len(tables), float64(cells)/1e6, float64(fi.Size())/1e6, cpu.Seconds(), load),
			"< 10 s", total < reportsGoal || env.Quick),
		infoRow(name+" summary: snapshot read + figures", fmt.Sprintf("%.2f s (%d hazards, %d leaders)", computed.Seconds(), len(sum.Hazards), len(sum.Leaders))),
	}

	start = time.Now()
	hz, err := report.Hazards(ctx, s, opt)
	if err == nil {
		f, ferr := os.Create(filepath.Join(dir, "hazards.xlsx"))
		if ferr != nil {
			return nil, ferr
		}
		err = report.Write(f, "xlsx", hz, hz.Tables())
		f.Close()
	}
	if err != nil {
		return nil, err
	}
	rows = append(rows, infoRow(name+" hazard ledger XLSX", fmt.Sprintf("%.2f s (%d hazards)", time.Since(start).Seconds(), len(hz.Hazards))))

	start = time.Now()
	cr, err := report.Campaign(ctx, s, report.CampaignOptions{Options: opt})
	if err == nil {
		f, ferr := os.Create(filepath.Join(dir, "campaign.docx"))
		if ferr != nil {
			return nil, ferr
		}
		err = cr.Write(f, "docx")
		f.Close()
	}
	if err != nil {
		return nil, err
	}
	rows = append(rows, infoRow(name+" campaign summary DOCX", fmt.Sprintf("%.2f s (%d cases)", time.Since(start).Seconds(), len(cr.Cases))))
	return rows, nil
}

// seedReports writes the campaign with set-based SQL (ids start at 1 in the
// fresh database, so enterprise i has principal i).
func seedReports(ctx context.Context, s *store.Store, n int) error {
	stmts := []string{
		`INSERT INTO campaigns (name, starts_on, ends_on, settings, created_at) VALUES ('2026年安全生产大检查', '2026-07-01', '2026-09-30', '{}', now())`,
		`INSERT INTO townships (name) SELECT '第' || lpad(i::text, 2, '0') || '板块' FROM generate_series(1, 14) i`,
		`INSERT INTO enterprises (credit_code, name, township, category, small_type, key_unit, last_inspected, active, created_at, updated_at)
			SELECT '91BENCH' || lpad(i::text, 11, '0'), '企业' || i || '号', '第' || lpad((i % 14 + 1)::text, 2, '0') || '板块',
				(ARRAY['九小场所', '五小企业', '一般企业'])[i % 3 + 1], '', i % 10 = 0,
				CASE WHEN i % 3 = 0 THEN NULL ELSE (date '2022-01-01' + (i % 1600))::text END, i % 50 <> 0, now(), now()
			FROM generate_series(1, $1) i`,
		`INSERT INTO people (userid, name, role, township, created_at, updated_at)
			SELECT 'p' || i, '负责人' || i, 'principal', '', now(), now() FROM generate_series(1, $1) i`,
		`INSERT INTO contacts (enterprise_id, person_id, role) SELECT i, i, 'principal' FROM generate_series(1, $1) i`,
		`INSERT INTO people (userid, name, role, township, leader, created_at, updated_at)
			SELECT 'ld' || i, '领导' || i, 'township', '第' || lpad((i % 14 + 1)::text, 2, '0') || '板块', TRUE, now(), now() FROM generate_series(1, 42) i`,
		`INSERT INTO people (userid, name, role, department, leader, created_at, updated_at)
			SELECT 'dl' || i, '部门领导' || i, 'department', '部门' || i, TRUE, now(), now() FROM generate_series(1, 14) i`,
		`INSERT INTO letters (campaign_id, title, body, sha256, scope, sender, task_id, created_at)
			VALUES (1, '致全市企业的一封公开信', '正文', 'x', '{}', '市安委办', 'benchletter', '2026-07-03 09:00+08')`,
		`INSERT INTO letter_recipients (letter_id, enterprise_id, userid) SELECT 1, i, 'p' || i FROM generate_series(1, $1) i`,
		`INSERT INTO signatures (letter_id, enterprise_id, userid, signed_at, sha256, method)
			SELECT 1, i, 'p' || i, '2026-07-05 10:00+08'::timestamptz + (i % 600) * interval '1 hour', 'x', 'button'
			FROM generate_series(1, $1) i WHERE i % 10 < 7`,
		`INSERT INTO submissions (enterprise_id, period, form_key, form_version, version, answers, filler, signer, signed_at, state, created_at)
			SELECT i, p, 'general', '1', 1, '{}', 'p' || i, 'p' || i, CASE WHEN i % 3 = 0 THEN now() END,
				(ARRAY['已签字', '待签字', '已退回'])[(i + length(p)) % 3 + 1], now()
			FROM generate_series(1, $1) i, unnest(ARRAY['2026-07', '2026-08']) p WHERE i % 5 <> 0`,
		`INSERT INTO hazards (enterprise_id, source, description, grade, status, deadline, found_at, found_by, closed_at, tracker, photos, updated_at)
			SELECT i, '自查', '隐患描述' || i || '-' || k,
				CASE WHEN i % 20 = 0 THEN '重大' WHEN i % 20 < 3 THEN '较大' ELSE '一般' END,
				(ARRAY['待整改', '整改中', '待复查', '已销号', '已整改', '已销号', '停产整改', '关闭取缔', '已整改', '已销号'])[(i / 3 + k) % 10 + 1],
				('2026-07-10'::date + (i % 50))::text, '2026-07-02 09:00+08'::timestamptz + (i % 48) * interval '1 day',
				'p' || i, CASE WHEN (i / 3 + k) % 10 IN (3, 4, 5, 8, 9) THEN '2026-07-05 09:00+08'::timestamptz + (i % 60) * interval '1 day' END,
				CASE WHEN i % 4 = 0 THEN 'ld' || (i % 42 + 1) ELSE '' END,
				CASE WHEN i % 3 = 0 THEN '["' || md5(i::text) || md5(k::text) || '"]' ELSE '[]' END, now()
			FROM generate_series(1, $1) i, generate_series(1, 2) k WHERE i % 2 = 0 OR (k = 1 AND i % 7 = 0) OR (k = 2 AND i % 4 = 0)`,
		`INSERT INTO hazard_events (hazard_id, at, actor, from_status, to_status, note, photos)
			SELECT id, found_at + interval '1 day', 'official', '待整改', status, '', '[]' FROM hazards WHERE status IN ('停产整改', '关闭取缔', '已销号')`,
		`INSERT INTO hazard_events (hazard_id, at, actor, from_status, to_status, note, photos)
			SELECT id, found_at + interval '2 hours', 'official', '待整改', '整改中', '已制定方案', '[]' FROM hazards WHERE id % 3 = 0`,
		`INSERT INTO inspections (kind, enterprise_id, inspector, led, inspected_on, status, created_at)
			SELECT CASE WHEN i % 9 = 1 THEN '带队检查' ELSE '现场检查' END, i,
				CASE WHEN i % 9 = 1 THEN 'ld' || (i % 42 + 1) ELSE 'insp' || (i % 200) END, i % 9 = 1,
				('2026-07-01'::date + (i % 51))::text, '已完成', now()
			FROM generate_series(1, $1) i WHERE i % 3 <> 0`,
		`ANALYZE`,
	}
	for _, q := range stmts {
		var args []any
		if containsParam(q) {
			args = append(args, n)
		}
		if _, err := s.DB().ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%.60s…: %w", q, err)
		}
	}
	return nil
}

// cpuTime is the CPU time this process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func containsParam(q string) bool {
	for i := 0; i+1 < len(q); i++ {
		if q[i] == '$' && q[i+1] == '1' {
			return true
		}
	}
	return false
}
