// Package logging makes the one log/slog logger each pscm program creates in
// its run function, from the `log:` section of its configuration.
package logging

import (
	"fmt"
	"io"
	"log/slog"
)

// Config is the `log:` section of every program's configuration.
type Config struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text (logfmt, for journald and humans) or json (for shippers).
	Format string `yaml:"format"`
}

// Defaults returns info-level text logs.
func Defaults() Config { return Config{Level: "info", Format: "text"} }

// Validate checks level and format.
func (c Config) Validate() error {
	_, err := c.New(io.Discard)
	return err
}

// New returns a logger writing to w.
func (c Config) New(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, fmt.Errorf("log.level: %q is not debug, info, warn or error", c.Level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.Format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log.format: %q is not text or json", c.Format)
}
