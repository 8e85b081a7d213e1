package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"safetybot/app"
	"safetybot/e2e"
	"safetybot/handlers"
	"safetybot/wecomsim"
)

func init() {
	register(scenario{name: "letter-100k", run: benchLetter})
	register(scenario{name: "signoff-storm", run: benchSignOffStorm})
}

// Open-letter goals (issue "Rosters and open letters").
const (
	letterPrincipals = 100_000
	letterSimLatency = 50 * time.Millisecond // per message/send call
	letterGoalRSS    = 200 << 20             // peak RSS of the whole process
	stormTaps        = 100_000
	stormRate        = 1000 // taps per second, offered open-loop
	stormGoalP99     = 50 * time.Millisecond
)

var letterTownships = []string{"青石镇", "白沙镇", "临江镇", "桃源镇", "柳溪镇", "松岗镇", "云台街道", "凤鸣街道", "金桥街道", "湖滨街道", "高新区", "经开区", "港区", "古城区"}

// letterBot starts a Postgres bot with n generated principals.
func letterBot(ctx context.Context, env *benchEnv, name string, n int) (*e2e.Bot, func(), error) {
	dbURL, drop, err := env.FreshPostgres(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	b, err := e2e.Start(e2e.Options{DatabaseURL: dbURL, RedisURL: env.RedisURL, DataDir: env.TempDir, App: app.Options{}})
	if err != nil {
		drop()
		return nil, nil, err
	}
	t0 := time.Now()
	if _, err := e2e.SeedPrincipals(ctx, b.Store, 1, n, e2e.Users(name, 1)[0], letterTownships); err != nil {
		b.Kill()
		drop()
		return nil, nil, err
	}
	env.Logf("%s: %d enterprises and principals seeded in %s", name, n, time.Since(t0).Round(time.Millisecond))
	return b, func() { b.Kill(); drop() }, nil
}

// resetPeakRSS makes VmHWM start again from the current RSS (Linux: writing 5
// to clear_refs), after giving freed memory back, so that a scenario's peak is
// its own and not an earlier scenario's.
func resetPeakRSS() {
	runtime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSS reads VmHWM (peak resident set) of this process, in bytes.
func peakRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

// waitSent waits until no outbox row is pending or being sent, polling a
// cheap count (not the simulator's list, whose copy would weigh on the RSS
// being measured).
func waitSent(ctx context.Context, b *e2e.Bot, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	db := b.Store.DB()
	for {
		var open int
		if err := db.GetContext(ctx, &open, `SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')`); err != nil {
			return err
		}
		if open == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d outbox rows still open: %w", open, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// sampleHeap samples the Go heap in use every 50 ms until the returned
// function is called, which returns the highest sample.
func sampleHeap() func() uint64 {
	stop := make(chan struct{})
	done := make(chan uint64)
	go func() {
		var ms runtime.MemStats
		var peak uint64
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				done <- peak
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(stop); return <-done }
}

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }

// benchLetter sends one letter to 100,000 principals on Postgres while every
// message/send call takes 50 ms at the simulator: how many calls, how long
// until every card is delivered, and the process's peak RSS meanwhile (the
// bot, the simulator holding 100,000 deliveries, and the seeding).
func benchLetter(ctx context.Context, env *benchEnv) ([]row, error) {
	n := letterPrincipals
	if env.Quick {
		n = 10_000
	}
	const sc = "letter to 100k principals"
	b, stop, err := letterBot(ctx, env, "letter", n)
	if err != nil {
		return nil, err
	}
	defer stop()
	b.Sim.InjectFault("/cgi-bin/message/send", wecomsim.Fault{Latency: letterSimLatency})
	resetPeakRSS()
	base, _ := peakRSS()
	heapPeak := sampleHeap()

	t0 := time.Now()
	res, err := handlers.SendLetter(ctx, b.Store, b.Config.PublicURL, b.Config.Location,
		handlers.LetterInput{Title: "致全市企业主要负责人的一封信", Body: "# 公开信\n\n请落实安全生产主体责任。", Sender: "bench"}, nil)
	if err != nil {
		return nil, err
	}
	queued := time.Since(t0)
	b.Sender.Wake()
	if err := waitSent(ctx, b, 10*time.Minute); err != nil {
		return nil, err
	}
	all := time.Since(t0)
	peak, err := peakRSS()
	if err != nil {
		return nil, err
	}
	heap := heapPeak()
	if got := len(b.Sim.AllMessages()); got != n {
		return nil, fmt.Errorf("%d cards delivered to %d principals", got, n)
	}
	calls := b.Sim.SendCalls()
	want := (n + 999) / 1000
	return []row{
		metRow(sc, fmt.Sprintf("message/send calls %d (%d principals, %d batches queued)", calls, res.Principals, res.Batches),
			fmt.Sprintf("= ceil(N/1000) = %d", want), calls == want),
		infoRow(sc, fmt.Sprintf("letter stored and %d outbox rows written in %s", res.Principals, queued.Round(time.Millisecond))),
		infoRow(sc, fmt.Sprintf("all %d cards delivered %s after send (sim latency %s per call)", n, all.Round(time.Millisecond), letterSimLatency)),
		metRow(sc, fmt.Sprintf("peak RSS %s (%s before the send; bot + simulator + generator in one process)", mb(peak), mb(base)),
			"≤ "+mb(letterGoalRSS), peak <= letterGoalRSS),
		infoRow(sc, fmt.Sprintf("peak Go heap in use %s (the simulator's record of 100k deliveries is most of it)", mb(int64(heap)))),
	}, nil
}

// tapXML is the template_card_event of a tap on 签收, as WeCom sends it.
func tapXML(corpID, agentID, user, key, taskID, code, ts string) []byte {
	return []byte("<xml><ToUserName><![CDATA[" + corpID + "]]></ToUserName><FromUserName><![CDATA[" + user +
		"]]></FromUserName><CreateTime>" + ts + "</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[" +
		key + "]]></EventKey><TaskId><![CDATA[" + taskID + "]]></TaskId><CardType><![CDATA[button_interaction]]></CardType><ResponseCode><![CDATA[" +
		code + "]]></ResponseCode><AgentID>" + agentID + "</AgentID></xml>")
}

// benchSignOffStorm: 100,000 principals who received the letter tap 签收 at
// 1,000 taps/s (open loop, pre-encrypted callbacks, each with the principal's
// own response code). Intake latency percentiles, and whether and when every
// tap became a signature.
func benchSignOffStorm(ctx context.Context, env *benchEnv) ([]row, error) {
	n := stormTaps
	if env.Quick {
		n = 10_000
	}
	const sc = "sign-off storm"
	b, stop, err := letterBot(ctx, env, "storm", n)
	if err != nil {
		return nil, err
	}
	defer stop()
	res, err := handlers.SendLetter(ctx, b.Store, b.Config.PublicURL, b.Config.Location,
		handlers.LetterInput{Title: "致全市企业主要负责人的一封信", Body: "# 公开信\n\n请落实安全生产主体责任。", Sender: "bench"}, nil)
	if err != nil {
		return nil, err
	}
	b.Sender.Wake()
	if err := waitSent(ctx, b, 10*time.Minute); err != nil {
		return nil, err
	}

	seal, err := e2e.SealerFor(b.Config)
	if err != nil {
		return nil, err
	}
	delivered := b.Sim.AllMessages()
	if len(delivered) != n {
		return nil, fmt.Errorf("%d cards delivered to %d principals", len(delivered), n)
	}
	key := fmt.Sprintf("sign:%d", res.Letter.ID)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	cbs := make([]e2e.Callback, len(delivered))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(delivered); i += workers {
				d := delivered[i]
				cb, err := seal.Seal(ts, fmt.Sprintf("%09d", i), tapXML(b.Config.CorpID, b.Config.AgentID, d.To, key, d.TaskID, d.ResponseCode, ts))
				if err != nil {
					errs <- err
					return
				}
				cbs[i] = cb
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	delivered = nil

	env.Logf("storm: %d taps at %d/s", len(cbs), stormRate)
	t0 := time.Now()
	r := e2e.Open(ctx, e2e.LoadClient(256), b.CallbackURL(), cbs, stormRate)
	offered := time.Since(t0)
	if r.OK() != r.Sent {
		return nil, fmt.Errorf("%d of %d taps answered 200 (statuses %v, first error %v)", r.OK(), r.Sent, r.Statuses, r.FirstErr)
	}
	// Every tap must become a signature.
	var signed int
	deadline := time.Now().Add(15 * time.Minute)
	for {
		if err := b.Store.DB().GetContext(ctx, &signed, b.Store.DB().Rebind(`SELECT COUNT(*) FROM signatures WHERE letter_id = ?`), res.Letter.ID); err != nil {
			return nil, err
		}
		if signed >= n || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	recorded := time.Since(t0)
	var audits int
	if err := b.Store.DB().GetContext(ctx, &audits, `SELECT COUNT(*) FROM audit_log WHERE action = 'letter.sign'`); err != nil {
		return nil, err
	}
	p99 := r.Percentile(99)
	return []row{
		metRow(sc, fmt.Sprintf("intake p99 %s (p50 %s, max %s) for %d taps offered at %d/s over %s", stormMS(p99), stormMS(r.Percentile(50)),
			stormMS(r.Percentile(100)), r.Sent, stormRate, offered.Round(time.Millisecond)), "≤ "+stormMS(stormGoalP99), p99 <= stormGoalP99),
		metRow(sc, fmt.Sprintf("%d signatures, %d audit rows; all recorded %s after the first tap", signed, audits, recorded.Round(time.Millisecond)),
			fmt.Sprintf("all %d recorded", n), signed == n && audits == n),
	}, nil
}

func stormMS(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}
