package probe

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsServerVersion is the release the exporter's tests run (tools/install-nats-server.sh).
const natsServerVersion = "v2.12.15"

// The JetStream tests run against a real nats-server v2.12.15:
// $NATS_SERVER, or Go's bin directory ($GOBIN, else the first GOPATH's bin).
// Never the one on PATH: the machine's own may be an older release.
func natsServerBinary(t *testing.T) string {
	p := os.Getenv("NATS_SERVER")
	if p == "" {
		p = filepath.Join(goBinDir(), "nats-server")
	}
	fix := "go install github.com/nats-io/nats-server/v2@" + natsServerVersion + " (tools/install-nats-server.sh), or set NATS_SERVER"
	out, err := exec.Command(p, "--version").Output()
	if err != nil {
		t.Fatalf("nats-server %q did not run (%v): %s", p, err, fix)
	}
	if !strings.Contains(string(out), natsServerVersion) {
		t.Fatalf("%s is %q, not %s: %s", p, strings.TrimSpace(string(out)), natsServerVersion, fix)
	}
	return p
}

// startJetStream starts a nats-server with JetStream on a free port and
// connects to it; both stop with the test.
func startJetStream(t *testing.T) *nats.Conn {
	return connectTo(t, startServer(t, natsServerBinary(t), "-js", "-sd", t.TempDir()))
}

// twoAccounts is a nats-server config with two JetStream accounts; each
// user's password is its name. narrow may not ask which account it is in.
const twoAccounts = `accounts {
  TENANT: { jetstream: enabled, users: [
    { user: tenant, password: tenant },
    { user: narrow, password: narrow, permissions: { publish: { allow: ["$JS.API.>", "$JS.ACK.>"] } } }
  ] }
  OTHER: { jetstream: enabled, users: [{ user: other, password: other }] }
}
`

// startAccounts starts a nats-server with the twoAccounts config and gives its URL.
func startAccounts(t *testing.T) string {
	config := filepath.Join(t.TempDir(), "accounts.conf")
	if err := os.WriteFile(config, []byte(twoAccounts), 0o600); err != nil {
		t.Fatal(err)
	}
	return startServer(t, natsServerBinary(t), "-js", "-sd", t.TempDir(), "-c", config)
}

// connectTo connects to the server at url once it accepts clients; the
// connection closes with the test.
func connectTo(t *testing.T, url string, opts ...nats.Option) *nats.Conn {
	deadline := time.Now().Add(10 * time.Second)
	for {
		nc, err := nats.Connect(url, opts...)
		if err == nil {
			t.Cleanup(nc.Close)
			return nc
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server at %s did not accept a client: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stream makes a stream named and bound to subject, and publishes count messages "subject i".
func stream(t *testing.T, nc *nats.Conn, subject string, count int) jetstream.JetStream {
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: subject, Subjects: []string{subject}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < count; i++ {
		if _, err := js.Publish(ctx, subject, []byte(fmt.Sprintf("%s %d", subject, i))); err != nil {
			t.Fatal(err)
		}
	}
	return js
}

// reported sends a report now and gives its one subscription entry.
func reported(t *testing.T, r *Reporter, car *sidecar) subscriptionReport {
	t.Helper()
	if err := r.Report(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, _ := car.last()
	if len(got.Subscriptions) != 1 {
		t.Fatalf("one entry in the report: %+v", got)
	}
	return got.Subscriptions[0]
}

func TestWatchSubscriptionReportsTheBufferOfALegacyQueueSubscription(t *testing.T) {
	nc := startJetStream(t)
	stream(t, nc, "orders", 10)
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	sub, err := js.QueueSubscribe("orders", "billing", func(*nats.Msg) { <-release },
		nats.Durable("ledger"), nats.ManualAck(), nats.MaxAckPending(4), nats.BindStream("orders"))
	if err != nil {
		t.Fatal(err)
	}
	car := newSidecar(t, nil)
	r := &Reporter{URL: car.server.URL, Server: "new"}
	if err := r.WatchSubscription(sub); err != nil {
		t.Fatal(err)
	}
	// max_ack_pending lets 4 reach the client: the one in the handler and three buffered.
	var s subscriptionReport
	eventually(t, "a report with the 4 messages the server let through", func() bool {
		s = reported(t, r, car)
		return s.Msgs == 4
	})
	if s.Server != "new" || s.Subject != "orders" || s.Group != "billing" || s.Durable != "ledger" || s.MaxInflight != 0 {
		t.Fatalf("labels as the exporter gives the queue: %+v", s)
	}
	if s.Bytes != 4*len("orders 0") {
		t.Fatalf("bytes %d, want the 4 payloads", s.Bytes)
	}
}

func TestWatchConsumerCountsHandedOutMessagesUntilAcked(t *testing.T) {
	nc := startJetStream(t)
	js := stream(t, nc, "invoices", 10)
	ctx := context.Background()
	c, err := js.CreateOrUpdateConsumer(ctx, "invoices", jetstream.ConsumerConfig{Durable: "ledger", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 4})
	if err != nil {
		t.Fatal(err)
	}
	car := newSidecar(t, nil)
	r := &Reporter{URL: car.server.URL, Server: "new"}
	held := r.WatchConsumer(c)
	release := make(chan struct{})
	// The handler hands each message to a goroutine that acks once released: the
	// messages stay held after the handler returned.
	cc, err := c.Consume(held.Handler(func(m jetstream.Msg) {
		go func() {
			<-release
			_ = m.Ack()
		}()
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Stop)
	var s subscriptionReport
	eventually(t, "a report with the 4 unacked messages", func() bool {
		s = reported(t, r, car)
		return s.Msgs == 4
	})
	if s.Subject != "invoices" || s.Group != "" || s.Durable != "ledger" || s.Bytes != 4*len("invoices 0") {
		t.Fatalf("labels and bytes: %+v", s)
	}
	close(release)
	eventually(t, "all 10 acked and nothing held", func() bool {
		info, err := c.Info(ctx)
		return err == nil && info.AckFloor.Stream == 10 && reported(t, r, car).Msgs == 0
	})
}

func TestHoldEndsWithNakOrTermAndARedeliveryReplacesItsCopy(t *testing.T) {
	nc := startJetStream(t)
	js := stream(t, nc, "reminders", 1)
	ctx := context.Background()
	c, err := js.CreateOrUpdateConsumer(ctx, "reminders", jetstream.ConsumerConfig{Durable: "mailer", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	car := newSidecar(t, nil)
	r := &Reporter{URL: car.server.URL, Server: "new"}
	held := r.WatchConsumer(c)
	next := func() jetstream.Msg {
		t.Helper()
		m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return held.Hold(m)
	}
	first := next()
	if got := reported(t, r, car).Msgs; got != 1 {
		t.Fatalf("held %d after one Next, want 1", got)
	}
	if err := first.Nak(); err != nil {
		t.Fatal(err)
	}
	if got := reported(t, r, car).Msgs; got != 0 {
		t.Fatalf("held %d after Nak, want 0", got)
	}
	// The nakked message comes again, then is left without an ack: after the
	// 1 s ack wait the server sends it a third time, which replaces its copy.
	again := next()
	if meta, _ := again.Metadata(); meta.NumDelivered != 2 {
		t.Fatalf("the nakked message again: %+v", meta)
	}
	third := next()
	if meta, _ := third.Metadata(); meta.NumDelivered != 3 || meta.Sequence.Stream != 1 {
		t.Fatalf("the unacked message after its ack wait: %+v", meta)
	}
	if got := reported(t, r, car).Msgs; got != 1 {
		t.Fatalf("held %d with one message delivered three times, want 1", got)
	}
	if err := third.Term(); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "reminders", []byte("reminders 1")); err != nil {
		t.Fatal(err)
	}
	second := next()
	if got := reported(t, r, car); got.Msgs != 1 || got.Bytes != len("reminders 1") {
		t.Fatalf("after Term the next message only: %+v", got)
	}
	if err := second.Ack(); err != nil {
		t.Fatal(err)
	}
	if got := reported(t, r, car).Msgs; got != 0 {
		t.Fatalf("held %d after the last ack, want 0", got)
	}
}

func TestJetStreamWatchersLabelTheAccountTheConnectionIsIn(t *testing.T) {
	url := startAccounts(t)
	tenant := connectTo(t, url, nats.UserInfo("tenant", "tenant"))
	js := stream(t, tenant, "orders", 3)
	ctx := context.Background()
	c, err := js.CreateOrUpdateConsumer(ctx, "orders", jetstream.ConsumerConfig{Durable: "billing", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := tenant.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	sub, err := legacy.PullSubscribe("orders", "audit", nats.BindStream("orders"))
	if err != nil {
		t.Fatal(err)
	}
	car := newSidecar(t, nil)
	var logged []string
	r := &Reporter{URL: car.server.URL, Server: "new", Conn: tenant, Logf: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }}
	r.WatchConsumer(c)
	if err := r.WatchSubscription(sub); err != nil {
		t.Fatal(err)
	}
	if err := r.Report(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := car.last()
	if len(got.Subscriptions) != 2 || got.Subscriptions[0].Account != "TENANT" || got.Subscriptions[1].Account != "TENANT" || len(logged) != 0 {
		t.Fatalf("both entries in TENANT, nothing logged: %+v %q", got, logged)
	}

	// Account overrides what the connection says.
	told := &Reporter{URL: car.server.URL, Server: "new", Conn: tenant, Account: "tenant-by-id"}
	told.WatchConsumer(c)
	if s := reported(t, told, car); s.Account != "tenant-by-id" {
		t.Fatalf("Account given: %+v", s)
	}

	// A user that may not ask (nats.go v1.37 says so only asynchronously, so the
	// request times out): logged with the fix, reported without an account.
	narrow := connectTo(t, url, nats.UserInfo("narrow", "narrow"))
	njs, err := jetstream.New(narrow)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := njs.Consumer(ctx, "orders", "billing")
	if err != nil {
		t.Fatal(err)
	}
	logged = nil
	denied := &Reporter{URL: car.server.URL, Server: "new", Conn: narrow, Logf: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }}
	denied.WatchConsumer(nc)
	if s := reported(t, denied, car); s.Account != "" {
		t.Fatalf("no account when the server did not say: %+v", s)
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "$SYS.REQ.USER.INFO: nats: timeout") || !strings.Contains(logged[0], "set probe.Reporter.Account") {
		t.Fatalf("one log line naming the problem and the fix: %q", logged)
	}
}

func TestTheDefaultAccountIsLeftOutOfTheReport(t *testing.T) {
	nc := startJetStream(t)
	js := stream(t, nc, "orders", 1)
	c, err := js.CreateOrUpdateConsumer(context.Background(), "orders", jetstream.ConsumerConfig{Durable: "billing"})
	if err != nil {
		t.Fatal(err)
	}
	car := newSidecar(t, nil)
	r := &Reporter{URL: car.server.URL, Server: "new", Conn: nc}
	r.WatchConsumer(c)
	if s := reported(t, r, car); s.Account != "" || s.Durable != "billing" {
		t.Fatalf("$G is the default account, which has no label: %+v", s)
	}
}
