// Command pscm-dashboard shows center managers, live, how their centers
// stand against the plan's targets: figures from InfluxDB, live events from
// MQTT, pushed to browsers over websockets behind a login.
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
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pscm-dashboard:", err)
		os.Exit(1)
	}
}
