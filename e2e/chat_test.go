package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"safetybot/e2e"
	"safetybot/e2e/chat"
)

// TestChat runs the core of `safetybot chat` against a running bot with piped
// input and output: text goes in as the member's message, replies and cards
// come out, a number presses a card button, /text sends digits as text.
func TestChat(t *testing.T) {
	b := start(t, variants[0])
	u := e2e.Users("chat", 1)[0]
	register(t, b, u)

	in, typing := io.Pipe()
	defer typing.Close()
	out := &transcript{}
	done := make(chan error, 1)
	go func() { done <- chat.Run(ctxT(t), chat.Options{URL: b.URL(), User: u, In: in, Out: out}) }()
	say := func(line string) {
		t.Helper()
		if _, err := fmt.Fprintln(typing, line); err != nil {
			t.Fatalf("type %q: %v", line, err)
		}
	}

	out.waitFor(t, "已连接", 1)
	say("帮助")
	out.waitFor(t, "随时发送“帮助”查看本说明。", 1)

	enqueueCard(t, b, u, "E2E_CHAT_FIRST", "E2E_CHAT_SECOND")
	out.waitFor(t, "【端到端测试卡片】", 1)
	out.waitFor(t, "[1] 按钮1  [2] 按钮2", 1)

	say("2") // presses the second button
	out.waitFor(t, "暂时无法处理这类消息", 1)
	var raw string
	q := b.Store.DB().Rebind(`SELECT raw FROM inbox WHERE from_user = ? AND kind = 'event'`)
	if err := b.Store.DB().Get(&raw, q, u); err != nil {
		t.Fatalf("the click is not in the inbox: %v", err)
	}
	if !strings.Contains(raw, "template_card_event") || !strings.Contains(raw, "E2E_CHAT_SECOND") {
		t.Fatalf("stored click %s, want a template_card_event for the second button", raw)
	}

	say("/text 1") // the digit itself, although a card is shown
	out.waitFor(t, "没听懂“1”", 1)
	say("9")
	out.waitFor(t, "卡片上没有按钮 9", 1)
	say("/quit")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("chat ended with %v", err)
		}
	case <-time.After(deadline):
		t.Fatal("chat did not end on /quit")
	}
	if got := texts(b.Sim.Messages(u)); len(got) != 4 {
		t.Errorf("the member got %d messages, want help, the card and two replies: %q", len(got), got)
	}
	t.Logf("transcript:\n%s", out.String())
}

func TestChatEndsOnEOF(t *testing.T) {
	b := start(t, variants[0])
	u := e2e.Users("chat", 1)[0]
	register(t, b, u)
	out := &transcript{}
	err := chat.Run(ctxT(t), chat.Options{URL: b.URL(), User: u, In: strings.NewReader("帮助\n"),
		Out: out, Linger: deadline})
	if err != nil {
		t.Fatal(err)
	}
	// With Linger the reply to the last line is awaited before the end (and
	// Run returns soon after it, not after the whole Linger).
	if !strings.Contains(out.String(), "随时发送“帮助”查看本说明。") {
		t.Fatalf("the reply was not printed before EOF ended the chat:\n%s", out)
	}
}

func TestChatErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	noSim := httptest.NewServer(http.NotFoundHandler())
	defer noSim.Close()

	for _, c := range []struct {
		name, url, want string
	}{
		{"serve not running", closed, "无法连接到 " + closed + "（serve 是否在运行？）"},
		{"serve without the simulator", noSim.URL, noSim.URL + " 上没有内置的企业微信模拟器"},
		{"not a URL", "localhost:8080", "不是 http(s) 地址"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := chat.Run(context.Background(), chat.Options{URL: c.url, User: "zhangsan", In: strings.NewReader(""), Out: io.Discard})
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line containing %q", err, c.want)
			}
		})
	}
}

// transcript is the chat's output, safe to read while it is written.
type transcript struct {
	mu   sync.Mutex
	b    strings.Builder
	wake chan struct{}
}

func (s *transcript) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wake != nil {
		close(s.wake)
		s.wake = nil
	}
	return s.b.Write(p)
}

func (s *transcript) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until text occurs n times in the output.
func (s *transcript) waitFor(t *testing.T, text string, n int) {
	t.Helper()
	limit := time.After(deadline)
	for {
		s.mu.Lock()
		got := strings.Count(s.b.String(), text)
		if s.wake == nil {
			s.wake = make(chan struct{})
		}
		wake := s.wake
		s.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-wake:
		case <-limit:
			t.Fatalf("output never showed %q %d time(s):\n%s", text, n, s.String())
		}
	}
}
