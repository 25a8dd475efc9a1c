// Command pscm-agent runs at a public service center: it serves the rating
// kiosks, takes hardware button presses and queue-system steps, spools every
// accepted event durably on disk and forwards it to the central MQTT broker.
// No video frame ever leaves it. See README.md and docs/events.md.
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
		fmt.Fprintln(os.Stderr, "pscm-agent:", err)
		os.Exit(1)
	}
}
