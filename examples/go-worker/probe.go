package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/stan.go"
)

// PendingReporter pushes stan.go's Subscription.Pending() figures to the
// nats-queue-exporter sidecar (POST /v1/pending). Copy this file into a worker:
// it needs nothing but stan.go and the standard library.
type PendingReporter struct {
	// URL of the sidecar's probe listener, e.g. http://127.0.0.1:7779.
	URL string
	// ClientID identifies this process's reports; each report replaces the last.
	ClientID string
	// Server is the NAME the sidecar gives the NATS Streaming server (--server NAME=URL).
	Server string
	// Interval between reports; keep it well under the sidecar's --probe-ttl.
	Interval time.Duration
	// Logf is told about failed reports; the worker goes on regardless.
	Logf func(format string, args ...any)

	mu   sync.Mutex
	subs []watchedSub
	http http.Client
}

type watchedSub struct {
	sub                     stan.Subscription
	subject, group, durable string
	maxInflight             int
}

type subscriptionReport struct {
	Server      string `json:"server"`
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
// Subscribe / QueueSubscribe ("" for none); maxInflight as in stan.MaxInflight.
func (r *PendingReporter) Watch(sub stan.Subscription, subject, group, durable string, maxInflight int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs = append(r.subs, watchedSub{sub, subject, group, durable, maxInflight})
}

// Run reports every Interval until ctx ends, backing off while the sidecar
// does not answer, then sends a last report with zero figures.
func (r *PendingReporter) Run(ctx context.Context) {
	failures := 0
	for {
		delay := r.Interval
		if failures > 0 {
			backoff := r.Interval << min(failures, 6)
			delay = min(backoff, max(time.Minute, r.Interval))
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
		if err := r.send(ctx, false); err != nil {
			failures++
			r.logf("pending report: %v", err)
		} else {
			failures = 0
		}
	}
}

func (r *PendingReporter) send(ctx context.Context, zero bool) error {
	report := pendingReport{ClientID: r.ClientID, Subscriptions: []subscriptionReport{}}
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
			Server: r.Server, Subject: w.subject, Group: w.group, Durable: w.durable,
			Msgs: msgs, Bytes: size, Dropped: dropped, MaxInflight: w.maxInflight,
		})
	}
	r.mu.Unlock()
	body, err := json.Marshal(report)
	if err != nil {
		return err
	}
	timeout, cancel := context.WithTimeout(ctx, min(r.Interval, 5*time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(timeout, http.MethodPost, r.URL+"/v1/pending", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := r.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("sidecar answered %d: %s", res.StatusCode, answer)
	}
	return nil
}

func (r *PendingReporter) logf(format string, args ...any) {
	if r.Logf != nil {
		r.Logf(format, args...)
	}
}
