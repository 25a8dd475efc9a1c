// Package adminhttp serves an operator's endpoints (/metrics, /healthz,
// /readyz, the agent's calibration page) on a listener of their own.
//
// What these endpoints show is not for everyone who can reach a program's
// main port: the agent's metrics carry each counter's staff presence in real
// time, on the same port the tablets of the center's LAN use; the
// dashboard's main port is what a reverse proxy publishes. So they listen
// apart, on loopback by default (Prometheus on the same machine, or an
// operator through SSH). A non-loopback admin listener must have TLS and a
// bearer token for /metrics: a scrape crosses a network, and what it reads
// is personal data.
package adminhttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/health"
	"github.com/pscm/pscm/internal/httpin"
)

// MinTokenLen is the shortest metrics token accepted: it is pasted once
// into Prometheus's credentials file, never typed.
const MinTokenLen = 24

// Config is the admin listener in a program's configuration.
type Config struct {
	// Listen is host:port; loopback unless Token and TLS are set.
	Listen string `yaml:"listen"`
	// Token, when set, is required as "Authorization: Bearer" on /metrics.
	Token config.Secret `yaml:"token"`
	// TLS serves HTTPS (required off loopback).
	TLS config.ServerTLS `yaml:"tls"`
}

// Validate checks the address, and that a listener off loopback has a
// token and TLS. It reads no file.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if err := c.TLS.Validate(); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	if err := c.Token.Validate(); err != nil {
		return fmt.Errorf("token: %w", err)
	}
	if !Loopback(c.Listen) && (!c.Token.IsSet() || !c.TLS.Enabled()) {
		return fmt.Errorf("listen: %s is not loopback: set token and tls too (the metrics show staff presence; "+
			"they must not cross the network in clear or to anyone)", c.Listen)
	}
	return nil
}

// ValidateBeside is Validate for the admin listener of a program whose
// users reach it on userListen: the two must be different ports, or the
// metrics would be served where the users (the LAN, a proxy) reach. Port 0
// (a free port each) never clashes.
func (c Config) ValidateBeside(userListen string) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if c.Listen == userListen && !strings.HasSuffix(c.Listen, ":0") {
		return fmt.Errorf("listen: must differ from http.listen (%s): metrics stay off the port users reach", c.Listen)
	}
	return nil
}

// Resolve is Validate, then the token read and judged, and the certificate
// loaded: what the program refuses at start. It returns the token ("" when
// none is set).
func (c Config) Resolve() (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	if err := c.TLS.Check(); err != nil {
		return "", fmt.Errorf("tls: %w", err)
	}
	token, err := c.Token.Value()
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	if token != "" {
		if err := config.WeakSecret(token, MinTokenLen); err != nil {
			return "", fmt.Errorf("token: %w", err)
		}
	}
	return token, nil
}

// Loopback reports whether listen (host:port) binds only a loopback
// address. A name other than "localhost", or an empty host (every
// address), is not loopback.
func Loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// Server is a started admin listener.
type Server struct {
	ln  net.Listener
	srv *http.Server
	tls config.ServerTLS
}

// Listen binds c.Listen and returns the server of mux, with /metrics of reg
// (behind token when it is set) and health added to it.
func Listen(c Config, token string, mux *http.ServeMux, reg *prometheus.Registry, ready *health.Readiness, log *slog.Logger) (*Server, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("admin.%w", err)
	}
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	if token != "" {
		metrics = requireToken(token, metrics)
	}
	mux.Handle("GET /metrics", metrics)
	health.Register(mux, ready)
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return nil, fmt.Errorf("admin listen: %w", err)
	}
	return &Server{ln: ln, tls: c.TLS, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve serves until Shutdown; it returns nil then.
func (s *Server) Serve() error {
	if err := s.tls.Serve(s.srv, s.ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("admin http: %w", err)
	}
	return nil
}

// Shutdown stops the server, giving the requests under way until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.srv.Shutdown(ctx)
}

// Close releases the listener of a server that never served.
func (s *Server) Close() error { return s.srv.Close() }

// requireToken answers 401 unless the request carries the bearer token.
func requireToken(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !httpin.HasBearer(r, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pscm metrics"`)
			http.Error(w, "metrics need the admin token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
