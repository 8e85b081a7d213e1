// Package cluster starts several real `safetybot serve` processes for the
// multi-replica and fault tests: the binary is built once per test process,
// every replica listens on its own loopback port and shares one Postgres
// database and one Redis, WeCom is a wecomsim.Server running in the test
// process (an httptest server that every replica reaches through
// WECOM_API_BASE), and a small round-robin load balancer in front of the
// replicas is the simulator's callback URL. Replicas can be killed with
// SIGKILL, stopped with SIGTERM and started again on the same port.
package cluster

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"safetybot/store"
	"safetybot/wecomsim"
)

// Options describe a cluster.
type Options struct {
	// Replicas is the number of serve processes (default 3).
	Replicas int
	// DatabaseURL is the SAFETYBOT_DATABASE_URL the replicas use (required). It
	// may point at a tcpproxy in front of Postgres.
	DatabaseURL string
	// StoreURL is the database the test itself opens (Cluster.Store); empty
	// means DatabaseURL. Point it at the server directly when DatabaseURL goes
	// through a proxy the test cuts.
	StoreURL string
	// RedisURL is SAFETYBOT_REDIS_URL (empty: in-process state per replica).
	RedisURL string
	// AdminToken is SAFETYBOT_ADMIN_TOKEN (default: a random token).
	AdminToken string
	// Env adds or overrides environment variables of every replica and CLI run.
	Env []string
	// Sim adjusts the simulator's configuration before it is created.
	Sim func(*wecomsim.Config)
	// WrapSim wraps the simulator's HTTP handler, e.g. to delay its answers.
	WrapSim func(http.Handler) http.Handler
	// Debug runs the replicas with --debug.
	Debug bool
}

// Cluster is a running set of replicas.
type Cluster struct {
	t   testing.TB
	opt Options

	// Sim is WeCom; SimURL its base URL (WECOM_API_BASE of every replica).
	Sim    *wecomsim.Server
	SimURL string
	// LB is the load balancer in front of the replicas.
	LB *Balancer
	// Store is the test's own connection to the shared database.
	Store *store.Store
	// AdminToken is the replicas' SAFETYBOT_ADMIN_TOKEN.
	AdminToken string

	dir      string
	simSrv   *httptest.Server
	env      []string
	replicas []*Replica
	starter  chan startReq
	closed   chan struct{}
}

// Replica is one serve process.
type Replica struct {
	Index int
	Addr  string // 127.0.0.1:port
	Log   string // path of its stderr log (every run appended)

	mu    sync.Mutex
	cmd   *exec.Cmd
	exit  chan struct{}
	err   error
	runs  int
	pids  []int
	state string // "running", "exited", "killed", "stopped"
}

// URL is the replica's base URL.
func (r *Replica) URL() string { return "http://" + r.Addr }

// Pid is the process id of the current (or last) run.
func (r *Replica) Pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil || r.cmd.Process == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

// Pids lists the process ids of every run, oldest first.
func (r *Replica) Pids() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.pids...)
}

// Running reports whether the process is alive (as far as we know).
func (r *Replica) Running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.exit == nil {
		return false
	}
	select {
	case <-r.exit:
		return false
	default:
		return true
	}
}

// New builds the binary (once per process), starts the simulator, the load
// balancer and the replicas, and waits until every replica answers /readyz
// 200. Everything stops at the end of the test.
func New(t testing.TB, opt Options) *Cluster {
	t.Helper()
	if opt.Replicas <= 0 {
		opt.Replicas = 3
	}
	if opt.DatabaseURL == "" {
		t.Fatal("cluster: Options.DatabaseURL is required")
	}
	bin, err := Binary()
	if err != nil {
		t.Fatalf("cluster: build safetybot: %v", err)
	}
	c := &Cluster{t: t, opt: opt, dir: t.TempDir(), starter: make(chan startReq), closed: make(chan struct{})}
	c.AdminToken = opt.AdminToken
	if c.AdminToken == "" {
		c.AdminToken = "admin-" + randHex(12)
	}
	go c.startLoop(bin)

	storeURL := opt.StoreURL
	if storeURL == "" {
		storeURL = opt.DatabaseURL
	}
	st, err := store.Open(context.Background(), storeURL, store.Options{})
	if err != nil {
		t.Fatalf("cluster: open store: %v", err)
	}
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("cluster: migrate: %v", err)
	}
	c.Store = st

	// WeCom: a simulator with credentials of its own, so that tokens of
	// concurrent clusters in one Redis never mix (the token key holds the CorpID).
	key := make([]byte, 32)
	rand.Read(key)
	sc := wecomsim.Config{
		CorpID:         "wwfault" + randHex(5),
		Secret:         "secret-" + randHex(8),
		AgentID:        1000002,
		Token:          "tok" + randHex(6),
		EncodingAESKey: base64.StdEncoding.EncodeToString(key)[:43],
	}
	if opt.Sim != nil {
		opt.Sim(&sc)
	}
	c.Sim = wecomsim.New(sc)
	var h http.Handler = c.Sim
	if opt.WrapSim != nil {
		h = opt.WrapSim(h)
	}
	c.simSrv = httptest.NewServer(h)
	c.SimURL = c.simSrv.URL
	c.Sim.SetBaseURL(c.SimURL)

	addrs := make([]string, opt.Replicas)
	for i := range addrs {
		addrs[i] = freeAddr(t)
	}
	c.LB = NewBalancer(addrs)
	c.Sim.SetCallbackURL(c.LB.URL() + "/wecom/callback")

	cfg := c.Sim.Config()
	c.env = []string{
		"SAFETYBOT_DATABASE_URL=" + opt.DatabaseURL,
		"SAFETYBOT_REDIS_URL=" + opt.RedisURL,
		"SAFETYBOT_PUBLIC_URL=" + c.LB.URL(),
		"SAFETYBOT_ADMIN_TOKEN=" + c.AdminToken,
		"SAFETYBOT_QUIET_HOURS=off",
		"SAFETYBOT_DATA_DIR=" + filepath.Join(c.dir, "data"),
		"WECOM_CORP_ID=" + cfg.CorpID,
		"WECOM_AGENT_ID=" + strconv.FormatInt(cfg.AgentID, 10),
		"WECOM_SECRET=" + cfg.Secret,
		"WECOM_TOKEN=" + cfg.Token,
		"WECOM_ENCODING_AES_KEY=" + cfg.EncodingAESKey,
		"WECOM_API_BASE=" + c.SimURL,
	}
	c.env = append(c.env, opt.Env...)

	for i, a := range addrs {
		c.replicas = append(c.replicas, &Replica{Index: i, Addr: a, Log: filepath.Join(c.dir, fmt.Sprintf("replica%d.log", i))})
	}
	t.Cleanup(c.close)
	for i := range c.replicas {
		c.Start(i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := range c.replicas {
		if err := c.WaitReady(ctx, i); err != nil {
			t.Fatalf("cluster: %v", err)
		}
	}
	return c
}

// Replicas returns every replica.
func (c *Cluster) Replicas() []*Replica { return c.replicas }

// Replica returns replica i.
func (c *Cluster) Replica(i int) *Replica { return c.replicas[i] }

// CallbackURL is the load balancer's callback endpoint.
func (c *Cluster) CallbackURL() string { return c.LB.URL() + "/wecom/callback" }

// Env is the environment of the replicas (on top of the test's own, without
// its SAFETYBOT_* and WECOM_* variables).
func (c *Cluster) Env() []string { return append(baseEnv(), c.env...) }

func baseEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SAFETYBOT_") || strings.HasPrefix(kv, "WECOM_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

type startReq struct {
	r    *Replica
	done chan error
}

// startLoop starts every process from one OS thread that stays locked for the
// cluster's lifetime, so that Pdeathsig kills the replicas if the test
// process dies without cleaning up (the signal follows the creating thread).
func (c *Cluster) startLoop(bin string) {
	runtime.LockOSThread()
	// Never unlocked: when this goroutine returns the thread ends, after close.
	for {
		select {
		case <-c.closed:
			return
		case req := <-c.starter:
			req.done <- c.spawn(bin, req.r)
		}
	}
}

func (c *Cluster) spawn(bin string, r *Replica) error {
	args := []string{"serve"}
	if c.opt.Debug {
		args = append(args, "--debug")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(c.Env(), "SAFETYBOT_LISTEN="+r.Addr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	f, err := os.OpenFile(r.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.runs++
	fmt.Fprintf(f, "----- run %d -----\n", r.runs)
	r.mu.Unlock()
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	exit := make(chan struct{})
	r.mu.Lock()
	r.cmd, r.exit, r.err, r.state = cmd, exit, nil, "running"
	r.pids = append(r.pids, cmd.Process.Pid)
	r.mu.Unlock()
	go func() {
		err := cmd.Wait()
		f.Close()
		r.mu.Lock()
		r.err = err
		if r.state == "running" {
			r.state = "exited"
		}
		r.mu.Unlock()
		close(exit)
	}()
	return nil
}

// Start starts replica i (again); it does not wait for readiness.
func (c *Cluster) Start(i int) {
	c.t.Helper()
	r := c.replicas[i]
	if r.Running() {
		c.t.Fatalf("cluster: replica %d is already running", i)
	}
	done := make(chan error, 1)
	c.starter <- startReq{r: r, done: done}
	if err := <-done; err != nil {
		c.t.Fatalf("cluster: start replica %d: %v", i, err)
	}
}

// Restart starts replica i and waits until it is ready.
func (c *Cluster) Restart(ctx context.Context, i int) {
	c.t.Helper()
	c.Start(i)
	if err := c.WaitReady(ctx, i); err != nil {
		c.t.Fatalf("cluster: %v", err)
	}
}

// Kill sends SIGKILL to replica i and waits until it is gone: nothing is
// drained, in-flight requests and claims are left as they are.
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	r := c.replicas[i]
	r.mu.Lock()
	cmd, exit := r.cmd, r.exit
	r.state = "killed"
	r.mu.Unlock()
	if cmd == nil || exit == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exit
}

// Stop sends SIGTERM to replica i and waits for it to exit (SIGKILL after 20 s).
func (c *Cluster) Stop(i int) error {
	r := c.replicas[i]
	r.mu.Lock()
	cmd, exit := r.cmd, r.exit
	if r.state == "running" {
		r.state = "stopped"
	}
	r.mu.Unlock()
	if cmd == nil || exit == nil {
		return nil
	}
	select {
	case <-exit:
		return nil
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exit:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exit
		return fmt.Errorf("replica %d did not stop within 20 s of SIGTERM", r.Index)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return fmt.Errorf("replica %d: %v", r.Index, r.err)
	}
	return nil
}

// WaitReady waits until replica i answers GET /readyz with 200. It fails
// early when the process exits.
func (c *Cluster) WaitReady(ctx context.Context, i int) error {
	r := c.replicas[i]
	hc := &http.Client{Timeout: 3 * time.Second}
	for {
		r.mu.Lock()
		exit := r.exit
		r.mu.Unlock()
		select {
		case <-exit:
			return fmt.Errorf("replica %d exited before it was ready: %v\n%s", i, r.err, c.LogTail(i, 30))
		default:
		}
		if code, _ := c.Get(ctx, hc, r.URL()+"/readyz"); code == http.StatusOK {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replica %d not ready: %w\n%s", i, ctx.Err(), c.LogTail(i, 30))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Ready reports replica i's /readyz status code and body.
func (c *Cluster) Ready(ctx context.Context, i int) (int, string) {
	return c.Get(ctx, &http.Client{Timeout: 5 * time.Second}, c.replicas[i].URL()+"/readyz")
}

// Get fetches a URL and returns the status code (0 on transport errors) and body.
func (c *Cluster) Get(ctx context.Context, hc *http.Client, url string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err.Error()
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// CLI runs the safetybot binary with the replicas' environment, e.g.
// CLI(ctx, "import", "enterprises", file). It returns stdout and stderr.
func (c *Cluster) CLI(ctx context.Context, args ...string) (string, string, error) {
	bin, err := Binary()
	if err != nil {
		return "", "", err
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = c.Env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("safetybot %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), errb.String(), err
}

// LogTail returns the last n lines of replica i's log.
func (c *Cluster) LogTail(i, n int) string {
	b, err := os.ReadFile(c.replicas[i].Log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprintf("--- replica %d log (last %d lines) ---\n%s", i, len(lines), strings.Join(lines, "\n"))
}

// LogLines returns the lines of replica i's log that contain substr.
func (c *Cluster) LogLines(i int, substr string) []string {
	f, err := os.Open(c.replicas[i].Log)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), substr) {
			out = append(out, sc.Text())
		}
	}
	return out
}

// OwnerPid extracts the process id from an outbox claimed_by / job-run owner
// value ("host-pid-random").
func OwnerPid(owner string) int {
	parts := strings.Split(owner, "-")
	if len(parts) < 3 {
		return 0
	}
	pid, _ := strconv.Atoi(parts[len(parts)-2])
	return pid
}

// ReplicaOfPid returns the index of the replica that ran (or runs) pid, or -1.
func (c *Cluster) ReplicaOfPid(pid int) int {
	for _, r := range c.replicas {
		for _, p := range r.Pids() {
			if p == pid {
				return r.Index
			}
		}
	}
	return -1
}

func (c *Cluster) close() {
	var errs []error
	for i := range c.replicas {
		if err := c.Stop(i); err != nil {
			errs = append(errs, err)
		}
	}
	close(c.closed)
	c.LB.Close()
	c.simSrv.Close()
	if c.Store != nil {
		c.Store.Close()
	}
	if c.t.Failed() || len(errs) > 0 {
		for i := range c.replicas {
			c.t.Log(c.LogTail(i, 40))
		}
		// Keep the whole logs: the test's temporary folder goes away.
		keep := filepath.Join(os.TempDir(), "safetybot-cluster-logs", strings.NewReplacer("/", "_", " ", "_").Replace(c.t.Name())+"-"+randHex(3))
		if err := os.MkdirAll(keep, 0o755); err == nil {
			for _, r := range c.replicas {
				if b, err := os.ReadFile(r.Log); err == nil {
					os.WriteFile(filepath.Join(keep, filepath.Base(r.Log)), b, 0o644)
				}
			}
			c.t.Logf("replica logs kept in %s", keep)
		}
	}
	for _, err := range errs {
		c.t.Errorf("cluster: %v", err)
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cluster: free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

// Binary builds ./cmd/safetybot once per test process and returns its path.
func Binary() (string, error) {
	buildOnce.Do(func() {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			buildErr = errors.New("cannot locate the module")
			return
		}
		buildDir, buildErr = os.MkdirTemp("", "safetybot-cluster-")
		if buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "safetybot")
		cmd := exec.Command("go", "build", "-o", buildBin, "safetybot/cmd/safetybot")
		cmd.Dir = filepath.Dir(file)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	return buildBin, buildErr
}

// RemoveBinary deletes the built binary; call it from TestMain after m.Run.
func RemoveBinary() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}
