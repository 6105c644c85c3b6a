package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// defaultAckWait is the server's ack wait for a consumer configured without one.
const defaultAckWait = 30 * time.Second

// defaultAccount is the account of a server without configured accounts; its
// queues carry no account label.
const defaultAccount = "$G"

// userInfo is answered by nats-server 2.10 and later to any user allowed to publish to it.
const userInfo = "$SYS.REQ.USER.INFO"

// jetstreamAccount is the account label of the JetStream watchers' entries:
// Account, else the account Conn's user is in (asked once; a failure goes to
// Logf and leaves the label out), "" for the default account.
func (r *Reporter) jetstreamAccount() string {
	account := r.Account
	if account == "" && r.Conn != nil {
		r.accountOnce.Do(func() {
			found, err := accountOf(r.Conn)
			if err != nil {
				r.logf("JetStream account: %v; its queues are reported without an account label: let the user publish to %s, or set probe.Reporter.Account", err, userInfo)
			}
			r.connAccount = found
		})
		account = r.connAccount
	}
	if account == defaultAccount {
		return ""
	}
	return account
}

// accountOf asks the server which account nc's user is in: its name (its name
// tag under an operator; servers before 2.12 say only its id).
func accountOf(nc *nats.Conn) (string, error) {
	msg, err := nc.Request(userInfo, nil, 2*time.Second)
	if err != nil {
		return "", fmt.Errorf("%s: %w", userInfo, err)
	}
	var answer struct {
		Data struct {
			Account     string `json:"account"`
			AccountName string `json:"account_name"`
		} `json:"data"`
		Error struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &answer); err != nil {
		return "", fmt.Errorf("%s answered with something other than JSON: %w", userInfo, err)
	}
	if answer.Data.AccountName != "" {
		return answer.Data.AccountName, nil
	}
	if answer.Data.Account == "" {
		return "", fmt.Errorf("%s named no account (%q)", userInfo, answer.Error.Description)
	}
	return answer.Data.Account, nil
}

// WatchSubscription adds a subscription of nats.go's older JetStream API
// (JetStreamContext Subscribe, QueueSubscribe, PullSubscribe) to the reports:
// its Pending() and Dropped(), the messages the client buffered and has not
// handed out, with the labels the exporter gives the consumer's queue (asked
// of the server once: the stream, the deliver group, the durable name; the
// account as Reporter.Account and Conn say).
func (r *Reporter) WatchSubscription(sub *nats.Subscription) error {
	info, err := sub.ConsumerInfo()
	if err != nil {
		return err
	}
	r.watch(sub, r.jetstreamAccount(), info.Stream, info.Config.DeliverGroup, info.Config.Durable, 0)
	return nil
}

// WatchConsumer adds a consumer of nats.go's jetstream package to the reports,
// labelled as the exporter labels its queue: the stream, group "" (its
// consumers are pull consumers), the durable name ("" for an ephemeral), the
// account as Reporter.Account and Conn say. The
// package hands the client's buffer to no one, so only the messages passed
// through the returned Held count: those handed to the worker and not yet
// acked, nakked or termed.
func (r *Reporter) WatchConsumer(c jetstream.Consumer) *Held {
	info := c.CachedInfo()
	h := &Held{ackWait: defaultAckWait, held: map[uint64]*delivery{}}
	if info.Config.AckWait > 0 {
		h.ackWait = info.Config.AckWait
	}
	// The package's consumers are pull consumers: no deliver group.
	r.watch(h, r.jetstreamAccount(), info.Stream, "", info.Config.Durable, 0)
	return h
}

// Held counts the messages of one consumer that the worker holds and has not
// finished. Its methods may be called from any goroutine.
type Held struct {
	ackWait time.Duration
	mu      sync.Mutex
	msgs    int
	bytes   int
	// By stream sequence: a redelivery replaces the copy the worker left unacked.
	held map[uint64]*delivery
}

type delivery struct {
	size     int
	received time.Time
	running  bool
	finished bool
}

// Handler wraps a handler for Consumer.Consume: a message counts from the call
// until the handler returned and the message was acked, nakked or termed
// (in either order).
func (h *Held) Handler(handler jetstream.MessageHandler) jetstream.MessageHandler {
	return func(msg jetstream.Msg) {
		counted, settle := h.hold(msg)
		defer settle()
		handler(counted)
	}
}

// Hold counts a message from Next, Fetch or a MessagesContext until it is
// acked, nakked or termed through the message returned (use that one).
func (h *Held) Hold(msg jetstream.Msg) jetstream.Msg {
	counted, settle := h.hold(msg)
	settle()
	return counted
}

func (h *Held) hold(msg jetstream.Msg) (jetstream.Msg, func()) {
	d := &delivery{size: len(msg.Data()), received: time.Now(), running: true}
	var seq uint64
	if meta, err := msg.Metadata(); err == nil {
		seq = meta.Sequence.Stream
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if earlier, ok := h.held[seq]; ok {
		h.uncount(seq, earlier)
	}
	h.held[seq] = d
	h.msgs++
	h.bytes += d.size
	return &countedMsg{Msg: msg, done: func() { h.finish(seq, d) }, touch: func() { h.touch(d) }}, func() { h.settle(seq, d) }
}

func (h *Held) settle(seq uint64, d *delivery) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d.running = false
	if d.finished {
		h.uncount(seq, d)
	}
}

func (h *Held) finish(seq uint64, d *delivery) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d.finished = true
	if !d.running {
		h.uncount(seq, d)
	}
}

// touch restarts the ack wait, as InProgress does on the server.
func (h *Held) touch(d *delivery) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d.received = time.Now()
}

// uncount stops counting d (held as seq), once; h.mu is held.
func (h *Held) uncount(seq uint64, d *delivery) {
	if h.held[seq] != d {
		return
	}
	delete(h.held, seq)
	h.msgs--
	h.bytes -= d.size
}

// Pending is what the worker holds. Messages received more than an ack wait
// ago, not running and not finished, are left out: the server redelivers them.
func (h *Held) Pending() (int, int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	for seq, d := range h.held {
		if !d.running && now.Sub(d.received) > h.ackWait {
			h.uncount(seq, d)
		}
	}
	return h.msgs, h.bytes, nil
}

// Dropped is always 0: the jetstream package drops nothing it would say.
func (h *Held) Dropped() (int, error) { return 0, nil }

// countedMsg is the message handed to the worker: the calls that end a
// delivery also end its count; InProgress restarts the ack wait.
type countedMsg struct {
	jetstream.Msg
	done, touch func()
}

func (m *countedMsg) InProgress() error {
	m.touch()
	return m.Msg.InProgress()
}

func (m *countedMsg) Ack() error {
	defer m.done()
	return m.Msg.Ack()
}

func (m *countedMsg) DoubleAck(ctx context.Context) error {
	defer m.done()
	return m.Msg.DoubleAck(ctx)
}

func (m *countedMsg) Nak() error {
	defer m.done()
	return m.Msg.Nak()
}

func (m *countedMsg) NakWithDelay(delay time.Duration) error {
	defer m.done()
	return m.Msg.NakWithDelay(delay)
}

func (m *countedMsg) Term() error {
	defer m.done()
	return m.Msg.Term()
}

func (m *countedMsg) TermWithReason(reason string) error {
	defer m.done()
	return m.Msg.TermWithReason(reason)
}
