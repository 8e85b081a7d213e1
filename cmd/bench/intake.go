package main

import (
	"context"
	"fmt"
	"time"

	"safetybot/app"
	"safetybot/bot/wecom"
	"safetybot/e2e"
)

func init() { register(scenario{name: "intake", run: benchIntake}) }

// Intake goals on the 2-core machine (DESIGN.md, issue "The WeCom edge").
const (
	intakeGoalRate  = 5000                  // callbacks/s, durable, Postgres
	intakeGoalRatio = 0.5                   // of verify+decrypt alone
	intakeGoalP99   = 25 * time.Millisecond // at 1,000/s offered
	intakeConns     = 256                   // concurrent keep-alive connections of the generator
)

// benchIntake measures the callback endpoint in one run:
//
//	(a) the app's own Intake (verify, decrypt, parse, group-commit into
//	    Postgres, answer), with the processor and sender paused so that only the
//	    intake is measured;
//	(b) the same Crypto in a handler that verifies, decrypts and answers
//	    without storing;
//	(c) the same minimal handler written with silenceper/wechat's helpers
//	    (util.Signature, util.DecryptMsg): the peer library's ceiling;
//
// and (a)'s latency at a fixed 1,000 callbacks/s. The generator pre-encrypts
// every callback (distinct MsgIds) and keeps intakeConns connections open.
func benchIntake(ctx context.Context, env *benchEnv) ([]row, error) {
	dbURL, drop, err := env.FreshPostgres(ctx, "intake")
	if err != nil {
		return nil, err
	}
	defer drop()
	b, err := e2e.New(e2e.Options{DatabaseURL: dbURL, RedisURL: env.RedisURL, DataDir: env.TempDir,
		App: app.Options{}})
	if err != nil {
		return nil, err
	}
	defer b.Kill()
	stop := b.ServeIntake()
	defer stop()

	n, warm, open := 100_000, 5_000, 10_000
	if env.Quick {
		n, warm, open = 10_000, 1_000, 2_000
	}
	seal, err := e2e.SealerFor(b.Config)
	if err != nil {
		return nil, err
	}
	users := e2e.Users("bench", 1000)
	msgID := e2e.FirstMsgID()
	env.Logf("intake: encrypting %d callbacks", n+warm+open)
	all, err := seal.Callbacks(users, n+warm+open, msgID)
	if err != nil {
		return nil, err
	}
	warmup, full, fixed := all[:warm], all[warm:warm+n], all[warm+n:]
	hc := e2e.LoadClient(intakeConns)
	target := b.CallbackURL()

	e2e.Closed(ctx, hc, target, warmup, intakeConns)
	env.Logf("intake: (a) %d callbacks into Postgres", n)
	a := e2e.Closed(ctx, hc, target, full, intakeConns)
	if err := allOK(a, "(a)"); err != nil {
		return nil, err
	}

	crypto, err := wecom.NewCrypto(b.Config.Token, b.Config.AESKey, b.Config.CorpID)
	if err != nil {
		return nil, err
	}
	bURL, bStop, err := e2e.Serve(e2e.VerifyDecryptHandler(crypto, b.Config.MaxSkew))
	if err != nil {
		return nil, err
	}
	e2e.Closed(ctx, hc, bURL, warmup, intakeConns)
	env.Logf("intake: (b) verify+decrypt only")
	bRes := e2e.Closed(ctx, hc, bURL, full, intakeConns)
	bStop()
	if err := allOK(bRes, "(b)"); err != nil {
		return nil, err
	}

	cURL, cStop, err := e2e.Serve(e2e.PeerHandler(b.Config.Token, b.Config.AESKey, b.Config.CorpID))
	if err != nil {
		return nil, err
	}
	e2e.Closed(ctx, hc, cURL, warmup, intakeConns)
	env.Logf("intake: (c) silenceper helpers")
	cRes := e2e.Closed(ctx, hc, cURL, full, intakeConns)
	cStop()
	if err := allOK(cRes, "(c)"); err != nil {
		return nil, err
	}

	env.Logf("intake: (a) at 1,000/s for %d callbacks", open)
	fixedRes := e2e.Open(ctx, hc, target, fixed, 1000)
	if err := allOK(fixedRes, "(a) at 1,000/s"); err != nil {
		return nil, err
	}
	stored, _, err := b.Store.InboxCounts(ctx)
	if err != nil {
		return nil, err
	}
	if stored != len(all) {
		return nil, fmt.Errorf("inbox holds %d rows after %d accepted callbacks", stored, len(all))
	}

	ab, ac := a.Rate()/bRes.Rate(), a.Rate()/cRes.Rate()
	p99 := fixedRes.Percentile(99)
	return []row{
		metRow("intake (a) full, Postgres, durable", rateFigure(a), fmt.Sprintf("≥ %d/s", intakeGoalRate), a.Rate() >= intakeGoalRate),
		infoRow("intake (b) verify+decrypt only", rateFigure(bRes)),
		metRow("intake (a)/(b)", fmt.Sprintf("%.0f%%", 100*ab), fmt.Sprintf("≥ %.0f%%", 100*intakeGoalRatio), ab >= intakeGoalRatio),
		infoRow("intake (c) peer ceiling (silenceper util)", rateFigure(cRes)),
		infoRow("intake (a)/(c)", fmt.Sprintf("%.0f%%", 100*ac)),
		metRow("intake (a) p99 at 1,000/s offered", fmt.Sprintf("p99 %s (p50 %s, %d callbacks)", ms(p99), ms(fixedRes.Percentile(50)), fixedRes.OK()),
			"≤ "+ms(intakeGoalP99), p99 <= intakeGoalP99),
	}, nil
}

func allOK(r e2e.Result, what string) error {
	if r.OK() != r.Sent || r.Sent == 0 {
		return fmt.Errorf("%s: %d of %d callbacks answered 200 (statuses %v, first error %v)", what, r.OK(), r.Sent, r.Statuses, r.FirstErr)
	}
	return nil
}

func rateFigure(r e2e.Result) string {
	return fmt.Sprintf("%.0f/s (p50 %s, p99 %s; %d callbacks, %d conns)", r.Rate(), ms(r.Percentile(50)), ms(r.Percentile(99)), r.OK(), intakeConns)
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}
