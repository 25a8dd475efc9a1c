package health

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports one camera's health as Prometheus metrics, read from its
// Meter at scrape time. Each camera registers its own Collector; the camera
// label is a constant label, so collectors of different cameras never
// collide and a duplicate camera ID fails at registration.
//
// The metric names are a contract: configs/prometheus alert rules use them.
type Collector struct {
	meter *Meter

	up, fps, kbps, gop, width, height, info       *prometheus.Desc
	reconnects, stalls, lastFrame, grade, dropped *prometheus.Desc
}

// NewCollector returns the collector of m's camera.
func NewCollector(m *Meter) *Collector {
	labels := prometheus.Labels{"camera": m.camera}
	d := func(name, help string, variable ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName("pscm", "agent", name), help, variable, labels)
	}
	return &Collector{
		meter:      m,
		up:         d("camera_up", "1 if the camera's stream is playing and video arrives, else 0."),
		fps:        d("camera_fps", "Frames per second received over the last health window."),
		kbps:       d("camera_bitrate_kbps", "Video bit rate received over the last health window, in kbit/s."),
		gop:        d("camera_keyframe_interval_seconds", "Mean interval between keyframes."),
		width:      d("camera_width_pixels", "Picture width from the stream's SPS."),
		height:     d("camera_height_pixels", "Picture height from the stream's SPS."),
		info:       d("camera_info", "Always 1; the codec label tells the stream's codec.", "codec"),
		reconnects: d("camera_reconnects_total", "Connection attempts after the first (each retry counts)."),
		stalls:     d("camera_stalls_total", "Sessions closed because no video arrived for the stall timeout."),
		lastFrame:  d("camera_last_frame_timestamp_seconds", "Unix time the last video packet arrived; 0 if none yet."),
		grade:      d("camera_grade", "Quality grade: 0 good, 1 degraded, 2 unusable (see agent/camera/health.Rate)."),
		dropped:    d("camera_keyframes_dropped_total", "Keyframes dropped because the occupancy consumer was too slow."),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.fps, c.kbps, c.gop, c.width, c.height, c.info,
		c.reconnects, c.stalls, c.lastFrame, c.grade, c.dropped} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.meter.Snapshot()
	gauge := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lv...)
	}
	counter := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	up := 0.0
	if s.Up {
		up = 1
	}
	gauge(c.up, up)
	gauge(c.fps, s.FPS)
	gauge(c.kbps, s.Kbps)
	gauge(c.gop, s.GopS)
	gauge(c.width, float64(s.Width))
	gauge(c.height, float64(s.Height))
	codec := s.Codec
	if codec == "" {
		codec = "unknown"
	}
	gauge(c.info, 1, codec)
	counter(c.reconnects, s.Reconnects)
	counter(c.stalls, s.Stalls)
	last := 0.0
	if !s.LastFrame.IsZero() {
		last = float64(s.LastFrame.UnixNano()) / 1e9
	}
	gauge(c.lastFrame, last)
	gauge(c.grade, float64(s.Grade))
	counter(c.dropped, s.KeyframesDropped)
}
