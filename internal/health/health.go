// Package health answers the two questions operators and their tools ask of
// a running pscm program, and says which build answers them.
//
//   - GET /healthz: is the process alive? It answers 200 whenever the HTTP
//     server does, and checks nothing else, so that a supervisor restarts a
//     hung process and never a healthy one whose database is down.
//   - GET /readyz: can the program do its job now? Each real dependency (a
//     broker connection, the database, a writable spool, a first load) is a
//     named Check; the answer is 200 only when every check passes, else 503,
//     and the body lists each result by name, so whoever reads it knows which
//     dependency to look at.
//   - pscm_<subsystem>_build_info{version,goversion} 1 (BuildInfo).
package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Check reports whether one dependency is usable now: nil, or why not. It
// must return soon after ctx ends; Readiness gives each check a deadline.
type Check func(ctx context.Context) error

// Condition is a Check of a state a component already keeps (connected,
// subscribed, answering): it fails with whyNot while ok reports false.
func Condition(ok func() bool, whyNot string) Check {
	return func(context.Context) error {
		if !ok() {
			return errors.New(whyNot)
		}
		return nil
	}
}

// Result is the outcome of one named check.
type Result struct {
	Name string
	Err  error
}

// Readiness is a registry of named checks. It is safe for concurrent use:
// a component may add its checks while the server already answers.
type Readiness struct {
	timeout time.Duration

	mu     sync.Mutex
	names  []string
	checks map[string]Check
}

// DefaultTimeout bounds one check when NewReadiness is given no timeout. A
// probe that waits longer than a few seconds has already decided.
const DefaultTimeout = 2 * time.Second

// NewReadiness returns an empty registry whose checks each get timeout
// (DefaultTimeout if not positive).
func NewReadiness(timeout time.Duration) *Readiness {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Readiness{timeout: timeout, checks: map[string]Check{}}
}

// Add registers c under name. Names are what /readyz prints, so they are
// short, unique and on one line; Add panics otherwise, as
// prometheus.MustRegister does for a wiring mistake.
func (r *Readiness) Add(name string, c Check) {
	if name == "" || strings.ContainsAny(name, " \t\r\n") || c == nil {
		panic(fmt.Sprintf("health: invalid check %q", name))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.checks[name]; dup {
		panic(fmt.Sprintf("health: check %q added twice", name))
	}
	r.names = append(r.names, name)
	r.checks[name] = c
}

// Check runs every check at once, each with the registry's timeout, and
// returns their results in the order they were added.
func (r *Readiness) Check(ctx context.Context) []Result {
	r.mu.Lock()
	names := append([]string(nil), r.names...)
	checks := make([]Check, len(names))
	for i, n := range names {
		checks[i] = r.checks[n]
	}
	r.mu.Unlock()

	out := make([]Result, len(names))
	var wg sync.WaitGroup
	for i := range names {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, r.timeout)
			defer cancel()
			err := checks[i](cctx)
			if err != nil && errors.Is(cctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
				err = fmt.Errorf("no answer within %v", r.timeout)
			}
			out[i] = Result{Name: names[i], Err: err}
		})
	}
	wg.Wait()
	return out
}

// ServeHTTP answers /readyz: 200 when every check passes, 503 otherwise,
// with one line per check, in the format Kubernetes' verbose /readyz uses:
//
//	[+]mqtt ok
//	[-]influxdb failed: Get "http://127.0.0.1:8086/ping": connection refused
//	readyz check failed
func (r *Readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var b strings.Builder
	failed := false
	for _, res := range r.Check(req.Context()) {
		if res.Err == nil {
			fmt.Fprintf(&b, "[+]%s ok\n", res.Name)
			continue
		}
		failed = true
		// One line per check, whatever the error says.
		msg := strings.Join(strings.Fields(res.Err.Error()), " ")
		fmt.Fprintf(&b, "[-]%s failed: %s\n", res.Name, msg)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if failed {
		w.WriteHeader(http.StatusServiceUnavailable)
		b.WriteString("readyz check failed\n")
	} else {
		b.WriteString("readyz check passed\n")
	}
	io.WriteString(w, b.String())
}

// Alive answers /healthz: the process is alive if it answers at all.
func Alive() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "ok\n")
	})
}

// Register serves GET /healthz (Alive) and GET /readyz (r) on mux.
func Register(mux *http.ServeMux, r *Readiness) {
	mux.Handle("GET /healthz", Alive())
	mux.Handle("GET /readyz", r)
}

// BuildInfo registers pscm_<subsystem>_build_info{version,goversion}, always
// 1, so a dashboard or an alert can tell which build of each program runs.
// It panics if the registry already has it, as MustRegister does.
func BuildInfo(reg prometheus.Registerer, subsystem, version string) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "pscm", Subsystem: subsystem, Name: "build_info",
		Help: "Always 1; the labels give the program's version and the Go version it was built with.",
	}, []string{"version", "goversion"})
	g.WithLabelValues(version, runtime.Version()).Set(1)
	reg.MustRegister(g)
}
