package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"safetybot"
	"safetybot/app"
	"safetybot/e2e"
	"safetybot/messages"
)

func init() { register(scenario{name: "roundtrip", run: benchRoundTrip}) }

const (
	roundTripRate = 200                    // messages/s offered
	roundTripGoal = 150 * time.Millisecond // p95, message in → reply at the simulator
)

// benchRoundTrip runs the whole bot (Postgres, Redis, processor, sender) and
// has members chat with it at a fixed rate: each message goes in as a WeCom
// callback from the simulator, and the time until the bot's reply reaches the
// simulator is measured from the message's scheduled time.
func benchRoundTrip(ctx context.Context, env *benchEnv) ([]row, error) {
	dbURL, drop, err := env.FreshPostgres(ctx, "roundtrip")
	if err != nil {
		return nil, err
	}
	defer drop()
	b, err := e2e.Start(e2e.Options{DatabaseURL: dbURL, RedisURL: env.RedisURL, DataDir: env.TempDir, App: app.Options{}})
	if err != nil {
		return nil, err
	}
	defer b.Stop()

	rounds, per, members := 3, 1000, 600 // 5 s per round; 5 messages per member, well under WeCom's 30 a minute
	if env.Quick {
		rounds, per, members = 2, 200, 100
	}
	users := e2e.Users("rt", members)
	if err := e2e.Register(ctx, b.Store, users...); err != nil {
		return nil, err
	}
	// Warm up: one message per member fills the token cache, pools and code paths.
	env.Logf("roundtrip: warm-up")
	if _, err := chat(ctx, b, users, len(users), roundTripRate, "预热"); err != nil {
		return nil, err
	}
	// Rounds, because other load on a shared machine only ever slows one down:
	// the goal is judged on the median round, and every round is listed.
	type round struct{ p50, p95, p99 time.Duration }
	var got []round
	for r := 1; r <= rounds; r++ {
		lat, err := chat(ctx, b, users, per, roundTripRate, fmt.Sprintf("往返%d", r))
		if err != nil {
			return nil, err
		}
		p := func(q float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*q/100+0.5)-1)] }
		got = append(got, round{p(50), p(95), p(99)})
		env.Logf("roundtrip: round %d: p50 %s p95 %s p99 %s (load %s)", r, ms(p(50)), ms(p(95)), ms(p(99)), load1())
	}
	slices.SortFunc(got, func(x, y round) int { return cmp.Compare(x.p95, y.p95) })
	med := got[len(got)/2]
	var each []string
	for _, r := range got {
		each = append(each, ms(r.p95))
	}
	return []row{
		metRow("chat round trip p95 at 200 msg/s (Postgres+Redis)",
			fmt.Sprintf("p95 %s (p50 %s, p99 %s; median of %d rounds of %d messages, p95s %s)", ms(med.p95), ms(med.p50), ms(med.p99),
				len(got), per, strings.Join(each, ", ")),
			"≤ "+ms(roundTripGoal), med.p95 <= roundTripGoal),
	}, nil
}

// chat sends total messages at rate per second, member after member, and
// returns the sorted latencies from each message's scheduled time to the
// arrival of its reply at the simulator.
func chat(ctx context.Context, b *e2e.Bot, users []string, total int, rate float64, tag string) ([]time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(float64(total)/rate*float64(time.Second))+2*time.Minute)
	defer cancel()
	interval := time.Duration(float64(time.Second) / rate)
	lat := make([]time.Duration, total)
	errs := make(chan error, total)
	// received[u] is how many messages u will have once this message is answered.
	received := make(map[string]int, len(users))
	for _, u := range users {
		received[u] = len(b.Sim.Messages(u))
	}
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < total; i++ {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(d):
			}
		}
		u := users[i%len(users)]
		// Each message gets one reply, and the bot answers a member in order:
		// the member's k-th message is answered by their k-th reply.
		received[u]++
		k := received[u]
		text := fmt.Sprintf("%s %d", tag, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.Sim.As(u).SendText(ctx, text); err != nil {
				errs <- fmt.Errorf("%s: %w", u, err)
				return
			}
			ds, err := b.Sim.WaitMessages(ctx, u, k)
			if err != nil {
				errs <- fmt.Errorf("%s: no reply to %q: %w", u, text, err)
				return
			}
			d := ds[k-1]
			var body struct {
				Content string `json:"content"`
			}
			json.Unmarshal(d.Body, &body)
			if want := messages.UnknownInput(text, safetybot.RolePrincipal); body.Content != want {
				errs <- fmt.Errorf("%s: reply %q, want the echo of %q", u, firstLine(body.Content), text)
				return
			}
			lat[i] = d.At.Sub(due)
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	slices.Sort(lat)
	return lat, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
