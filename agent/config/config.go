// Package config is the agent's configuration file: strict YAML with
// defaults, validated as a whole before anything starts.
package config

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/pscm/pscm/agent/camera/pipeline"
	"github.com/pscm/pscm/agent/intake"
	"github.com/pscm/pscm/agent/kiosk"
	"github.com/pscm/pscm/agent/queue"
	"github.com/pscm/pscm/agent/ratings"
	"github.com/pscm/pscm/agent/spool"
	"github.com/pscm/pscm/internal/adminhttp"
	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/logging"
	"github.com/pscm/pscm/internal/mqttconn"
	"github.com/pscm/pscm/internal/schema"
)

// Config is the whole agent configuration.
type Config struct {
	// Site is the center's ID, the {site} of every topic.
	Site string `yaml:"site"`
	// Agent names this agent; two agents at a site need different names.
	Agent string `yaml:"agent"`
	// Uplink is the central broker the events are forwarded to.
	Uplink mqttconn.Config `yaml:"uplink"`
	// UplinkWindow bounds events awaiting the central broker's PUBACK.
	UplinkWindow int `yaml:"uplink_window"`
	// Local is the center's broker, where hardware buttons and the queue
	// system publish. Leave broker empty when there is none.
	Local LocalBroker `yaml:"local"`
	// HTTP is what the center's LAN reaches: kiosk pages and the queue
	// webhook. Admin is the operator's: metrics, health, calibration.
	HTTP    HTTP             `yaml:"http"`
	Admin   adminhttp.Config `yaml:"admin"`
	Spool   spool.Config     `yaml:"spool"`
	Kiosk   kiosk.Config     `yaml:"kiosk"`
	Kiosks  []Kiosk          `yaml:"kiosks"`
	Ratings ratings.Config   `yaml:"anti_abuse"`
	Queue   Queue            `yaml:"queue"`
	// Cameras are the center's IP cameras, each with the zones drawn on
	// its picture; Camera holds what they share (detector, sessions,
	// working hours, the calibration page).
	Cameras []pipeline.Camera `yaml:"cameras"`
	Camera  pipeline.Settings `yaml:"camera"`
	// Cases lets citizens leave feedback at the kiosks, sent to the
	// dashboard that keeps the cases (off unless enabled).
	Cases intake.Config `yaml:"cases"`
	// StatusInterval is how often the retained agent status is refreshed.
	StatusInterval time.Duration  `yaml:"status_interval"`
	Log            logging.Config `yaml:"log"`
}

// LocalBroker is the center's own MQTT broker.
type LocalBroker struct {
	Enabled bool            `yaml:"enabled"`
	MQTT    mqttconn.Config `yaml:"mqtt"`
}

// HTTP serves the kiosk pages, the queue webhook, /healthz and /readyz to
// the center's LAN.
type HTTP struct {
	Listen string `yaml:"listen"`
	// TLS serves HTTPS (a server certificate from scripts/certs.sh; the
	// tablets and the queue system trust the deployment's ca.pem). It is
	// required unless Listen is loopback or PlainHTTP is set: kiosk tokens
	// and the webhook's travel in every request, and kiosk.js could be
	// rewritten on the way to a tablet.
	TLS config.ServerTLS `yaml:"tls"`
	// PlainHTTP serves plain HTTP on a LAN address: for a closed LAN where
	// nothing but the tablets and the queue system is connected, and the
	// operator accepts that anyone plugged into it reads the tokens.
	PlainHTTP bool `yaml:"plain_http"`
}

// Kiosk is one tablet at a counter.
type Kiosk struct {
	ID            string        `yaml:"id"`
	Counter       string        `yaml:"counter"`
	CounterNameVI string        `yaml:"counter_name_vi"`
	CounterNameEN string        `yaml:"counter_name_en"`
	OfficerName   string        `yaml:"officer_name"`
	OfficerPhoto  string        `yaml:"officer_photo"`
	Token         config.Secret `yaml:"token"`
}

// QueueConfig is the tracker's configuration with the counters the agent
// knows from its kiosks and cameras added to queue.counters.
func (c *Config) QueueConfig() queue.Config {
	q := c.Queue.Config
	q.Counters = slices.Clone(q.Counters)
	for _, k := range c.Kiosks {
		q.Counters = append(q.Counters, k.Counter)
	}
	for _, cam := range c.Cameras {
		for _, z := range cam.Zones {
			q.Counters = append(q.Counters, z.Counter)
		}
	}
	return q
}

// Queue is the queue-system input.
type Queue struct {
	queue.Config `yaml:",inline"`
	// WebhookToken authenticates POST /queue (Authorization: Bearer);
	// without it the webhook is off.
	WebhookToken config.Secret `yaml:"webhook_token"`
}

// Defaults returns a Config holding every default.
func Defaults() *Config {
	up := mqttconn.Defaults()
	local := mqttconn.Defaults()
	return &Config{
		Uplink:         up,
		UplinkWindow:   1000,
		Local:          LocalBroker{MQTT: local},
		HTTP:           HTTP{Listen: "0.0.0.0:8480"},
		Admin:          adminhttp.Config{Listen: "127.0.0.1:8481"},
		Spool:          spool.Defaults(),
		Kiosk:          kiosk.Defaults(),
		Ratings:        ratings.Defaults(),
		Queue:          Queue{Config: queue.Defaults()},
		Camera:         pipeline.Defaults(),
		Cases:          intake.Defaults(),
		StatusInterval: 30 * time.Second,
		Log:            logging.Defaults(),
	}
}

// Load reads a file over the defaults, derives the MQTT client IDs the file
// leaves out from the agent's name, and validates the result.
func Load(path string) (*Config, error) {
	c := Defaults()
	if err := config.Read(path, c); err != nil {
		return nil, err
	}
	c.deriveClientIDs()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return c, nil
}

// deriveClientIDs names the MQTT sessions the file leaves unnamed after the
// agent: pscm-agent-{agent} on the central broker, pscm-agent-{agent}-local
// on the center's. A stable ID is what makes a session persistent.
func (c *Config) deriveClientIDs() {
	if c.Uplink.ClientID == "" && c.Agent != "" {
		c.Uplink.ClientID = "pscm-agent-" + c.Agent
	}
	if c.Local.MQTT.ClientID == "" && c.Agent != "" {
		c.Local.MQTT.ClientID = "pscm-agent-" + c.Agent + "-local"
	}
}

// Validate checks the whole configuration, naming the key at fault. It
// changes nothing: defaults come from Defaults and Load.
func (c Config) Validate() error {
	if !schema.ValidID(c.Site) {
		return fmt.Errorf("site: %q must match %s", c.Site, schema.IDPattern)
	}
	if !schema.ValidID(c.Agent) {
		return fmt.Errorf("agent: %q must match %s", c.Agent, schema.IDPattern)
	}
	if err := c.Uplink.Validate(); err != nil {
		return fmt.Errorf("uplink.%w", err)
	}
	if c.UplinkWindow < 1 || c.UplinkWindow > 20000 {
		return fmt.Errorf("uplink_window: %d outside 1..20000", c.UplinkWindow)
	}
	if c.Local.Enabled {
		if err := c.Local.MQTT.Validate(); err != nil {
			return fmt.Errorf("local.mqtt.%w", err)
		}
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	if err := c.HTTP.TLS.Validate(); err != nil {
		return fmt.Errorf("http.tls: %w", err)
	}
	if err := c.Spool.Validate(); err != nil {
		return fmt.Errorf("spool.%w", err)
	}
	if err := c.Kiosk.Validate(); err != nil {
		return fmt.Errorf("kiosk.%w", err)
	}
	if err := c.Cases.Validate(); err != nil {
		return err
	}
	if len(c.Kiosks) > 500 {
		return errors.New("kiosks: more than 500")
	}
	seen := map[string]bool{}
	for i, k := range c.Kiosks {
		switch {
		case !schema.ValidID(k.ID):
			return fmt.Errorf("kiosks[%d].id: %q must match %s", i, k.ID, schema.IDPattern)
		case seen[k.ID]:
			return fmt.Errorf("kiosks[%d].id: %q listed twice", i, k.ID)
		case !schema.ValidID(k.Counter):
			return fmt.Errorf("kiosks[%d].counter: %q must match %s", i, k.Counter, schema.IDPattern)
		case k.CounterNameVI == "" || k.CounterNameEN == "":
			return fmt.Errorf("kiosks[%d]: counter_name_vi and counter_name_en are required (shown to citizens)", i)
		case !k.Token.IsSet():
			return fmt.Errorf("kiosks[%d].token: required (file, env or credential): a kiosk without a token would take presses from anyone", i)
		}
		if err := k.Token.Validate(); err != nil {
			return fmt.Errorf("kiosks[%d].token: %w", i, err)
		}
		seen[k.ID] = true
	}
	if err := c.Ratings.Validate(); err != nil {
		return fmt.Errorf("anti_abuse.%w", err)
	}
	if err := c.Queue.Config.Validate(); err != nil {
		return fmt.Errorf("queue.%w", err)
	}
	if err := c.Queue.WebhookToken.Validate(); err != nil {
		return fmt.Errorf("queue.webhook_token: %w", err)
	}
	if (c.Queue.WebhookToken.IsSet() || c.Local.Enabled) && !c.Queue.Open && len(c.Queue.Services) == 0 {
		return errors.New("queue.services: list the services the queue system names (steps for others are refused), or set queue.open: true to take any")
	}
	if err := pipeline.ValidateCameras(c.Cameras); err != nil {
		return fmt.Errorf("cameras%w", err)
	}
	if err := c.Camera.Validate(); err != nil {
		return fmt.Errorf("camera.%w", err)
	}
	if c.StatusInterval < time.Second || c.StatusInterval > time.Hour {
		return fmt.Errorf("status_interval: %v outside 1s..1h", c.StatusInterval)
	}
	if err := c.Log.Validate(); err != nil {
		return err
	}
	return c.validateListeners()
}

// validateListeners comes last: what is wrong in the file's content is
// said before how the agent is deployed.
func (c Config) validateListeners() error {
	switch {
	case c.HTTP.TLS.Enabled() && c.HTTP.PlainHTTP:
		return errors.New("http: tls and plain_http: true contradict each other")
	case !c.HTTP.TLS.Enabled() && !c.HTTP.PlainHTTP && !adminhttp.Loopback(c.HTTP.Listen):
		return fmt.Errorf("http.tls: required on %s (not loopback): kiosk and webhook tokens would cross the LAN in clear; "+
			"give a server certificate (scripts/certs.sh DIR server NAME HOST-OR-IP), or set http.plain_http: true for a closed LAN", c.HTTP.Listen)
	}
	if err := c.Admin.ValidateBeside(c.HTTP.Listen); err != nil {
		return fmt.Errorf("admin.%w", err)
	}
	return nil
}
