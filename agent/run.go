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
	"path/filepath"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/pscm/pscm/agent/camera/pipeline"
	"github.com/pscm/pscm/agent/config"
	"github.com/pscm/pscm/agent/intake"
	"github.com/pscm/pscm/agent/kiosk"
	"github.com/pscm/pscm/agent/outbox"
	"github.com/pscm/pscm/agent/queue"
	"github.com/pscm/pscm/agent/ratings"
	"github.com/pscm/pscm/agent/spool"
	"github.com/pscm/pscm/agent/uplink"
	"github.com/pscm/pscm/internal/adminhttp"
	ccases "github.com/pscm/pscm/internal/cases"
	iconfig "github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/health"
	"github.com/pscm/pscm/internal/httpin"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/timezone"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runReady(ctx, args, stdout, stderr, nil)
}

// listening are the addresses the agent serves on.
type listening struct {
	http  string // kiosk pages, the queue webhook
	admin string // metrics, health, calibration
}

// runReady is run; if ready is not nil it receives the addresses once the
// agent serves.
func runReady(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- listening) error {
	fs := flag.NewFlagSet("pscm-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "/etc/pscm/agent.yml", "configuration file")
	check := fs.Bool("config.check", false, "validate the configuration and exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *showVersion {
		fmt.Fprintln(stdout, "pscm-agent", version, runtime.Version())
		return nil
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		return err
	}
	// The check and the start run the same Resolve: what it passes starts,
	// and its secrets are the ones served with.
	secrets, err := cfg.Resolve()
	if err != nil {
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
	log = log.With("site", cfg.Site, "agent", cfg.Agent)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	health.BuildInfo(reg, "agent", version)

	sp, err := spool.Open(cfg.Spool, log.With("component", "spool"), spool.NewMetrics(reg))
	if err != nil {
		return err
	}
	defer sp.Close()
	ob := outbox.New(cfg.Site, cfg.Agent, sp, time.Now)
	// Queue sessions at counters a camera watches pass through the camera
	// pipeline, which fuses them with the camera's own.
	var queueOut queue.Emitter = ob
	var cams *pipeline.Watch
	if len(cfg.Cameras) > 0 {
		cams, err = pipeline.New(cfg.Camera, cfg.Cameras, ob, log.With("component", "cameras"), reg, time.Now,
			pipeline.WithStateDir(cfg.Spool.Dir))
		if err != nil {
			return err
		}
		queueOut = cams.Queue()
	}
	// Open tickets are kept beside the spool, so a restart loses no session.
	tracker, err := queue.Open(cfg.QueueConfig(), cfg.Spool.Dir, cfg.Site, queueOut, log.With("component", "queue"), reg, time.Now)
	if err != nil {
		return err
	}
	defer tracker.Close()

	var levels []schema.Level
	for _, b := range cfg.Kiosk.Buttons {
		levels = append(levels, b.Level)
	}
	var reasonIDs []string
	for _, r := range cfg.Kiosk.Reasons {
		reasonIDs = append(reasonIDs, r.ID)
	}
	var rkiosks []ratings.Kiosk
	for _, k := range secrets.Kiosks {
		rkiosks = append(rkiosks, ratings.Kiosk{ID: k.ID, Counter: k.Counter})
	}
	rs := ratings.New(cfg.Ratings, rkiosks, levels, cfg.Kiosk.AskReasonsFor, reasonIDs, ob, tracker,
		log.With("component", "ratings"), reg, time.Now)
	// Before anything new is spooled: what the spool still holds is the
	// recent past a crash wiped from memory (points taken, presses answered).
	recovered, err := ob.Recover(sp, func(ev schema.Event) {
		if r, ok := ev.(*schema.Rating); ok {
			rs.Restore(r)
		}
	})
	if err != nil {
		return err
	}
	log.Info("spool read back", "events", recovered)
	refusals := httpin.NewRefusals("agent", reg, log.With("component", "http"))
	kopts := []kiosk.Option{kiosk.WithRefusals(refusals)}
	var cases *intake.Desk
	if cfg.Cases.Enabled {
		// Beside the spool (which reads only its segment files): the
		// cases wait there until the dashboard has them.
		cases, err = intake.Open(cfg.Cases, cfg.Site, filepath.Join(cfg.Spool.Dir, "intake"), timezone.Vietnam(),
			log.With("component", "cases"), reg, time.Now)
		if err != nil {
			return err
		}
		kopts = append(kopts, kiosk.WithFeedback(feedbackTaker{cases}))
	}
	kh, err := kiosk.NewHandler(cfg.Kiosk, secrets.Kiosks, acceptor{rs}, log.With("component", "kiosk"), reg, kopts...)
	if err != nil {
		return err
	}

	up, err := uplink.New(uplink.Config{Site: cfg.Site, Agent: cfg.Agent, Version: version, Window: cfg.UplinkWindow,
		StatusInterval: cfg.StatusInterval}, cfg.Uplink, sp, ob, log.With("component", "uplink"), reg, time.Now)
	if err != nil {
		return err
	}

	// The LAN's port serves only what the tablets and the queue system
	// use; metrics (staff presence per counter) and the calibration page
	// (the only picture) are on the admin listener.
	mux := http.NewServeMux()
	mux.Handle("/kiosk/", kh)
	mux.Handle("POST /queue", queueWebhook(tracker, secrets.WebhookToken, refusals, log))
	adminMux := http.NewServeMux()
	if cams != nil && cfg.Camera.Calibration.Enabled {
		adminMux.Handle("/calibration/", cams.Calibration(secrets.CalibrationPassword))
	}
	var local *localFeed
	if cfg.Local.Enabled {
		local, err = localClient(cfg, rs, tracker, log.With("component", "local"))
		if err != nil {
			return err
		}
	}

	// Ready: a press can be spooled and leaves the center. While the uplink
	// is down presses are still accepted, into the spool; /readyz says so.
	readiness := health.NewReadiness(health.DefaultTimeout)
	readiness.Add("spool", dirWritable(cfg.Spool.Dir))
	readiness.Add("uplink", health.Condition(up.Connected, "not connected to the central broker; presses wait in the spool"))
	if local != nil {
		readiness.Add("local_mqtt", health.Condition(local.Ready,
			"not connected to the center's broker, or not subscribed yet; hardware presses and queue steps wait there"))
	}
	health.Register(mux, readiness)
	admin, err := adminhttp.Listen(cfg.Admin, secrets.AdminToken, adminMux, reg, readiness, log)
	if err != nil {
		return err
	}
	defer admin.Close()
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}

	log.Info("starting", "version", version, "http", ln.Addr().String(), "tls", cfg.HTTP.TLS.Enabled(), "admin", admin.Addr(), "uplink", cfg.Uplink.Broker,
		"local", cfg.Local.Enabled, "kiosks", len(cfg.Kiosks), "cameras", len(cfg.Cameras))

	// A failing component (the uplink unable to read the spool, the HTTP
	// server) stops the whole agent with its error, so systemd restarts it
	// rather than leaving a process that accepts presses it cannot forward.
	runCtx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	upCtx, stopUplink := context.WithCancel(context.WithoutCancel(ctx))
	defer stopUplink()
	g := new(errgroup.Group)
	g.Go(func() error {
		if err := cfg.HTTP.TLS.Serve(srv, ln); !errors.Is(err, http.ErrServerClosed) {
			err = fmt.Errorf("http: %w", err)
			fail(err)
			return err
		}
		return nil
	})
	g.Go(func() error {
		err := admin.Serve()
		if err != nil {
			fail(err)
		}
		return err
	})
	g.Go(func() error {
		err := up.Run(upCtx)
		if err != nil {
			fail(err)
		}
		return err
	})
	if cams != nil {
		g.Go(func() error { return cams.Run(upCtx) })
	}
	if cases != nil {
		g.Go(func() error { cases.Run(upCtx); return nil })
	}
	if local != nil {
		local.client.Connect() // retries in the background
	}
	if ready != nil {
		ready <- listening{http: ln.Addr().String(), admin: admin.Addr()}
	}
	<-runCtx.Done()
	if cause := context.Cause(runCtx); cause != nil && ctx.Err() == nil {
		log.Error("stopping on a component failure", "err", cause)
	}
	// Stop taking presses and steps first; everything accepted is in the
	// spool, so the uplink can stop at once and resume after a restart.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	if aerr := admin.Shutdown(sctx); err == nil {
		err = aerr
	}
	if local != nil {
		local.client.Disconnect(250)
	}
	stopUplink()
	if gerr := g.Wait(); err == nil {
		err = gerr
	}
	log.Info("stopped", "err", err)
	return err
}

// dirWritable checks that dir takes a new file: a disk remounted read-only
// or a lost mount leaves the spool unable to accept a press. The probe file
// is not a segment (no .seg suffix), so a crash between its creation and
// its removal leaves nothing the spool would read.
func dirWritable(dir string) health.Check {
	return func(context.Context) error { return iconfig.DirWritable(dir) }
}

// acceptor adapts ratings.Service to the kiosk page's interface.
type acceptor struct{ rs *ratings.Service }

func (a acceptor) Press(ctx context.Context, p kiosk.Press) (kiosk.Accepted, error) {
	r, err := a.rs.Press(ctx, p.Kiosk, p.Level, p.PressID)
	switch {
	case errors.Is(err, spool.ErrFull):
		return kiosk.Accepted{}, fmt.Errorf("%w: %w", kiosk.ErrSpoolFull, err)
	case errors.Is(err, ratings.ErrPressConflict):
		return kiosk.Accepted{}, fmt.Errorf("%w: %w", kiosk.ErrPressConflict, err)
	case err != nil:
		return kiosk.Accepted{}, err
	}
	status := "accepted"
	if r.Ignored != "" {
		status = "ignored"
	}
	return kiosk.Accepted{RatingID: r.RatingID, Status: status, AskReasons: r.AskReasons}, nil
}

func (a acceptor) Reasons(ctx context.Context, kioskID, ratingID string, reasons []string) error {
	err := a.rs.Reasons(ctx, kioskID, ratingID, reasons)
	switch {
	case errors.Is(err, ratings.ErrUnknownRating):
		return fmt.Errorf("%w: %w", kiosk.ErrUnknownRating, err)
	case errors.Is(err, spool.ErrFull):
		return fmt.Errorf("%w: %w", kiosk.ErrSpoolFull, err)
	}
	return err
}

// queueWebhook takes queue steps over HTTP: the contract's queue JSON, one
// per request, answered 200 only once spooled.
func queueWebhook(tr *queue.Tracker, token string, refusals *httpin.Refusals, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refuse := func(status int, reason, msg string) {
			if status < 500 {
				refusals.Refuse(r, "queue", reason, status)
			}
			http.Error(w, reason+": "+msg, status)
		}
		if token == "" {
			refuse(http.StatusNotFound, "disabled", "queue webhook disabled (no queue.webhook_token configured)")
			return
		}
		if !httpin.HasBearer(r, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pscm-queue"`)
			refuse(http.StatusUnauthorized, "unauthorized", "unauthorized")
			return
		}
		body, err := httpin.ReadBody(w, r, schema.MaxPayload)
		if err != nil {
			// 413 too large (final), 408 stalled or cut (send it again).
			refuse(httpin.Status(err, schema.MaxPayload))
			return
		}
		if err := tr.Step(r.Context(), body); err != nil {
			var se *schema.Error
			switch {
			case errors.As(err, &se):
				refuse(http.StatusBadRequest, string(se.Reason), err.Error())
			case errors.Is(err, spool.ErrFull):
				log.Error("queue step refused: spool full", "err", err)
				http.Error(w, "spool full: step not recorded, retry later", http.StatusServiceUnavailable)
			default:
				log.Error("queue step", "err", err)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// feedbackTaker hands the kiosks' feedback to the intake.
type feedbackTaker struct{ d *intake.Desk }

func (f feedbackTaker) TakeFeedback(counter string, fb kiosk.Feedback) (kiosk.Receipt, error) {
	r, err := f.d.Take(ccases.Kind(fb.Kind), counter, fb.Message, fb.Phone)
	switch {
	case errors.Is(err, intake.ErrInvalid):
		return kiosk.Receipt{}, fmt.Errorf("%w: %w", kiosk.ErrFeedbackInvalid, err)
	case errors.Is(err, intake.ErrFull), errors.Is(err, spool.ErrFull):
		return kiosk.Receipt{}, fmt.Errorf("%w: %w", kiosk.ErrFeedbackFull, err)
	case err != nil:
		return kiosk.Receipt{}, err
	}
	return kiosk.Receipt{Number: r.Number, Code: r.Code, URL: r.URL}, nil
}

func (f feedbackTaker) Notice() (vi, en string) { return f.d.Notice() }
