// Command pscm-sim publishes the events of a simulated public service
// center to an MQTT broker, for demos, for load tests of the collector and
// for checking end to end that nothing is lost: in center mode a realistic
// day paced by the clock, in load mode a fixed set of events (with optional
// redeliveries) as fast as asked. See run for the flags.
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
		fmt.Fprintln(os.Stderr, "pscm-sim:", err)
		os.Exit(1)
	}
}
