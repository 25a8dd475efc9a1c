package kiosk

import "github.com/prometheus/client_golang/prometheus"

// Values of the result label of kiosk_requests_total. The set is closed, and
// the kiosk label takes only configured kiosk IDs, so a tablet (or anyone on
// the network) sending garbage cannot grow the number of series.
const (
	resultAccepted     = StatusAccepted // a press that became a rating
	resultIgnored      = StatusIgnored  // a press anti-abuse dropped
	resultOK           = "ok"           // config, ping, photo, reasons
	resultUnauthorized = "unauthorized"
	resultBadRequest   = "bad_request"
	resultUnavailable  = "unavailable" // spool full or too slow: 503
	resultError        = "error"
)

func results() []string {
	return []string{resultAccepted, resultIgnored, resultOK, resultUnauthorized, resultBadRequest, resultUnavailable, resultError}
}

type metrics struct {
	requests *prometheus.CounterVec
	unknown  prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: "agent", Name: "kiosk_requests_total",
			Help: "Requests to the kiosk API (config, ping, photo, press, reasons) by kiosk and result; accepted and ignored count presses.",
		}, []string{"kiosk", "result"}),
		unknown: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: "agent", Name: "kiosk_unknown_requests_total",
			Help: "Requests for a kiosk ID this agent does not have (a tablet paired to the wrong agent, or a scan).",
		}),
	}
}

// zero creates every series of a kiosk at 0, so rate() and alerts see a
// kiosk from the agent's start, before its first failure.
func (m *metrics) zero(kiosk string) {
	for _, r := range results() {
		m.requests.WithLabelValues(kiosk, r)
	}
}

func (m *metrics) inc(kiosk, result string) {
	m.requests.WithLabelValues(kiosk, result).Inc()
}

func (m *metrics) register(reg prometheus.Registerer) error {
	if err := reg.Register(m.requests); err != nil {
		return err
	}
	return reg.Register(m.unknown)
}
