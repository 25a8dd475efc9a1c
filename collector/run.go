package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/pscm/pscm/collector/admission"
	"github.com/pscm/pscm/collector/config"
	"github.com/pscm/pscm/collector/ingest"
	"github.com/pscm/pscm/collector/tagindex"
	"github.com/pscm/pscm/internal/health"
	"github.com/pscm/pscm/internal/store"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// run is the whole program; tests call it in-process. It returns when ctx
// ends (after a graceful flush) or on a fatal error. If ready is not nil it
// receives the bound HTTP address once the collector is serving.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runReady(ctx, args, stdout, stderr, nil)
}

func runReady(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("pscm-collector", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "/etc/pscm/collector.yml", "configuration file")
	check := fs.Bool("config.check", false, "validate the configuration and exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *showVersion {
		fmt.Fprintln(stdout, "pscm-collector", version, runtime.Version())
		return nil
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		return err
	}
	// The check and the start run the same Check: what it passes starts.
	if err := cfg.Check(time.Now()); err != nil {
		return err
	}
	if *check {
		fmt.Fprintf(stdout, "%s: configuration OK\n", *configPath)
		return nil
	}
	log, err := cfg.Log.New(stderr)
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	health.BuildInfo(reg, "collector", version)

	writer, err := store.New(cfg.InfluxDB, log.With("component", "store"), store.NewMetrics(reg, "collector"))
	if err != nil {
		return err
	}
	defer writer.Close()

	stored, err := tagindex.New(cfg.InfluxDB)
	if err != nil {
		return err
	}
	admit, err := admission.New(cfg.Admission, stored, reg, log.With("component", "admission"), time.Now())
	if err != nil {
		return err
	}
	pipeline := ingest.New(cfg.Batch, writer, isPermanent, admit, cfg.ShutdownTimeout,
		log.With("component", "ingest"), ingest.NewMetrics(reg, cfg.Batch), time.Now)

	mopts, err := cfg.MQTT.Options(false) // persistent session: the broker queues while we are away
	if err != nil {
		return err
	}
	sub := ingest.NewSubscriber(mopts, ingest.Filters(cfg.Subscribe.SharedGroup, cfg.Subscribe.SiteSegments()),
		pipeline, log.With("component", "mqtt"), reg)
	readiness := health.NewReadiness(health.DefaultTimeout)
	readiness.Add("mqtt", health.Condition(sub.Connected, "not connected to the broker, or a subscription not granted yet"))
	readiness.Add("influxdb", health.Condition(writer.Up, "the last request to InfluxDB got no answer"))

	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http listen: %w", err)
	}
	srv := &http.Server{
		Handler:           routes(reg, readiness),
		ReadHeaderTimeout: 5 * time.Second,
		// /metrics and the probes only: a client slower than this is gone.
		ReadTimeout:  10 * time.Second,
		WriteTimeout: 30 * time.Second,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	log.Info("starting", "version", version, "broker", cfg.MQTT.Broker, "client_id", cfg.MQTT.ClientID,
		"influxdb", cfg.InfluxDB.URL, "bucket", cfg.InfluxDB.Bucket, "http", ln.Addr().String(),
		"shared_group", cfg.Subscribe.SharedGroup)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http: %w", err)
		}
		return nil
	})
	g.Go(func() error { return writer.PingLoop(gctx, 10*time.Second) })
	g.Go(func() error {
		// Shutdown in order: stop taking messages and flush what was taken
		// (the pipeline's final write and acks), then let the acks leave with
		// the MQTT disconnect, then stop the HTTP server.
		err := pipeline.Run(gctx)
		sub.Stop()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if serr := srv.Shutdown(sctx); serr != nil && err == nil {
			err = serr
		}
		return err
	})
	if err := sub.Start(gctx); err != nil {
		cancel()
		_ = g.Wait()
		return err
	}
	if ready != nil {
		ready <- ln.Addr().String()
	}
	err = g.Wait()
	log.Info("stopped", "err", err)
	return err
}

func isPermanent(err error) (int, bool) {
	var pe *store.PermanentError
	if errors.As(err, &pe) {
		return pe.Dropped, true
	}
	return 0, false
}

func routes(reg *prometheus.Registry, ready *health.Readiness) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	health.Register(mux, ready)
	return mux
}
