package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pscm/pscm/dashboard/acklog"
	"github.com/pscm/pscm/dashboard/auth"
	"github.com/pscm/pscm/dashboard/board"
	"github.com/pscm/pscm/dashboard/casedesk"
	"github.com/pscm/pscm/dashboard/config"
	"github.com/pscm/pscm/dashboard/insights"
	"github.com/pscm/pscm/dashboard/officialdesk"
	"github.com/pscm/pscm/dashboard/reports"
	"github.com/pscm/pscm/dashboard/rollkeep"
	"github.com/pscm/pscm/dashboard/server"
	"github.com/pscm/pscm/internal/casestore"
	"github.com/pscm/pscm/internal/health"
	"github.com/pscm/pscm/internal/kpidb"
	"github.com/pscm/pscm/internal/report"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runReady(ctx, args, stdin, stdout, stderr, nil)
}

// listening are the addresses the dashboard serves on.
type listening struct {
	http  string // the pages, /api, /ws
	admin string // metrics, health
}

// runReady is run; if ready is not nil it receives the HTTP address once
// the dashboard serves and has loaded every site's figures (or logged why
// it could not).
func runReady(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, ready chan<- listening) error {
	fs := flag.NewFlagSet("pscm-dashboard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "/etc/pscm/dashboard.yml", "configuration file")
	check := fs.Bool("config.check", false, "validate the configuration and exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	hashPassword := fs.Bool("hash-password", false, "read a password from standard input, print its bcrypt hash for the users file, and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *hashPassword {
		// From stdin, never from an argument: arguments show in ps and shell history.
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		hash, err := auth.HashPassword(strings.TrimRight(line, "\r\n"))
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, hash)
		return nil
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *showVersion {
		fmt.Fprintln(stdout, "pscm-dashboard", version, runtime.Version())
		return nil
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		return err
	}
	// The check and the start run the same checks (Resolve): what they pass
	// starts, with what they read.
	res, err := cfg.Resolve()
	if err != nil {
		return err
	}
	if *check {
		fmt.Fprintf(stdout, "%s: configuration OK (%d users)\n", *configPath, len(res.Users))
		return nil
	}
	log, err := cfg.Log.New(stderr)
	if err != nil {
		return err
	}
	a, err := auth.New(cfg.Auth, res.Users, res.SessionKey, log.With("component", "auth"), time.Now)
	if err != nil {
		return err
	}
	if err := a.KeepRevocations(cfg.RevocationsFile()); err != nil {
		return err
	}
	defer a.Close()
	token, loc, hours := res.InfluxToken, res.Loc, res.Hours
	src := kpidb.NewSource(kpidb.Config{URL: cfg.InfluxDB.URL, Token: token, Bucket: cfg.InfluxDB.Bucket, Satisfied: cfg.Satisfied, Loc: loc, Hours: hours})
	defer src.Close()
	var rollups *kpidb.Rollups
	if cfg.InfluxDB.RollupBucket != "" {
		rollups = src.WithRollups(cfg.InfluxDB.URL, cfg.InfluxDB.RollupBucket, token)
		defer rollups.Close()
		if res.Roster != nil {
			src.KeepOfficials(res.Roster)
		}
	}
	b := board.New(cfg.Sites, src, loc, cfg.Targets, cfg.Satisfied, log.With("component", "board"), time.Now, board.WithReasons(cfg.Reasons), board.WithRoster(officialdesk.RosterAt(res.Roster, loc)))
	acks, err := acklog.Open(cfg.StateDir, 0)
	if err != nil {
		return err
	}
	// Who acknowledged what, read back: the alerts the first load raises
	// again from the data show it, as before the restart.
	if entries, err := acks.Read(); err != nil {
		log.Warn("acknowledgements on record not read back", "err", err)
	} else {
		for _, e := range entries {
			b.RememberAck(e.Site, e.Alert, board.Ack{By: e.By, Name: e.Name, At: e.At})
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	health.BuildInfo(reg, "dashboard", version)
	var keeper *rollkeep.Keeper
	if rollups != nil {
		ids := make([]string, len(cfg.Sites))
		for i, s := range cfg.Sites {
			ids[i] = s.ID
		}
		keeper = rollkeep.New(src, rollups, ids, log.With("component", "rollups"), time.Now, reg)
	}
	var desk *casedesk.Desk
	if rc := res.Cases; rc != nil {
		store, err := casestore.Open(ctx, rc.Dialect, rc.DSN)
		if err != nil {
			return err
		}
		defer store.Close()
		desk, err = casedesk.New(casedesk.Config{Sites: cfg.Sites, Rules: rc.Rules, Calendar: rc.Calendar, Now: time.Now,
			AccessLog: cfg.CaseAccessLog(), PublicPerMinute: cfg.Cases.PublicPerMinute, IntakeTokens: rc.IntakeTokens,
			RetentionMonths: cfg.Cases.RetentionMonths}, store, log.With("component", "cases"), reg)
		if err != nil {
			return err
		}
		defer desk.Close()
	}
	// Only a desk that exists: a nil one in the interface would be called.
	var caseSrc report.CaseSource
	if desk != nil {
		caseSrc = desk
	}
	reports, err := reports.New(reports.Config{Sites: cfg.Sites, Loc: loc, Targets: cfg.Targets, Satisfied: cfg.Satisfied, Cases: caseSrc},
		src, log.With("component", "report"), reg)
	if err != nil {
		return err
	}
	ins, err := insights.New(insights.Config{Sites: cfg.Sites, Loc: loc, Targets: cfg.Targets,
		// The same scope as every page: the user's sites (an admin's: all).
		Allowed: func(r *http.Request, site string) bool {
			u, ok := auth.UserFrom(r.Context())
			return ok && u.CanSee(site)
		}}, src, log.With("component", "insights"))
	if err != nil {
		return err
	}
	var offs *officialdesk.Desk
	if res.Roster != nil {
		ids := make([]string, len(cfg.Sites))
		for i, s := range cfg.Sites {
			ids[i] = s.ID
		}
		ocfg := officialdesk.Config{Sites: ids, Roster: res.Roster, Loc: loc, Satisfied: cfg.Satisfied,
			AccessLog: cfg.OfficialAccessLog(), NotesFile: cfg.OfficialNotesFile(), Now: time.Now,
			RetentionMonths: cfg.Officials.RetentionMonths}
		if desk != nil { // a nil desk in the interface would be called
			ocfg.Cases = desk
		}
		offs, err = officialdesk.New(ocfg, src, log.With("component", "officials"))
		if err != nil {
			return err
		}
		defer offs.Close()
	}
	srv, err := server.New(server.Config{
		Listen: cfg.HTTP.Listen, TLS: cfg.HTTP.TLS, Admin: cfg.Admin, AdminToken: res.AdminToken, MQTT: cfg.MQTT,
		InfluxDB: server.InfluxDB{URL: cfg.InfluxDB.URL, Token: token},
		Hours:    hours, PushInterval: cfg.PushInterval, ReloadInterval: cfg.ReloadInterval,
	}, server.Deps{Log: log, Registry: reg, Auth: a, Board: b, Reports: reports, Acks: acks, Insights: ins, Cases: desk, Officials: offs})
	if err != nil {
		return err
	}
	if keeper != nil {
		srv.OnEvent(keeper.Mark)
		go func() { _ = keeper.Run(ctx) }()
	}
	defer srv.Close()
	log.Info("starting", "version", version, "http", srv.Addr(), "admin", srv.AdminAddr(), "sites", len(cfg.Sites), "users", len(res.Users))

	// The server listens at once and loads the figures in the background;
	// ready (the tests') waits for the first load, as /readyz does.
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	if ready != nil {
		select {
		case <-srv.Loaded():
			ready <- listening{http: srv.Addr(), admin: srv.AdminAddr()}
		case err := <-done:
			log.Info("stopped", "err", err)
			return err
		}
	}
	err = <-done
	log.Info("stopped", "err", err)
	return err
}
