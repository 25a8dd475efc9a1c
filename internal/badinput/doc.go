// Package badinput is the bad-input catalogue: one table-driven suite over
// every entry point of pscm — MQTT events to the collector, raw presses and
// queue steps on a center's broker, the kiosk HTTP API, the queue webhook,
// the dossier CSV import, the configuration file of each program and a
// camera's RTSP stream — feeding each malformed, oversized, hostile and
// out-of-range input to the real programs (built with testenv.BuildProgram)
// running against a real Mosquitto and a real InfluxDB. The rule "bad input
// changes nothing" (docs/design.md) is what every case checks: the input gets a clear error (an HTTP status
// and reason, a non-zero exit naming the key or the line, a log line and a
// rejected_total{reason} metric) and changes nothing (no point in InfluxDB,
// no spool record). A valid sentinel sent after the bad input, on the same
// ordered path, proves the bad input was processed before "nothing changed"
// is believed.
//
// The RTSP decoder's own garbage tests (bad SDP, truncated RTP, random
// bytes, a wrong codec, a silent server) live beside it in
// agent/camera/ingest/garbage_test.go; here the whole agent meets a camera
// that answers garbage. The fuzzers of every decoder (internal/schema,
// ctl/dossiercsv, ...) keep their corpora in their own packages.
//
// Adding a case is one line in a table. It has tests only.
package badinput
