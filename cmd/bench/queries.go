package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"safetybot/handlers"
	"safetybot/messages"
	"safetybot/store"
)

func init() { register(scenario{name: "queries-100k", run: benchQueries}) }

// queriesGoal is the bound for each compliance query's p95.
const queriesGoal = 20 * time.Millisecond

// Sizes of the query benchmark's city.
const (
	qbTownships   = 14
	qbDepartments = 10
	qbHazardsPer  = 10 // per enterprise: 100,000 enterprises → 1,000,000 hazards
)

var qbDepts = []string{"应急管理局", "住建局", "交运局", "公安局", "质监局", "商务局", "工商局", "农委", "消防救援支队", "教育局"}

func qbTownship(t int) string { return fmt.Sprintf("第%02d板块", t) }

// benchQueries fills Postgres with 100,000 enterprises and 1,000,000 hazards
// (multi-row INSERTs) and times every chat query the way the bot answers it:
// the router's handler inside one transaction, as each role asks, with a
// random asker of the role each time. It reports each query's p95 and logs
// EXPLAIN ANALYZE of the statements of the slowest one.
func benchQueries(ctx context.Context, env *benchEnv) ([]row, error) {
	n, iters := 100_000, 200
	if env.Quick {
		n, iters = 10_000, 30
	}
	s, closeStore, err := env.FreshStore(ctx, "queries", store.Options{})
	if err != nil {
		return nil, err
	}
	defer closeStore()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	day := time.Now().In(loc)
	env.Logf("queries: seeding %d enterprises and %d hazards", n, n*qbHazardsPer)
	t0 := time.Now()
	if err := seedQueries(ctx, s, n, day); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	env.Logf("queries: seeded in %s", time.Since(t0).Round(time.Second))
	return measureQueries(ctx, env, s, n, iters, loc)
}

// measureQueries asks every query iters times on a seeded store of n
// enterprises and returns a row per query.
func measureQueries(ctx context.Context, env *benchEnv, s *store.Store, n, iters int, loc *time.Location) ([]row, error) {
	router := handlers.New(handlers.Deps{Store: s, Location: loc})
	rng := rand.New(rand.NewPCG(1, 2))
	township := func() string { return fmt.Sprintf("tw%d_%d", rng.IntN(qbTownships)+1, rng.IntN(3)+1) }
	leader := func() string { return fmt.Sprintf("tw%d_1", rng.IntN(qbTownships)+1) }
	department := func() string { return fmt.Sprintf("dp%d_%d", rng.IntN(qbDepartments)+1, rng.IntN(3)+1) }
	office := func() string { return fmt.Sprintf("of%d", rng.IntN(2)+1) }
	principal := func() string { return fmt.Sprintf("p%d", rng.IntN(n)+1) }
	type ask struct {
		name string
		who  func() string
		text func(user string) string
		pre  string // asked first, not timed (更多 needs an open list)
	}
	word := func(w string) func(string) string { return func(string) string { return w } }
	// 企业 + a part of the name of an enterprise of the asker's township.
	ownEnterprise := func(user string) string {
		var t int
		fmt.Sscanf(user, "tw%d_", &t)
		i := rng.IntN(n/qbTownships)*qbTownships + t - 1 // township i%14+1 = t
		if i < 1 {
			i += qbTownships
		}
		return fmt.Sprintf("企业 %d号", i)
	}
	anyEnterprise := func(string) string { return fmt.Sprintf("企业 %d号", rng.IntN(n)+1) }
	asks := []ask{
		// The floor: routing and the asker's lookups, no query (shows how
		// loaded the machine is).
		{"帮助 (baseline: router only)", township, word("帮助"), ""},
		{"本镇进度 (township)", township, word("本镇进度"), ""},
		{"进度 (department)", department, word("进度"), ""},
		{"全市进度 (office)", office, word("全市进度"), ""},
		{"未签收 (township)", township, word("未签收"), ""},
		{"未签收 (office)", office, word("未签收"), ""},
		{"更多 (township 未签收 page 2)", township, word(messages.WordMore), "未签收"},
		{"未自查 (township)", township, word("未自查"), ""},
		{"逾期隐患 (township)", township, word("逾期隐患"), ""},
		{"逾期隐患 (office)", office, word("逾期隐患"), ""},
		{"两年未检查 (township)", township, word("两年未检查"), ""},
		{"重大隐患 (department)", department, word("重大隐患"), ""},
		{"企业 名称 (township)", township, ownEnterprise, ""},
		{"企业 名称 (office)", office, anyEnterprise, ""},
		{"我的情况 (principal)", principal, word("我的情况"), ""},
		{"隐患 (principal)", principal, word("隐患"), ""},
		{"期限 (principal)", principal, word("期限"), ""},
		{"我的带队检查 (leader)", leader, word("我的带队检查"), ""},
		{"抽查任务 (department)", department, word("抽查任务"), ""},
	}
	handle := func(ctx context.Context, user, text string) (messages.Reply, error) {
		var reply messages.Reply
		err := s.InTx(ctx, func(ctx context.Context) error {
			var err error
			reply, err = router.Handle(ctx, messages.Inbound{From: user, Kind: messages.KindText, Text: text, CreateTime: time.Now()})
			return err
		})
		return reply, err
	}
	name := fmt.Sprintf("queries-%dk", n/1000)
	var rows []row
	worst, worstP95 := -1, time.Duration(0)
	var worstUser, worstText string
	for k, a := range asks {
		lat := make([]time.Duration, 0, iters)
		for i := 0; i < iters; i++ {
			user := a.who()
			text := a.text(user)
			if a.pre != "" {
				if _, err := handle(ctx, user, a.pre); err != nil {
					return rows, fmt.Errorf("%s: %w", a.name, err)
				}
			}
			start := time.Now()
			reply, err := handle(ctx, user, text)
			lat = append(lat, time.Since(start))
			if err != nil {
				return rows, fmt.Errorf("%s as %s: %w", a.name, user, err)
			}
			if len(reply) != 1 {
				return rows, fmt.Errorf("%s as %s: %d messages", a.name, user, len(reply))
			}
		}
		slices.Sort(lat)
		p50, p95 := lat[len(lat)/2], lat[(len(lat)*95+99)/100-1]
		if k == 0 {
			rows = append(rows, infoRow(name+" "+a.name, fmt.Sprintf("p95 %.1f ms (p50 %.1f ms, %d asks)", qms(p95), qms(p50), iters)))
			continue
		}
		rows = append(rows, metRow(name+" "+a.name, fmt.Sprintf("p95 %.1f ms (p50 %.1f ms, %d asks)", qms(p95), qms(p50), iters),
			"p95 ≤ 20 ms", p95 <= queriesGoal || env.Quick))
		if p95 > worstP95 {
			worst, worstP95 = k, p95
			worstUser = a.who()
			worstText = a.text(worstUser)
		}
	}
	if worst >= 0 {
		env.Logf("queries: slowest is %s (p95 %.1f ms); EXPLAIN ANALYZE of its statements as %s:", asks[worst].name, qms(worstP95), worstUser)
		if err := explainAsk(ctx, env, s, func(ctx context.Context) error { _, err := handle(ctx, worstUser, worstText); return err }); err != nil {
			return rows, err
		}
	}
	return rows, nil
}

func qms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// explainAsk runs one question with its SQL recorded and logs EXPLAIN
// (ANALYZE, BUFFERS) of each scoped statement, slowest last.
func explainAsk(ctx context.Context, env *benchEnv, s *store.Store, run func(context.Context) error) error {
	rctx, rec := store.RecordQueries(ctx)
	if err := run(rctx); err != nil {
		return err
	}
	for _, q := range rec.Queries {
		var plan []string
		if err := s.DB().SelectContext(ctx, &plan, "EXPLAIN (ANALYZE, BUFFERS) "+q.SQL, q.Args...); err != nil {
			return fmt.Errorf("explain: %w", err)
		}
		env.Logf("queries: %s\n  args %v\n%s\n", strings.Join(strings.Fields(q.SQL), " "), q.Args, "    "+strings.Join(plan, "\n    "))
	}
	return nil
}

// seedQueries writes the city with multi-row INSERTs: townships, departments,
// n enterprises each with a principal, officials (three per township and per
// department, the first a leader), office staff, an open letter to every
// enterprise signed by 70%, this and last month's self-inspections, ten
// hazards per enterprise (30% open, 5% major, deadlines ±60 days around day,
// some tracked), led inspections and spot-check assignments.
func seedQueries(ctx context.Context, s *store.Store, n int, now time.Time) error {
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	date := func(off int) string { return day.AddDate(0, 0, off).Format("2006-01-02") }
	period := day.Format("2006-01")
	lastPeriod := day.AddDate(0, 0, -day.Day()).Format("2006-01")
	ts := "'" + now.UTC().Format("2006-01-02 15:04:05") + "+00'"
	db := s.DB()
	// insert writes rows (each a "(…)" literal tuple) in statements of chunk rows.
	insert := func(head string, count, chunk int, tuple func(i int) string) error {
		var b strings.Builder
		for start := 0; start < count; start += chunk {
			b.Reset()
			b.WriteString(head)
			b.WriteString(" VALUES ")
			for i := start; i < min(start+chunk, count); i++ {
				if i > start {
					b.WriteByte(',')
				}
				b.WriteString(tuple(i))
			}
			if _, err := db.ExecContext(ctx, b.String()); err != nil {
				return fmt.Errorf("%.50s: %w", head, err)
			}
		}
		return nil
	}
	if err := insert(`INSERT INTO townships (name, created_at)`, qbTownships, 100, func(i int) string {
		return fmt.Sprintf("('%s', %s)", qbTownship(i+1), ts)
	}); err != nil {
		return err
	}
	if err := insert(`INSERT INTO departments (name, created_at)`, qbDepartments, 100, func(i int) string {
		return fmt.Sprintf("('%s', %s)", qbDepts[i], ts)
	}); err != nil {
		return err
	}
	cats := []string{"九小场所", "五小企业", "一般企业"}
	// Enterprise i (1-based) is in township i%14+1 and department i%10.
	if err := insert(`INSERT INTO enterprises (id, credit_code, name, township, sector, category, small_type, key_unit, department, phone, address, last_inspected, active, created_at, updated_at)`,
		n, 2000, func(k int) string {
			i := k + 1
			last := "NULL"
			if x := mix(uint64(i) + 1e9); x%3 != 0 {
				last = "'" + date(-int((x>>8)%1500)) + "'"
			}
			return fmt.Sprintf("(%d, '91BQ%014d', '%s%d号企业', '%s', '', '%s', '', %t, '%s', '1380%07d', '', %s, %t, %s, %s)",
				i, i, qbTownship(i%qbTownships+1), i, qbTownship(i%qbTownships+1), cats[i%3], mix(uint64(i)+4e9)%10 == 0, qbDepts[i%qbDepartments], i, last, i%100 != 0, ts, ts)
		}); err != nil {
		return err
	}
	if err := insert(`INSERT INTO people (id, userid, name, role, township, department, leader, created_at, updated_at)`, n, 2000, func(k int) string {
		i := k + 1
		return fmt.Sprintf("(%d, 'p%d', '负责人%d', 'principal', '%s', '', FALSE, %s, %s)", i, i, i, qbTownship(i%qbTownships+1), ts, ts)
	}); err != nil {
		return err
	}
	if err := insert(`INSERT INTO contacts (enterprise_id, person_id, role)`, n, 5000, func(k int) string {
		return fmt.Sprintf("(%d, %d, 'principal')", k+1, k+1)
	}); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `SELECT setval('people_id_seq', (SELECT MAX(id) FROM people)), setval('enterprises_id_seq', (SELECT MAX(id) FROM enterprises))`); err != nil {
		return err
	}
	var officials []string
	for t := 1; t <= qbTownships; t++ {
		for k := 1; k <= 3; k++ {
			officials = append(officials, fmt.Sprintf("('tw%d_%d', '镇干部%d_%d', 'township', '%s', '', %t, %s, %s)", t, k, t, k, qbTownship(t), k == 1, ts, ts))
		}
	}
	for d := 1; d <= qbDepartments; d++ {
		for k := 1; k <= 3; k++ {
			officials = append(officials, fmt.Sprintf("('dp%d_%d', '部门干部%d_%d', 'department', '', '%s', %t, %s, %s)", d, k, d, k, qbDepts[d-1], k == 1, ts, ts))
		}
	}
	officials = append(officials, fmt.Sprintf("('of1', '安委办一', 'office', '', '市安委办', FALSE, %s, %s)", ts, ts),
		fmt.Sprintf("('of2', '安委办二', 'office', '', '市安委办', FALSE, %s, %s)", ts, ts))
	if err := insert(`INSERT INTO people (userid, name, role, township, department, leader, created_at, updated_at)`, len(officials), 1000,
		func(i int) string { return officials[i] }); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`INSERT INTO letters (title, body, sha256, deadline, scope, sender, task_id, created_at)
		VALUES ('致全市企业主要负责人的一封信', '正文', 'x', '%s', '{}', '市安委办', 'benchq-letter', %s)`, date(10), ts)); err != nil {
		return err
	}
	if err := insert(`INSERT INTO letter_recipients (letter_id, enterprise_id, userid)`, n, 5000, func(k int) string {
		return fmt.Sprintf("(1, %d, 'p%d')", k+1, k+1)
	}); err != nil {
		return err
	}
	var signed []int
	for i := 1; i <= n; i++ {
		if mix(uint64(i)+2e9)%10 < 7 {
			signed = append(signed, i)
		}
	}
	if err := insert(`INSERT INTO signatures (letter_id, enterprise_id, userid, signed_at, sha256, method)`, len(signed), 5000, func(k int) string {
		return fmt.Sprintf("(1, %d, 'p%d', %s, 'x', 'button')", signed[k], signed[k], ts)
	}); err != nil {
		return err
	}
	// This month: 40% signed, 20% waiting for the signature; last month: 80% signed.
	type sub struct {
		e             int
		period, state string
	}
	var subs []sub
	for i := 1; i <= n; i++ {
		x := mix(uint64(i) + 3e9)
		switch x % 5 {
		case 0, 1:
			subs = append(subs, sub{i, period, "已签字"})
		case 2:
			subs = append(subs, sub{i, period, "待签字"})
		}
		if (x>>8)%5 != 4 && period != lastPeriod {
			subs = append(subs, sub{i, lastPeriod, "已签字"})
		}
	}
	if err := insert(`INSERT INTO submissions (enterprise_id, period, form_key, form_version, version, answers, filler, signer, state, created_at)`, len(subs), 4000, func(k int) string {
		return fmt.Sprintf("(%d, '%s', 'general', '1', 1, '{}', 'p%d', 'p%d', '%s', %s)", subs[k].e, subs[k].period, subs[k].e, subs[k].e, subs[k].state, ts)
	}); err != nil {
		return err
	}
	open := []string{"整改中", "待整改", "待复查"}
	closed := []string{"已销号", "已整改", "已销号", "已整改", "已销号", "已整改", "关闭取缔"}
	if err := insert(`INSERT INTO hazards (enterprise_id, source, description, grade, status, deadline, found_at, found_by, tracker, photos, updated_at)`,
		n*qbHazardsPer, 4000, func(k int) string {
			i, h := k/qbHazardsPer+1, k%qbHazardsPer
			x := mix(uint64(k)) // grade, status and deadline independent of the enterprise's township and department
			grade := "一般"
			if x%20 == 0 {
				grade = "重大"
			}
			var status string
			if y := (x >> 8) % 10; y < 3 {
				status = open[y]
			} else {
				status = closed[y-3]
			}
			tracker := ""
			if grade == "重大" && (x>>16)%2 == 0 {
				tracker = fmt.Sprintf("dp%d_%d", i%qbDepartments+1, (x>>20)%3+1)
			}
			return fmt.Sprintf("(%d, '自查', '隐患%d-%d：消防设施未定期检查', '%s', '%s', '%s', %s, 'p%d', '%s', '[]', %s)",
				i, i, h, grade, status, date(int((x>>24)%121)-60), ts, i, tracker, ts)
		}); err != nil {
		return err
	}
	// Two led inspections this month per township leader, one last month.
	var insp []string
	for t := 1; t <= qbTownships; t++ {
		for k, off := range []int{0, 0, -day.Day()} {
			e := (k*1000+t*7)%n + 1
			insp = append(insp, fmt.Sprintf("('带队检查', %d, 'tw%d_1', TRUE, '%s', '已登记', %s)", e, t, date(off), ts))
		}
	}
	if err := insert(`INSERT INTO inspections (kind, enterprise_id, inspector, led, inspected_on, status, created_at)`, len(insp), 1000,
		func(i int) string { return insp[i] }); err != nil {
		return err
	}
	// One spot check per department: 60 key units each, round robin.
	for d := 1; d <= qbDepartments; d++ {
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`INSERT INTO spot_checks (department, township, percent, seed, created_at) VALUES ('%s', '', 10, %d, %s)`, qbDepts[d-1], d, ts)); err != nil {
			return err
		}
		if err := insert(`INSERT INTO spot_check_assignments (spot_check_id, enterprise_id, official)`, 60, 100, func(k int) string {
			e := k*qbDepartments*10 + d
			return fmt.Sprintf("(%d, %d, 'dp%d_%d')", d, e, d, k%3+1)
		}); err != nil {
			return err
		}
	}
	_, err := db.ExecContext(ctx, `VACUUM ANALYZE`)
	return err
}

// mix is SplitMix64's finaliser: a well-spread deterministic hash of k.
func mix(k uint64) uint64 {
	k += 0x9e3779b97f4a7c15
	k = (k ^ (k >> 30)) * 0xbf58476d1ce4e5b9
	k = (k ^ (k >> 27)) * 0x94d049bb133111eb
	return k ^ (k >> 31)
}
