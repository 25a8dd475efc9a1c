// Package httpin reads what outside clients send to pscm's HTTP doors (the
// kiosk API, the queue webhook): the bearer token and the body, with one
// answer per kind of failure, so every door refuses the same input the same
// way and a client can tell what to do next (retry or not).
package httpin

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pscm/pscm/internal/logging"
	"github.com/pscm/pscm/internal/textclip"
)

// Bearer returns the token of an "Authorization: Bearer <token>" header.
// The scheme is matched without regard to case and any run of spaces or
// tabs may separate it from the token (RFC 9110 11.4, 11.6.2); ok is false
// when the header is absent, of another scheme, or has no token.
func Bearer(r *http.Request) (token string, ok bool) {
	f := strings.Fields(r.Header.Get("Authorization"))
	if len(f) != 2 || !strings.EqualFold(f[0], "Bearer") {
		return "", false
	}
	return f[1], true
}

// HasBearer reports whether r carries "Authorization: Bearer <token>",
// compared in constant time (token must not be empty).
func HasBearer(r *http.Request, token string) bool {
	got, ok := Bearer(r)
	return ok && token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// Why a body could not be read.
var (
	// ErrTooLarge: the body is longer than allowed. Sending it again will
	// not help: 413.
	ErrTooLarge = errors.New("body too large")
	// ErrIncomplete: the body stopped coming (the read timed out) or
	// ended before its Content-Length. The request may be sent again: 408.
	ErrIncomplete = errors.New("body incomplete")
)

// ReadBody reads r's body, at most max bytes, and returns ErrTooLarge or
// ErrIncomplete (wrapped) for the two failures a client must tell apart.
func ReadBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err == nil {
		return body, nil
	}
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return nil, errors.Join(ErrTooLarge, err)
	}
	// A stalled client hits the server's ReadTimeout (a deadline error); a
	// client that hangs up mid-body, an unexpected EOF. Either way what
	// came is not the request it meant to send.
	return nil, errors.Join(ErrIncomplete, err)
}

// Status is the answer to a ReadBody error: the HTTP status, the reason
// (a label value) and a short text for the client. max is ReadBody's.
func Status(err error, max int64) (status int, reason, msg string) {
	switch {
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "too_large", "body is larger than " + strconv.FormatInt(max, 10) + " bytes"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return http.StatusRequestTimeout, "incomplete_body", "body did not arrive in time; send the request again"
	default: // ErrIncomplete: ReadBody returns no other
		return http.StatusRequestTimeout, "incomplete_body", "body ended before it was complete; send the request again"
	}
}

// Refusals counts every refused request by endpoint and reason and logs
// them at Warn, one line per endpoint, reason and 10 s with how many were
// held back: a scanner without a token or a flood of bad bodies costs a
// few lines, while the counter shows all of it.
type Refusals struct {
	counter *prometheus.CounterVec
	limit   *logging.Limiter
	log     *slog.Logger
	now     func() time.Time
}

// NewRefusals registers pscm_<program>_http_refused_total{endpoint,reason}
// with reg (nil: counted, not exported).
func NewRefusals(program string, reg prometheus.Registerer, log *slog.Logger) *Refusals {
	f := &Refusals{
		counter: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pscm", Subsystem: program, Name: "http_refused_total",
			Help: "HTTP requests refused, by endpoint and reason.",
		}, []string{"endpoint", "reason"}),
		limit: logging.NewLimiter(10 * time.Second),
		log:   log,
		now:   time.Now,
	}
	if reg != nil {
		reg.MustRegister(f.counter)
	}
	return f
}

// Refuse counts and (rate-limited) logs a refusal. endpoint and reason
// must come from a closed set: they are label values.
func (f *Refusals) Refuse(r *http.Request, endpoint, reason string, status int) {
	f.counter.WithLabelValues(endpoint, reason).Inc()
	if ok, held := f.limit.Allow(endpoint+"/"+reason, f.now()); ok {
		f.log.Warn("request refused", "endpoint", endpoint, "reason", reason, "status", status,
			"method", textclip.Clip(r.Method, 16), "path", textclip.Clip(r.URL.Path, 80), "remote", r.RemoteAddr,
			"similar_refusals_not_logged", held)
	}
}

// ParsePrefixes parses addresses ("10.0.0.5") and CIDR prefixes
// ("10.0.0.0/24"), as a trusted_proxies setting lists them.
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for i, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %q is neither an address nor a CIDR prefix", i, textclip.Clip(s, 60))
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// ClientIP returns a function naming a request's client: the TCP peer,
// unless the peer is one of trusted, a reverse proxy, whose header then
// names it. For X-Forwarded-For that is the right-most address not itself
// a trusted proxy (what is left of it, the client wrote itself); for
// X-Real-IP, its value. A header that does not parse leaves the peer.
func ClientIP(trusted []netip.Prefix, header string) func(*http.Request) string {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		peer, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil {
			return r.RemoteAddr
		}
		addr := peer.Addr().Unmap()
		if len(trusted) == 0 || !isTrusted(addr) {
			return addr.String()
		}
		values := r.Header.Values(header)
		if header == "X-Real-IP" {
			if len(values) == 1 {
				if a, err := netip.ParseAddr(strings.TrimSpace(values[0])); err == nil {
					return a.Unmap().String()
				}
			}
			return addr.String()
		}
		var hops []string
		for _, v := range values {
			hops = append(hops, strings.Split(v, ",")...)
		}
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				return addr.String()
			}
			if !isTrusted(a) {
				return a.Unmap().String()
			}
		}
		return addr.String()
	}
}
