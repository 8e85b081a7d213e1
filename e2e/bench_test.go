package e2e_test

import (
	"context"
	"testing"

	"safetybot/app"
	"safetybot/bot/wecom"
	"safetybot/e2e"
	"safetybot/store/storetest"
)

// The intake benchmarks post pre-encrypted callbacks (distinct MsgIds) from
// benchConns keep-alive connections and report callbacks/s answered 200.
// cmd/bench runs the same measurements with fixed sizes and goals.
const benchConns = 256

// BenchmarkIntakePostgres is the durable callback endpoint on Postgres: the
// app's Intake with group commit, processor and sender paused.
func BenchmarkIntakePostgres(b *testing.B) { benchIntake(b, "postgres", "") }

// BenchmarkIntakePostgresRedis is the same with Redis as the shared state.
func BenchmarkIntakePostgresRedis(b *testing.B) {
	benchIntake(b, "postgres", storetest.RedisURL(b))
}

// BenchmarkIntakeSQLite is the durable callback endpoint on the embedded default.
func BenchmarkIntakeSQLite(b *testing.B) { benchIntake(b, "sqlite", "") }

// BenchmarkVerifyDecrypt is the same requests answered after verify and
// decrypt only, with our Crypto: the ceiling of the intake.
func BenchmarkVerifyDecrypt(b *testing.B) {
	benchHandler(b, func(bot *e2e.Bot) (string, func()) {
		c, err := wecom.NewCrypto(bot.Config.Token, bot.Config.AESKey, bot.Config.CorpID)
		if err != nil {
			b.Fatal(err)
		}
		u, stop, err := e2e.Serve(e2e.VerifyDecryptHandler(c, bot.Config.MaxSkew))
		if err != nil {
			b.Fatal(err)
		}
		return u, stop
	})
}

// BenchmarkPeerCeiling is the minimal handler built on silenceper/wechat's
// util.Signature and util.DecryptMsg.
func BenchmarkPeerCeiling(b *testing.B) {
	benchHandler(b, func(bot *e2e.Bot) (string, func()) {
		u, stop, err := e2e.Serve(e2e.PeerHandler(bot.Config.Token, bot.Config.AESKey, bot.Config.CorpID))
		if err != nil {
			b.Fatal(err)
		}
		return u, stop
	})
}

func benchIntake(b *testing.B, dialect, redisURL string) {
	bot, err := e2e.New(e2e.Options{DatabaseURL: storetest.URL(b, dialect), RedisURL: redisURL, DataDir: b.TempDir(),
		App: app.Options{Logger: logger()}})
	if err != nil {
		b.Fatal(err)
	}
	defer bot.Kill()
	defer bot.ServeIntake()()
	run(b, bot, bot.CallbackURL())
	if n, _, err := bot.Store.InboxCounts(context.Background()); err != nil || n < b.N {
		b.Fatalf("inbox holds %d rows after %d callbacks (err %v)", n, b.N, err)
	}
}

func benchHandler(b *testing.B, serve func(*e2e.Bot) (string, func())) {
	bot, err := e2e.New(e2e.Options{DatabaseURL: storetest.URL(b, "sqlite"), DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer bot.Kill()
	u, stop := serve(bot)
	defer stop()
	run(b, bot, u)
}

// run posts b.N fresh callbacks to target and reports the rate.
func run(b *testing.B, bot *e2e.Bot, target string) {
	b.Helper()
	seal, err := e2e.SealerFor(bot.Config)
	if err != nil {
		b.Fatal(err)
	}
	cbs, err := seal.Callbacks(e2e.Users("bench", 500), b.N, e2e.FirstMsgID())
	if err != nil {
		b.Fatal(err)
	}
	hc := e2e.LoadClient(benchConns)
	b.ResetTimer()
	res := e2e.Closed(context.Background(), hc, target, cbs, benchConns)
	b.StopTimer()
	if res.OK() != b.N {
		b.Fatalf("%d of %d callbacks answered 200 (statuses %v, first error %v)", res.OK(), b.N, res.Statuses, res.FirstErr)
	}
	b.ReportMetric(res.Rate(), "callbacks/s")
	b.ReportMetric(float64(res.Percentile(99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(0, "ns/op") // per-callback time is the inverse of the rate; concurrency makes ns/op misleading
}
