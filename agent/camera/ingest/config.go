package ingest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/schema"
)

// Transports.
const (
	TransportTCP = "tcp"
	TransportUDP = "udp"
)

// Config is one camera of the agent's `cameras:` list.
type Config struct {
	// ID names the camera in events and metrics (schema.IDPattern).
	ID string `yaml:"id"`
	// URL is the camera's rtsp:// stream URL without credentials: a
	// password written in it would end up in tickets and chats with the
	// file, so it is refused; use Username and Password.
	URL      string        `yaml:"url"`
	Username string        `yaml:"username"`
	Password config.Secret `yaml:"password"`
	// Transport is tcp (RTP interleaved in the RTSP connection). udp is
	// refused: vdk's rtspv2 client only speaks TCP interleaved, and TCP is
	// what passes NAT and firewalls between a camera VLAN and the agent.
	Transport string `yaml:"transport"`
	// StallTimeout: no video packet for this long closes the session and
	// counts a stall.
	StallTimeout time.Duration `yaml:"stall_timeout"`
	// DialTimeout bounds connecting and the whole handshake up to PLAY.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// BackoffMin and BackoffMax bound the wait between connection
	// attempts: it doubles from min to max and goes back to min after a
	// session that played for HealthyPeriod.
	BackoffMin time.Duration `yaml:"backoff_min"`
	BackoffMax time.Duration `yaml:"backoff_max"`
	// NominalFPS is the frame rate the camera is set to, for the health
	// grade; 0 takes the rate the stream declares, or else learns it.
	NominalFPS float64 `yaml:"nominal_fps"`
	// Queue is how many keyframes wait for a slow consumer before the
	// oldest is dropped: occupancy wants the newest picture, not a backlog.
	Queue int `yaml:"queue"`
	// Auth is "" or digest: the password is sent only as an HTTP Digest
	// answer, never in clear; a camera (or a rogue responder in its place)
	// asking for Basic is refused. basic allows Basic, only for a camera
	// on loopback (vdk speaks no RTSPS), e.g. a local re-streamer.
	Auth string `yaml:"auth"`
}

// Auth values.
const (
	AuthDigest = "digest"
	AuthBasic  = "basic"
)

// loopback reports whether the camera's host is a loopback address.
func (c Config) loopback() bool {
	u, err := url.Parse(c.URL)
	if err != nil {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// HealthyPeriod is how long a session must play before the backoff goes
// back to its minimum, so a camera that drops every few seconds still backs
// off instead of hammering itself.
const HealthyPeriod = 30 * time.Second

// Limits of Config.
const (
	minStall   = 2 * time.Second
	maxStall   = 5 * time.Minute
	minDial    = time.Second
	maxDial    = 2 * time.Minute
	minBackoff = 100 * time.Millisecond
	maxBackoff = time.Hour
	maxFPS     = 240
	maxQueue   = 64
)

// Defaults returns the settings of issue 5: TCP, 10 s stall timeout,
// backoff from 1 s doubling to 60 s.
func Defaults() Config {
	return Config{
		Transport:    TransportTCP,
		StallTimeout: 10 * time.Second,
		DialTimeout:  10 * time.Second,
		BackoffMin:   time.Second,
		BackoffMax:   time.Minute,
		Queue:        2,
	}
}

// UnmarshalYAML starts each list entry from Defaults, so a camera that sets
// only id and url gets the rest.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	type plain Config
	p := plain(Defaults())
	if err := unmarshal(&p); err != nil {
		return err
	}
	*c = Config(p)
	return nil
}

// Validate reports the first rule c breaks, naming the field.
func (c Config) Validate() error {
	if !schema.ValidID(c.ID) {
		return fmt.Errorf("id: %q does not match %s", c.ID, schema.IDPattern)
	}
	if err := c.validateURL(); err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if err := c.Password.Validate(); err != nil {
		return fmt.Errorf("password: %w", err)
	}
	if c.Password.IsSet() && c.Username == "" {
		return errors.New("password: set, but username is empty")
	}
	if strings.ContainsAny(c.Username, ":@/\r\n") {
		return errors.New("username: must not contain ':', '@', '/' or a line break")
	}
	switch c.Auth {
	case "", AuthDigest:
	case AuthBasic:
		if !c.loopback() {
			return errors.New("auth: basic sends the password in clear; allowed only for a camera on loopback (127.0.0.1, ::1)")
		}
	default:
		return fmt.Errorf("auth: %q is not digest or basic", c.Auth)
	}
	switch c.Transport {
	case TransportTCP:
	case TransportUDP:
		return errors.New("transport: udp is not supported (vdk rtspv2 only receives RTP interleaved over TCP); use tcp")
	default:
		return fmt.Errorf("transport: %q is not tcp", c.Transport)
	}
	if c.StallTimeout < minStall || c.StallTimeout > maxStall {
		return fmt.Errorf("stall_timeout: %v is outside %v..%v", c.StallTimeout, minStall, maxStall)
	}
	if c.DialTimeout < minDial || c.DialTimeout > maxDial {
		return fmt.Errorf("dial_timeout: %v is outside %v..%v", c.DialTimeout, minDial, maxDial)
	}
	if c.BackoffMin < minBackoff || c.BackoffMin > maxBackoff {
		return fmt.Errorf("backoff_min: %v is outside %v..%v", c.BackoffMin, minBackoff, maxBackoff)
	}
	if c.BackoffMax < c.BackoffMin || c.BackoffMax > maxBackoff {
		return fmt.Errorf("backoff_max: %v is outside backoff_min (%v)..%v", c.BackoffMax, c.BackoffMin, maxBackoff)
	}
	if c.NominalFPS < 0 || c.NominalFPS > maxFPS || c.NominalFPS != c.NominalFPS {
		return fmt.Errorf("nominal_fps: %v is outside 0..%d", c.NominalFPS, maxFPS)
	}
	if c.Queue < 1 || c.Queue > maxQueue {
		return fmt.Errorf("queue: %d is outside 1..%d", c.Queue, maxQueue)
	}
	return nil
}

func (c Config) validateURL() error {
	if c.URL == "" {
		return errors.New("required")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		// url.Parse quotes the whole URL in its error; never echo it.
		return fmt.Errorf("%s is not a valid URL", Redact(c.URL))
	}
	if u.Scheme != "rtsp" {
		return fmt.Errorf("%s: scheme %q is not rtsp (rtsps is not supported by the vdk client)", Redact(c.URL), u.Scheme)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%s: no host", Redact(c.URL))
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			return fmt.Errorf("%s: contains a password; put it in password: {file: ...} or {env: ...}", Redact(c.URL))
		}
		if c.Username != "" {
			return fmt.Errorf("%s: has a user name and username is set too; keep one", Redact(c.URL))
		}
	}
	if u.Fragment != "" {
		return fmt.Errorf("%s: has a #fragment", Redact(c.URL))
	}
	return nil
}

// username is the configured user, from the username field or the URL.
func (c Config) username() string {
	if c.Username != "" {
		return c.Username
	}
	if u, err := url.Parse(c.URL); err == nil && u.User != nil {
		return u.User.Username()
	}
	return ""
}
