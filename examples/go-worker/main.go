// Command go-worker is an example NATS Streaming worker that reports its
// subscription's client-side pending messages (stan.go Subscription.Pending())
// to the nats-queue-exporter sidecar running in the same pod, with the
// go/probe package of this repository. With -jetstream it is the same worker
// on a JetStream pull consumer (nats.go's jetstream package) instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/stan.go"
	"github.com/nats-queue-exporter/nats-queue-exporter/go/probe"
)

func main() {
	host, _ := os.Hostname()
	natsURL := flag.String("nats", stan.DefaultNatsURL, "NATS URL of the NATS Streaming server (with -jetstream, of the nats-server; user:password@ in it to log in)")
	cluster := flag.String("cluster", "test-cluster", "NATS Streaming cluster ID")
	clientID := flag.String("client-id", fmt.Sprintf("%s-%d", host, os.Getpid()), "NATS Streaming client ID, also the probe report's client_id")
	subject := flag.String("subject", "", "channel to consume (required)")
	group := flag.String("group", "", "queue group, or empty")
	durable := flag.String("durable", "", "durable name, or empty")
	manualAck := flag.Bool("manual-ack", false, "ack each message after handling it")
	maxInflight := flag.Int("max-inflight", stan.DefaultMaxInflight, "most unacked messages the server sends this subscription")
	work := flag.Duration("work", 100*time.Millisecond, "time the handler spends on each message")
	server := flag.String("server", "local", "NAME the sidecar gives this server (its --server NAME=URL, or --jetstream NAME=URL)")
	jetStream := flag.Bool("jetstream", false, "consume the JetStream pull consumer -durable of the stream -subject (always acking) instead of a NATS Streaming channel")
	sidecar := flag.String("sidecar", envOr("NQE_PROBE_URL", probe.DefaultURL), "the sidecar's probe listener (env NQE_PROBE_URL)")
	interval := flag.Duration("interval", probe.DefaultInterval, "time between pending reports")
	flag.Parse()
	logger := log.New(os.Stdout, "go-worker ", log.LstdFlags|log.Lmicroseconds)
	if *subject == "" {
		logger.Fatal("-subject is required, e.g. -subject orders")
	}
	if *jetStream {
		consumeJetStream(logger, *natsURL, *subject, *durable, *work, &probe.Reporter{URL: *sidecar, ClientID: *clientID, Server: *server, Interval: *interval, Logf: logger.Printf})
		return
	}

	sc, err := stan.Connect(*cluster, *clientID, stan.NatsURL(*natsURL))
	if err != nil {
		logger.Fatalf("connect to %s: %v", *natsURL, err)
	}
	defer sc.Close()

	handle := func(m *stan.Msg) {
		time.Sleep(*work)
		if *manualAck {
			if err := m.Ack(); err != nil {
				logger.Printf("ack %d: %v", m.Sequence, err)
			}
		}
	}
	opts := []stan.SubscriptionOption{stan.DeliverAllAvailable(), stan.MaxInflight(*maxInflight)}
	if *manualAck {
		opts = append(opts, stan.SetManualAckMode())
	}
	if *durable != "" {
		opts = append(opts, stan.DurableName(*durable))
	}
	sub, err := sc.QueueSubscribe(*subject, *group, handle, opts...)
	if err != nil {
		logger.Fatalf("subscribe to %s: %v", *subject, err)
	}

	reporter := &probe.Reporter{URL: *sidecar, ClientID: *clientID, Server: *server, Interval: *interval, Logf: logger.Printf}
	reporter.Watch(sub, *subject, *group, *durable, *maxInflight)
	logger.Printf("subscribed to %s (group %q, durable %q), reporting to %s every %s", *subject, *group, *durable, *sidecar, *interval)
	reportUntilSignal(logger, reporter)
}

// reportUntilSignal reports until SIGTERM or SIGINT, then once more with zeros.
func reportUntilSignal(logger *log.Logger, reporter *probe.Reporter) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	done := make(chan struct{})
	go func() {
		reporter.Run(ctx)
		close(done)
	}()
	<-ctx.Done()
	<-done
	logger.Printf("stopped after a final pending report")
}

// consumeJetStream handles the messages of the pull consumer durable on stream,
// one at a time, counting through the probe what the handler holds. The
// jetstream package's prefetch buffer is its own and is not counted.
func consumeJetStream(logger *log.Logger, natsURL, stream, durable string, work time.Duration, reporter *probe.Reporter) {
	nc, err := nats.Connect(natsURL)
	if err != nil {
		logger.Fatalf("connect to %s: %v", natsURL, err)
	}
	defer nc.Close()
	// Asked once which account its user is in: a queue outside the default
	// account is labelled with it, as the exporter labels the server's side.
	reporter.Conn = nc
	js, err := jetstream.New(nc)
	if err != nil {
		logger.Fatal(err)
	}
	consumer, err := js.Consumer(context.Background(), stream, durable)
	if err != nil {
		logger.Fatalf("consumer %q of stream %q: %v", durable, stream, err)
	}
	held := reporter.WatchConsumer(consumer)
	consuming, err := consumer.Consume(held.Handler(func(m jetstream.Msg) {
		time.Sleep(work)
		if err := m.Ack(); err != nil {
			logger.Printf("ack: %v", err)
		}
	}))
	if err != nil {
		logger.Fatalf("consume %q of stream %q: %v", durable, stream, err)
	}
	defer consuming.Stop()
	logger.Printf("subscribed to stream %s (consumer %q), reporting to %s", stream, durable, reporter.URL)
	reportUntilSignal(logger, reporter)
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
