// Package faultsuite holds the whole-system fault suite (`make
// test-faults`): the real collector, agent and dashboard programs, two
// Mosquitto brokers and InfluxDB, fed by the simulator at 10x speed and by
// kiosk, button and queue traffic through the agent, while one fault at a
// time strikes — a SIGKILL of each program, a broker restart, InfluxDB down
// for a minute, the uplink down for five, the spool's disk nearly full.
// After each fault InfluxDB must hold exactly what was generated and
// accepted (nothing lost, nothing counted twice) and the dashboard must
// show the same numbers as InfluxDB. It has tests only.
package faultsuite
