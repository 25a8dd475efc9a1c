// Command pscm-collector subscribes to a center's events on MQTT, validates
// them against the v1 contract, writes them to InfluxDB and acknowledges each
// message only once it is written. See README.md and docs/events.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pscm-collector:", err)
		os.Exit(1)
	}
}
