package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/stan.go"
)

// The tests run against a real nats-streaming-server (v0.25.6, as the
// exporter's tests): $NATS_STREAMING_SERVER, PATH, or Go's bin directory
// ($GOBIN, else the first GOPATH's bin).
func stanBinary(t *testing.T) string {
	if p := os.Getenv("NATS_STREAMING_SERVER"); p != "" {
		return p
	}
	if p, err := exec.LookPath("nats-streaming-server"); err == nil {
		return p
	}
	if p := filepath.Join(goBinDir(), "nats-streaming-server"); fileExists(p) {
		return p
	}
	t.Fatal("nats-streaming-server not found: go install github.com/nats-io/nats-streaming-server@v0.25.6 (tools/install-nats-streaming-server.sh), or set NATS_STREAMING_SERVER")
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func goBinDir() string {
	if out, err := exec.Command("go", "env", "GOBIN").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		return strings.TrimSpace(string(out))
	}
	out, _ := exec.Command("go", "env", "GOPATH").Output()
	return filepath.Join(strings.Split(strings.TrimSpace(string(out)), string(os.PathListSeparator))[0], "bin")
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServer runs bin with args on a free port of 127.0.0.1 until the test
// ends, and gives its NATS URL.
func startServer(t *testing.T, bin string, args ...string) string {
	port := freePort(t)
	cmd := exec.Command(bin, append([]string{"-a", "127.0.0.1", "-p", fmt.Sprint(port)}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return fmt.Sprintf("nats://127.0.0.1:%d", port)
}

// startStan starts a server on free ports and connects a client to it; both stop with the test.
func startStan(t *testing.T, clientID string) stan.Conn {
	url := startServer(t, stanBinary(t), "-cid", "probe-test", "-store", "MEMORY")
	deadline := time.Now().Add(10 * time.Second)
	for {
		sc, err := stan.Connect("probe-test", clientID, stan.NatsURL(url), stan.ConnectWait(time.Second))
		if err == nil {
			t.Cleanup(func() { _ = sc.Close() })
			return sc
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-streaming-server at %s did not accept a client: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sidecar records the reports POSTed to it; status decides each answer.
type sidecar struct {
	mu      sync.Mutex
	reports []pendingReport
	agents  []string
	status  func(n int) int
	server  *httptest.Server
}

func newSidecar(t *testing.T, status func(n int) int) *sidecar {
	s := &sidecar{status: status}
	s.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.URL.Path != "/v1/pending" || req.Header.Get("Content-Type") != "application/json" {
			http.Error(w, `{"error":"not a report"}`, http.StatusBadRequest)
			return
		}
		var r pendingReport
		dec := json.NewDecoder(req.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			http.Error(w, fmt.Sprintf(`{"error":%q}`, err.Error()), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		n := len(s.reports)
		s.reports = append(s.reports, r)
		s.agents = append(s.agents, req.Header.Get("User-Agent"))
		s.mu.Unlock()
		code := http.StatusOK
		if s.status != nil {
			code = s.status(n)
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"answer":%d}`, code)
	}))
	t.Cleanup(s.server.Close)
	return s
}

func (s *sidecar) last() (pendingReport, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reports) == 0 {
		return pendingReport{}, 0
	}
	return s.reports[len(s.reports)-1], len(s.reports)
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A handler that never returns holds the in-flight window: stan.go buffers the
// messages the server sent, and Pending() says how many.
func blockedSubscription(t *testing.T, sc stan.Conn, subject string, maxInflight int) stan.Subscription {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	sub, err := sc.QueueSubscribe(subject, "billing", func(*stan.Msg) { <-release },
		stan.DurableName("ledger"), stan.SetManualAckMode(), stan.MaxInflight(maxInflight), stan.DeliverAllAvailable())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := sc.Publish(subject, []byte(fmt.Sprintf("order %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	return sub
}

func TestReportCarriesPendingOfTheSubscription(t *testing.T) {
	sc := startStan(t, "worker-1")
	sub := blockedSubscription(t, sc, "orders", 4)
	car := newSidecar(t, nil)
	r := &Reporter{URL: car.server.URL, ClientID: "worker-1", Server: "prod"}
	r.Watch(sub, "orders", "billing", "ledger", 4)

	// The window of 4 reaches the client: the one in the handler and three buffered.
	eventually(t, "a report with the 4 messages of the in-flight window", func() bool {
		if err := r.Report(context.Background()); err != nil {
			t.Fatal(err)
		}
		got, _ := car.last()
		return len(got.Subscriptions) == 1 && got.Subscriptions[0].Msgs == 4
	})
	got, _ := car.last()
	s := got.Subscriptions[0]
	if got.ClientID != "worker-1" || s.Server != "prod" || s.Subject != "orders" || s.Group != "billing" || s.Durable != "ledger" || s.MaxInflight != 4 {
		t.Fatalf("labels of the report: %+v", got)
	}
	if s.Bytes < 4*len("order 0") || s.Dropped != 0 {
		t.Fatalf("bytes %d (want at least the 4 payloads), dropped %d", s.Bytes, s.Dropped)
	}
	if car.agents[0] != "nats-queue-exporter-probe-go/"+Version {
		t.Fatalf("User-Agent %q", car.agents[0])
	}
}

func TestRunReportsEveryIntervalAndZerosWhenStopped(t *testing.T) {
	sc := startStan(t, "worker-2")
	sub := blockedSubscription(t, sc, "invoices", 2)
	car := newSidecar(t, nil)
	r := &Reporter{URL: car.server.URL, ClientID: "worker-2", Server: "prod", Interval: 30 * time.Millisecond}
	r.Watch(sub, "invoices", "billing", "ledger", 2)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		r.Run(ctx)
		close(done)
	}()
	eventually(t, "periodic reports with the 2 held messages", func() bool {
		got, n := car.last()
		return n >= 3 && got.Subscriptions[0].Msgs == 2
	})
	cancel()
	<-done
	got, _ := car.last()
	if len(got.Subscriptions) != 1 || got.Subscriptions[0].Msgs != 0 || got.Subscriptions[0].Bytes != 0 {
		t.Fatalf("the last report withdraws the figures: %+v", got)
	}
}

func TestRunKeepsGoingWhileTheSidecarRefuses(t *testing.T) {
	sc := startStan(t, "worker-3")
	sub := blockedSubscription(t, sc, "refunds", 1)
	// Refused twice (a sidecar that is starting up), then accepted.
	car := newSidecar(t, func(n int) int {
		if n < 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	var mu sync.Mutex
	var logged []string
	r := &Reporter{URL: car.server.URL, ClientID: "worker-3", Server: "prod", Interval: 10 * time.Millisecond, Logf: func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, fmt.Sprintf(f, a...))
	}}
	r.Watch(sub, "refunds", "billing", "ledger", 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	eventually(t, "an accepted report after two refusals", func() bool {
		_, n := car.last()
		return n >= 3
	})
	mu.Lock()
	defer mu.Unlock()
	if len(logged) != 2 || !strings.Contains(logged[0], "sidecar answered 503") {
		t.Fatalf("each refusal is logged with the sidecar's answer: %q", logged)
	}
}

func TestReportErrorsNameTheProblem(t *testing.T) {
	sc := startStan(t, "worker-4")
	sub := blockedSubscription(t, sc, "payments", 1)
	car := newSidecar(t, func(int) int { return http.StatusBadRequest })
	r := &Reporter{URL: car.server.URL, Server: "prod"}
	r.Watch(sub, "payments", "billing", "ledger", 1)
	if err := r.Report(context.Background()); err == nil || !strings.Contains(err.Error(), `400: {"answer":400}`) {
		t.Fatalf("a refused report is an error with the status and the answer: %v", err)
	}
	if err := (&Reporter{URL: car.server.URL}).Report(context.Background()); err == nil || !strings.Contains(err.Error(), "Server is empty") {
		t.Fatalf("a reporter without a server NAME says so: %v", err)
	}
	host, _ := os.Hostname()
	if got, _ := car.last(); got.ClientID != fmt.Sprintf("%s-%d", host, os.Getpid()) {
		t.Fatalf("default client id HOSTNAME-PID: %q", got.ClientID)
	}
}

func TestClosedSubscriptionsAreLeftOut(t *testing.T) {
	sc := startStan(t, "worker-5")
	sub := blockedSubscription(t, sc, "returns", 1)
	car := newSidecar(t, nil)
	r := &Reporter{URL: car.server.URL, Server: "prod"}
	r.Watch(sub, "returns", "billing", "ledger", 1)
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Report(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := car.last(); len(got.Subscriptions) != 0 {
		t.Fatalf("a closed subscription holds nothing: %+v", got)
	}
}

func TestURLFromTheEnvironment(t *testing.T) {
	t.Setenv("NQE_PROBE_URL", "http://10.0.0.1:7779")
	if got := (&Reporter{}).url(); got != "http://10.0.0.1:7779" {
		t.Fatalf("url %q", got)
	}
	t.Setenv("NQE_PROBE_URL", "")
	if got := (&Reporter{}).url(); got != DefaultURL {
		t.Fatalf("url %q", got)
	}
}
