// Package bot is the WeCom edge: the callback endpoint (verify, decrypt, store,
// answer), the workers that hand stored callbacks to the handlers in order per
// user, and the sender that turns outbox rows into WeCom API calls.
package bot

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the bot's Prometheus instruments, registered on one registry.
type Metrics struct {
	Callbacks       *prometheus.CounterVec   // result: stored, duplicate, rejected, unavailable
	CallbackSeconds prometheus.Histogram     // intake latency
	CommitBatch     prometheus.Histogram     // callbacks per group commit
	Handled         *prometheus.CounterVec   // result: ok, user_error, internal_error
	HandleSeconds   prometheus.Histogram     // processing latency
	Outbox          *prometheus.CounterVec   // result: sent, retry, failed, unknown
	APISeconds      *prometheus.HistogramVec // api
	APIErrors       *prometheus.CounterVec   // errcode
}

// NewMetrics creates and registers the instruments (reg may be nil in tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "safetybot_callbacks_total",
			Help: "WeCom callbacks by result."}, []string{"result"}),
		CallbackSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "safetybot_callback_duration_seconds",
			Help: "Time from request to answer for WeCom callbacks.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		CommitBatch: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "safetybot_inbox_commit_batch_size",
			Help: "Callbacks stored per group commit.", Buckets: prometheus.ExponentialBuckets(1, 2, 10)}),
		Handled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "safetybot_inbox_handled_total",
			Help: "Inbox rows handled by result."}, []string{"result"}),
		HandleSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "safetybot_inbox_handle_duration_seconds",
			Help: "Time to handle one inbox row.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		Outbox: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "safetybot_outbox_messages_total",
			Help: "Outbox rows by result."}, []string{"result"}),
		APISeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "safetybot_wecom_api_request_duration_seconds",
			Help: "WeCom API call latency.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"api"}),
		APIErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "safetybot_wecom_api_errors_total",
			Help: "WeCom API errors by errcode."}, []string{"errcode"}),
	}
	if reg != nil {
		reg.MustRegister(m.Callbacks, m.CallbackSeconds, m.CommitBatch, m.Handled, m.HandleSeconds, m.Outbox, m.APISeconds, m.APIErrors)
	}
	return m
}
