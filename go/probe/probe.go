// Package probe reports a worker's client-side pending messages (stan.go
// Subscription.Pending() and Dropped(); for JetStream, nats.go's, or what a
// jetstream.Consumer's handler holds) to the nats-queue-exporter sidecar of
// its pod, which publishes them as queue_client_msgs_pending and friends
// beside the server's view of the same queue.
//
//	reporter := &probe.Reporter{Server: "prod"}
//	reporter.Watch(sub, "orders", "billing", "ledger", 1024)
//	go reporter.Run(ctx) // every 5 s until ctx ends, then a last report with zeros
//
// The report is the exporter's POST /v1/pending format (docs/client-probes.md, "The report");
// the Node probe (nats-queue-exporter/probe) sends the same, so both feed one
// listener. The package needs stan.go, nats.go and the standard library only;
// it never panics into the worker and never stops it.
package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/stan.go"
)

// Version is the nats-queue-exporter release this package belongs to; the
// module is tagged go/probe/vVERSION with it.
const Version = "0.1.0"

// DefaultURL is where the sidecar's probe listener is unless NQE_PROBE_URL says otherwise.
const DefaultURL = "http://127.0.0.1:7779"

// DefaultInterval between reports: well under the sidecar's --probe-ttl (30 s).
const DefaultInterval = 5 * time.Second

// Reporter pushes the pending figures of the subscriptions it watches.
// Set the fields before Watch and Run; the zero value of each has a default.
type Reporter struct {
	// URL of the sidecar's probe listener; default $NQE_PROBE_URL, else DefaultURL.
	URL string
	// ClientID identifies this process's reports (each replaces the last); default HOSTNAME-PID.
	ClientID string
	// Server is the NAME the sidecar gives the server (--server or --jetstream NAME=URL). Required.
	Server string
	// Interval between reports; default DefaultInterval.
	Interval time.Duration
	// Logf is told about failed reports; the worker goes on regardless.
	Logf func(format string, args ...any)
	// Client sends the reports; default a client of its own.
	Client *http.Client
	// Account is the JetStream account of the consumers watched with
	// WatchSubscription and WatchConsumer, as the exporter labels their queues
	// (the account's name; "" or "$G" for the default account). Without it,
	// Conn is asked.
	Account string
	// Conn, when set and Account is not, is asked once ($SYS.REQ.USER.INFO)
	// which account its user is in, for the JetStream watchers' labels.
	Conn *nats.Conn

	mu   sync.Mutex
	subs []watched
	// The account Conn named, asked once by the first JetStream watcher.
	accountOnce sync.Once
	connAccount string
}

// pendingCounter is what a watched subscription tells: stan.Subscription,
// *nats.Subscription and *Held all have these.
type pendingCounter interface {
	Pending() (int, int, error)
	Dropped() (int, error)
}

type watched struct {
	sub                              pendingCounter
	account, subject, group, durable string
	maxInflight                      int
}

type subscriptionReport struct {
	Server      string `json:"server"`
	Account     string `json:"account,omitempty"`
	Subject     string `json:"subject"`
	Group       string `json:"group"`
	Durable     string `json:"durable"`
	Msgs        int    `json:"msgs"`
	Bytes       int    `json:"bytes"`
	Dropped     int    `json:"dropped"`
	MaxInflight int    `json:"max_inflight,omitempty"`
}

type pendingReport struct {
	ClientID      string               `json:"client_id"`
	Subscriptions []subscriptionReport `json:"subscriptions"`
}

// Watch adds a subscription to the reports. group and durable are as given to
// Subscribe or QueueSubscribe ("" for none); maxInflight as in stan.MaxInflight
// (0 leaves it out of the report).
func (r *Reporter) Watch(sub stan.Subscription, subject, group, durable string, maxInflight int) {
	r.watch(sub, "", subject, group, durable, maxInflight)
}

func (r *Reporter) watch(sub pendingCounter, account, subject, group, durable string, maxInflight int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs = append(r.subs, watched{sub, account, subject, group, durable, maxInflight})
}

// Run reports every Interval until ctx ends, backing off (up to a minute, with
// jitter) while the sidecar does not answer, then sends a last report with
// zero figures so the sidecar drops this worker's share at once.
func (r *Reporter) Run(ctx context.Context) {
	interval := r.interval()
	failures := 0
	for {
		delay := interval
		if failures > 0 {
			delay = min(interval<<min(failures, 6), max(time.Minute, interval))
			// Jitter keeps the workers of a restarted pod from reporting in step.
			delay = time.Duration(float64(delay) * (0.8 + 0.4*rand.Float64()))
		}
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := r.send(final, true); err != nil {
				r.logf("final pending report: %v", err)
			}
			return
		case <-time.After(delay):
		}
		if err := r.Report(ctx); err != nil {
			failures++
			r.logf("pending report: %v", err)
		} else {
			failures = 0
		}
	}
}

// Report sends one report now with the current figures.
func (r *Reporter) Report(ctx context.Context) error {
	return r.send(ctx, false)
}

func (r *Reporter) send(ctx context.Context, zero bool) error {
	if r.Server == "" {
		return fmt.Errorf("probe.Reporter.Server is empty: set it to the sidecar's --server NAME (NATS Streaming) or --jetstream NAME for this server")
	}
	report := pendingReport{ClientID: r.clientID(), Subscriptions: []subscriptionReport{}}
	r.mu.Lock()
	for _, w := range r.subs {
		msgs, size, err := w.sub.Pending()
		if err != nil {
			continue // closed subscription: nothing held for it any more
		}
		dropped, _ := w.sub.Dropped()
		if zero {
			msgs, size = 0, 0
		}
		report.Subscriptions = append(report.Subscriptions, subscriptionReport{
			Server: r.Server, Account: w.account, Subject: w.subject, Group: w.group, Durable: w.durable,
			Msgs: msgs, Bytes: size, Dropped: dropped, MaxInflight: w.maxInflight,
		})
	}
	r.mu.Unlock()
	body, err := json.Marshal(report)
	if err != nil {
		return err
	}
	timeout, cancel := context.WithTimeout(ctx, min(r.interval(), 5*time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(timeout, http.MethodPost, r.url()+"/v1/pending", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "nats-queue-exporter-probe-go/"+Version)
	client := r.Client
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("sidecar answered %d: %s", res.StatusCode, bytes.TrimSpace(answer))
	}
	return nil
}

func (r *Reporter) url() string {
	if r.URL != "" {
		return r.URL
	}
	if v := os.Getenv("NQE_PROBE_URL"); v != "" {
		return v
	}
	return DefaultURL
}

func (r *Reporter) clientID() string {
	if r.ClientID != "" {
		return r.ClientID
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

func (r *Reporter) interval() time.Duration {
	if r.Interval > 0 {
		return r.Interval
	}
	return DefaultInterval
}

func (r *Reporter) logf(format string, args ...any) {
	if r.Logf != nil {
		r.Logf(format, args...)
	}
}
