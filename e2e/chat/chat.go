// Package chat is the terminal client behind `safetybot chat`: it plays one
// WeCom member towards a running `safetybot serve` through the built-in
// simulator's admin endpoints (POST /_sim/sim/send, long-poll GET
// /_sim/sim/messages) and prints what the bot sends that member, cards with
// numbered buttons that can be pressed by typing the number.
package chat

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"safetybot/wecomsim"
)

// Help is shown at start and on /help.
const Help = `输入文字并回车，即以该成员身份发给机器人。
机器人发来卡片时，输入按钮编号（如 1）即点击该按钮；要发送数字本身，输入 /text 1。
/text 内容   原样发送“内容”
/help        显示本说明
/quit        退出（或按 Ctrl-D）`

// Options configure Run.
type Options struct {
	// URL is the base URL of serve, e.g. http://localhost:8080.
	URL string
	// User is the userid to play.
	User string
	In   io.Reader
	Out  io.Writer
	// Linger bounds how long, after the input ends, Run still waits for the
	// answer to the last message (0: it returns at once). It returns earlier,
	// once something arrived after the last message sent and then nothing more
	// for a moment.
	Linger time.Duration
	// HTTP is the client (default: one without a global timeout; long polls end
	// with the context).
	HTTP *http.Client
}

// pollWait is the long-poll duration asked of the simulator.
const pollWait = 25 * time.Second

type session struct {
	o    Options
	sim  string // base of the simulator's admin API
	hc   *http.Client
	outM sync.Mutex

	mu       sync.Mutex
	after    int64
	card     *shownCard // the last card with buttons, nil when none
	lastSeen time.Time  // when the last message was printed
	pending  bool       // a message was sent and nothing arrived since
}

// settle is the quiet moment after an answer before Run ends on EOF (a reply
// may come in several messages).
const settle = 300 * time.Millisecond

type shownCard struct {
	taskID  string
	buttons []wecomsim.Button
}

// Run talks to the bot until the input ends or the user types /quit. It fails
// with a one-line error when serve cannot be reached or runs without the
// simulator.
func Run(ctx context.Context, o Options) error {
	if o.User == "" {
		return errors.New("需要 --as USERID")
	}
	base := strings.TrimRight(o.URL, "/")
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q 不是 http(s) 地址", o.URL)
	}
	s := &session{o: o, sim: base + "/_sim/sim/", hc: o.HTTP}
	if s.hc == nil {
		s.hc = &http.Client{}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The first poll checks that serve answers with the simulator, and skips
	// what the member received before.
	first, err := s.poll(ctx, 0)
	if err != nil {
		return err
	}
	s.after = first.LastSeq
	s.printf("已连接 %s，以 %s 的身份与机器人对话。\n%s\n\n", o.URL, o.User, Help)

	pollErr := make(chan error, 1)
	go func() { pollErr <- s.pollLoop(ctx) }()

	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(o.In)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
	}()

	for {
		select {
		case err := <-pollErr:
			return err
		case err := <-readErr:
			if err != nil {
				return fmt.Errorf("读取输入失败：%v", err)
			}
			return s.linger(ctx, pollErr)
		case line := <-lines:
			quit, err := s.handle(ctx, line)
			if err != nil || quit {
				return err
			}
		}
	}
}

// handle acts on one input line.
func (s *session) handle(ctx context.Context, line string) (quit bool, err error) {
	line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
	switch {
	case line == "":
		return false, nil
	case line == "/quit" || line == "/exit":
		return true, nil
	case line == "/help":
		s.printf("%s\n", Help)
		return false, nil
	case line == "/text":
		s.printf("（用法：/text 内容）\n")
		return false, nil
	case strings.HasPrefix(line, "/text "):
		return false, s.sendText(ctx, strings.TrimPrefix(line, "/text "))
	}
	if n, err := strconv.Atoi(line); err == nil {
		s.mu.Lock()
		c := s.card
		s.mu.Unlock()
		if c != nil {
			for _, b := range c.buttons {
				if b.Number == n {
					return false, s.click(ctx, c.taskID, b)
				}
			}
			s.printf("（卡片上没有按钮 %d；要发送数字本身，请输入 /text %d）\n", n, n)
			return false, nil
		}
	}
	return false, s.sendText(ctx, line)
}

func (s *session) sendText(ctx context.Context, text string) error {
	return s.send(ctx, map[string]any{"user": s.o.User, "text": text})
}

func (s *session) click(ctx context.Context, taskID string, b wecomsim.Button) error {
	s.printf("（点击了“%s”）\n", b.Text)
	return s.send(ctx, map[string]any{"user": s.o.User,
		"card_click": map[string]any{"task_id": taskID, "key": b.Key, "menu": b.Menu}})
}

// send posts to /sim/send and reports a refused callback in one line.
func (s *session) send(ctx context.Context, req map[string]any) error {
	body, _ := json.Marshal(req)
	s.mu.Lock()
	s.pending = true
	s.mu.Unlock()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, s.sim+"send", bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(hr)
	if err != nil {
		return s.unreachable(ctx)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		s.printf("（模拟器拒绝了这次操作：%s）\n", firstLine(string(data)))
		return nil
	}
	var res wecomsim.SimSendResult
	if err := json.Unmarshal(data, &res); err != nil {
		return fmt.Errorf("%s 的模拟器返回了无法识别的内容", s.o.URL)
	}
	if res.Status != http.StatusOK {
		what := "无响应"
		if res.Status != 0 {
			what = "HTTP " + strconv.Itoa(res.Status)
		}
		s.printf("（机器人没有收下这条消息：%s，共投递 %d 次）\n", what, res.Attempts)
	}
	return nil
}

func (s *session) unreachable(ctx context.Context) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("无法连接到 %s（serve 是否在运行？）", s.o.URL)
}

// poll asks the simulator for what the member received after seq.
func (s *session) poll(ctx context.Context, wait time.Duration) (wecomsim.SimMessages, error) {
	var out wecomsim.SimMessages
	s.mu.Lock()
	after := s.after
	s.mu.Unlock()
	q := url.Values{"user": {s.o.User}, "after": {strconv.FormatInt(after, 10)},
		"wait": {strconv.FormatFloat(wait.Seconds(), 'f', -1, 64)}}
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, s.sim+"messages?"+q.Encode(), nil)
	if err != nil {
		return out, err
	}
	resp, err := s.hc.Do(hr)
	if err != nil {
		return out, s.unreachable(ctx)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &out) != nil || out.Messages == nil {
		return out, fmt.Errorf("%s 上没有内置的企业微信模拟器（serve 配置了 WECOM_* 时不能用 chat）", s.o.URL)
	}
	return out, nil
}

// pollLoop prints what arrives until ctx ends; a lost connection ends it with an error.
func (s *session) pollLoop(ctx context.Context) error {
	failures := 0
	for ctx.Err() == nil {
		got, err := s.poll(ctx, pollWait)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if failures++; failures >= 3 {
				return fmt.Errorf("与 %s 的连接中断（serve 是否已停止？）", s.o.URL)
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		failures = 0
		s.show(got)
	}
	return nil
}

// show prints messages and card updates in the order the member saw them.
func (s *session) show(got wecomsim.SimMessages) {
	type item struct {
		seq int64
		msg *wecomsim.SimMessage
		up  *wecomsim.SimUpdate
	}
	var items []item
	for i := range got.Messages {
		items = append(items, item{seq: got.Messages[i].Seq, msg: &got.Messages[i]})
	}
	for i := range got.Updates {
		items = append(items, item{seq: got.Updates[i].Seq, up: &got.Updates[i]})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].seq < items[j].seq })

	s.mu.Lock()
	s.after = max(s.after, got.LastSeq)
	s.mu.Unlock()
	for _, it := range items {
		if m := it.msg; m != nil {
			text := m.Rendered
			if m.Recalled {
				text = "（已撤回）" + text
			}
			s.printf("机器人：\n%s\n", indent(text))
			if btns := wecomsim.Buttons(m.Delivered); len(btns) > 0 && m.TaskID != "" {
				s.mu.Lock()
				s.card = &shownCard{taskID: m.TaskID, buttons: btns}
				s.mu.Unlock()
				s.printf("  （输入按钮编号点击，如 1）\n")
			}
			s.printf("\n")
			continue
		}
		u := it.up
		s.printf("机器人更新了卡片：\n%s\n\n", indent(u.Rendered))
		s.mu.Lock()
		if c := s.card; c != nil && c.taskID == u.TaskID {
			switch {
			case u.ReplaceName != "" || u.ReplaceText != "":
				s.card = nil // its buttons are greyed out
			case u.Card != nil:
				btns := wecomsim.Buttons(wecomsim.Delivered{MsgType: "template_card", Body: u.Card})
				s.card = &shownCard{taskID: c.taskID, buttons: btns}
				if len(btns) == 0 {
					s.card = nil
				}
			}
		}
		s.mu.Unlock()
	}
	if len(items) > 0 {
		s.mu.Lock()
		s.lastSeen = time.Now()
		s.pending = false
		s.mu.Unlock()
	}
}

// linger waits, after the input ended, for the answer to the last message
// sent, at most Linger.
func (s *session) linger(ctx context.Context, pollErr <-chan error) error {
	if s.o.Linger <= 0 {
		return nil
	}
	limit := time.After(s.o.Linger)
	for {
		s.mu.Lock()
		done := !s.pending && time.Since(s.lastSeen) >= settle
		s.mu.Unlock()
		if done {
			return nil
		}
		select {
		case err := <-pollErr:
			return err
		case <-ctx.Done():
			return nil
		case <-limit:
			return nil
		case <-time.After(settle / 3):
		}
	}
}

func (s *session) printf(format string, args ...any) {
	s.outM.Lock()
	defer s.outM.Unlock()
	fmt.Fprintf(s.o.Out, format, args...)
}

func indent(text string) string {
	return "  " + strings.ReplaceAll(text, "\n", "\n  ")
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
