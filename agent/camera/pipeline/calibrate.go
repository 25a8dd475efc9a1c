package pipeline

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/pscm/pscm/agent/camera/occupancy"
)

// CalibrationUser is the Basic-auth user name of the calibration page; the
// password is calibration.password.
const CalibrationUser = "admin"

// Calibration returns the installer's page, or nil when it is disabled:
//
//	GET  /calibration/                     every camera, its zones and their figures
//	GET  /calibration/{camera}.png         the latest small frame with the zones drawn
//	POST /calibration/{camera}/reanchor    accept a re-aimed camera's view
//
// It is the only place a picture is ever shown. It answers only requests
// from a loopback address that no proxy forwarded (an installer on the box
// or through an SSH tunnel), with the admin password, and never lets a
// picture be cached.
func (w *Watch) Calibration(password string) http.Handler {
	if !w.set.Calibration.Enabled {
		return nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /calibration/{$}", w.calibrationPage)
	mux.HandleFunc("GET /calibration/{file}", w.calibrationPNG)
	mux.HandleFunc("POST /calibration/{camera}/reanchor", w.reanchor)
	return guard(password, mux)
}

// guard lets through only loopback, unproxied, authenticated requests.
func guard(password string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		ip := net.ParseIP(host)
		if err != nil || ip == nil || !ip.IsLoopback() ||
			r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" {
			http.Error(rw, "Trang hiệu chỉnh chỉ mở trên máy đặt agent (localhost) / calibration is localhost-only", http.StatusForbidden)
			return
		}
		user, pass, ok := r.BasicAuth()
		if !ok || password == "" ||
			subtle.ConstantTimeCompare([]byte(user), []byte(CalibrationUser)) != 1 ||
			subtle.ConstantTimeCompare([]byte(pass), []byte(password)) != 1 {
			rw.Header().Set("WWW-Authenticate", `Basic realm="pscm calibration", charset="UTF-8"`)
			http.Error(rw, "Cần đăng nhập quản trị / admin login required", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			// Browsers resend Basic credentials to any form that posts
			// here, so a state change must come from this page itself.
			if o := r.Header.Get("Origin"); o == "" || !strings.HasSuffix(o, "://"+r.Host) {
				http.Error(rw, "cross-origin request refused", http.StatusForbidden)
				return
			}
		}
		rw.Header().Set("Cache-Control", "no-store")
		rw.Header().Set("X-Content-Type-Options", "nosniff")
		rw.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'")
		rw.Header().Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(rw, r)
	})
}

func (w *Watch) camera(id string) *camera {
	for _, c := range w.cams {
		if c.cfg.ID == id {
			return c
		}
	}
	return nil
}

func (w *Watch) calibrationPNG(rw http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".png")
	c := w.camera(id)
	if !ok || c == nil {
		http.Error(rw, "no such camera", http.StatusNotFound)
		return
	}
	c.mu.Lock()
	f, states := c.latest, c.states
	f.Pix = append([]byte(nil), f.Pix...)
	c.mu.Unlock()
	if f.W == 0 {
		http.Error(rw, "Chưa có ảnh nào được giải mã / no frame decoded yet", http.StatusServiceUnavailable)
		return
	}
	var buf bytes.Buffer
	if err := occupancy.RenderPNG(&buf, f, c.cfg.Zones, states...); err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "image/png")
	rw.Write(buf.Bytes())
}

func (w *Watch) reanchor(rw http.ResponseWriter, r *http.Request) {
	c := w.camera(r.PathValue("camera"))
	if c == nil {
		http.Error(rw, "no such camera", http.StatusNotFound)
		return
	}
	// The detector belongs to the camera's goroutine, which re-anchors
	// before it judges the next keyframe.
	c.reanchor.Store(true)
	w.log.Info("camera view accepted by the installer; applied at the next keyframe", "camera", c.cfg.ID)
	http.Redirect(rw, r, "/calibration/", http.StatusSeeOther)
}

var calibrationTmpl = template.Must(template.New("cal").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Hiệu chỉnh camera / Camera calibration</title>
<style>body{font-family:sans-serif;margin:1em;background:#f4f4f4}section{background:#fff;padding:1em;margin:1em 0}
img{width:640px;image-rendering:pixelated;border:1px solid #888}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd}
.on{color:#0a0;font-weight:bold}.warn{color:#b00;font-weight:bold}</style></head><body>
<h1>Hiệu chỉnh camera <small>/ Camera calibration</small></h1>
<p>Ảnh nhỏ mới nhất của mỗi camera với các vùng đã cấu hình. Ảnh không rời khỏi máy này. /
The latest small frame of each camera with its configured zones. No picture leaves this machine.</p>
{{range .}}<section id="{{.ID}}"><h2>{{.ID}}</h2>
{{if .Tamper}}<p class="warn">Camera bị che hoặc dịch chuyển: {{.Tamper}} / view tampered with: {{.Tamper}}</p>
<form method="post" action="/calibration/{{.ID}}/reanchor"><button>Chấp nhận góc nhìn hiện tại / Accept the current view</button></form>{{end}}
{{if .At}}<p>Ảnh lúc / frame at {{.At}} · {{.W}}×{{.H}} · {{.Decoded}} ảnh đã giải mã / keyframes decoded</p>
<img src="/calibration/{{.ID}}.png" alt="{{.ID}}">{{else}}<p>Chưa có ảnh / no frame yet</p>{{end}}
<table><tr><th>Vùng / zone</th><th>Quầy / counter</th><th>Loại / kind</th><th>Trạng thái / state</th><th>Thay đổi / changed</th><th>Chuyển động / motion</th></tr>
{{range .Zones}}<tr><td>{{.ID}}</td><td>{{.Counter}}</td><td>{{.Kind}}</td><td>{{if .Occupied}}<span class="on">có người / occupied</span>{{else}}trống / vacant{{end}}</td><td>{{.Ratio}}</td><td>{{.Motion}}</td></tr>{{end}}
</table></section>{{end}}</body></html>`))

type calZone struct {
	ID, Counter, Kind string
	Occupied          bool
	Ratio, Motion     string
}

type calCamera struct {
	ID, Tamper, At string
	W, H           int
	Decoded        int64
	Zones          []calZone
}

func (w *Watch) calibrationPage(rw http.ResponseWriter, _ *http.Request) {
	var view []calCamera
	for _, c := range w.cams {
		c.mu.Lock()
		v := calCamera{ID: c.cfg.ID, Tamper: c.tamper, W: c.latest.W, H: c.latest.H, Decoded: c.decoded}
		if !c.at.IsZero() {
			v.At = c.at.Format(time.RFC3339)
		}
		for _, s := range c.states {
			v.Zones = append(v.Zones, calZone{ID: s.Zone.ID, Counter: s.Zone.Counter, Kind: string(s.Zone.Kind),
				Occupied: s.Occupied, Ratio: fmt.Sprintf("%.0f %%", 100*s.Ratio), Motion: fmt.Sprintf("%.0f %%", 100*s.Motion)})
		}
		c.mu.Unlock()
		view = append(view, v)
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := calibrationTmpl.Execute(rw, view); err != nil {
		w.log.Warn("calibration page", "err", err)
	}
}
