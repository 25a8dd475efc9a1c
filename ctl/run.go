package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"

	"github.com/pscm/pscm/ctl/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// errPartial marks an import that wrote its valid rows and skipped bad
// ones (-skip-invalid): the exit status is 2, so a script notices.
var errPartial = errors.New("some rows were skipped")

const usage = `usage: pscm-ctl <command> [flags]

commands:
  import-dossiers  import a CSV file of resolved dossiers (nhập danh sách hồ sơ)
  report           write the semi-annual report as XLSX and/or HTML (báo cáo 6 tháng)
  version          print the version

Run "pscm-ctl <command> -h" for a command's flags.
`

// run is the whole program; tests call it in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	switch args[0] {
	case "import-dossiers":
		return runImport(ctx, args[1:], stdout, stderr)
	case "report":
		return runReport(ctx, args[1:], stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "pscm-ctl", version, runtime.Version())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// common are the flags every command has.
type common struct {
	configPath *string
	check      *bool
}

func commonFlags(fs *flag.FlagSet) common {
	return common{
		configPath: fs.String("config", "/etc/pscm/ctl.yml", "configuration file"),
		check:      fs.Bool("config.check", false, "validate the configuration and exit"),
	}
}

// load reads the configuration and makes the logger; done is true after
// -config.check, when the command has nothing more to do.
func (c common) load(stdout, stderr io.Writer) (cfg *config.Config, log *slog.Logger, done bool, err error) {
	cfg, err = config.Load(*c.configPath)
	if err != nil {
		return nil, nil, false, err
	}
	// The check and every command run the same Check.
	if err := cfg.Check(); err != nil {
		return nil, nil, false, err
	}
	if *c.check {
		fmt.Fprintf(stdout, "%s: configuration OK\n", *c.configPath)
		return cfg, nil, true, nil
	}
	log, err = cfg.Log.New(stderr)
	return cfg, log, false, err
}
