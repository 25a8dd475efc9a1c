package pipeline

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pscm/pscm/agent/camera/occupancy"
	"github.com/pscm/pscm/internal/logging"
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
	return guard(password, mux, &slowDown{}, w.log)
}

// forwardingHeaders are the headers a reverse proxy adds to say whom it
// forwards for. The page is for the box itself, so any of them means a
// proxy in front, which is refused: behind one every client is loopback.
var forwardingHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP",
	"X-Client-IP", "True-Client-IP", "CF-Connecting-IP", "Fastly-Client-IP", "X-Cluster-Client-IP", "Via"}

// guard lets through only loopback, unproxied, authenticated requests. A
// wrong password is answered later each time (slowDown) and logged, at
// most once per 10 s with how many there were.
func guard(password string, next http.Handler, slow *slowDown, log *slog.Logger) http.Handler {
	limit := logging.NewLimiter(10 * time.Second)
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		ip := net.ParseIP(host)
		proxied := false
		for _, h := range forwardingHeaders {
			if r.Header.Get(h) != "" {
				proxied = true
			}
		}
		if err != nil || ip == nil || !ip.IsLoopback() || proxied {
			http.Error(rw, "Trang hiệu chỉnh chỉ mở trên máy đặt agent (localhost) / calibration is localhost-only", http.StatusForbidden)
			return
		}
		user, pass, ok := r.BasicAuth()
		if !ok || password == "" ||
			subtle.ConstantTimeCompare([]byte(user), []byte(CalibrationUser)) != 1 ||
			subtle.ConstantTimeCompare([]byte(pass), []byte(password)) != 1 {
			if ok { // a password was tried, not just the browser asking first
				wait, n := slow.failed(time.Now())
				if logOK, held := limit.Allow("wrong", time.Now()); logOK {
					log.Warn("calibration page: wrong password", "failures_in_a_row", n, "answer_delay", wait, "not_logged_since", held)
				}
				select {
				case <-time.After(wait):
				case <-r.Context().Done():
					return
				}
			}
			rw.Header().Set("WWW-Authenticate", `Basic realm="pscm calibration", charset="UTF-8"`)
			http.Error(rw, "Cần đăng nhập quản trị / admin login required", http.StatusUnauthorized)
			return
		}
		slow.succeeded()
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

// slowDown answers wrong passwords later and later: the first three at
// once, then 100 ms doubling up to 5 s while they keep coming, so guessing
// takes hours instead of seconds. A right password resets it. One for the
// page: it is reached from the box itself only, so there is one client.
type slowDown struct {
	mu    sync.Mutex
	fails int
	last  time.Time
}

// failed records a wrong password at now and returns how long to wait
// before answering it, and the failures in a row.
func (s *slowDown) failed(now time.Time) (time.Duration, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.last) > 10*time.Minute {
		s.fails = 0 // an installer's typo an hour ago is forgotten
	}
	s.fails++
	s.last = now
	if s.fails <= 3 {
		return 0, s.fails
	}
	d := 100 * time.Millisecond << min(s.fails-4, 6)
	return min(d, 5*time.Second), s.fails
}

func (s *slowDown) succeeded() {
	s.mu.Lock()
	s.fails = 0
	s.mu.Unlock()
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
{{range .Zones}}<tr><td>{{.ID}}</td><td>{{.Counter}}</td><td>{{.Kind}}</td><td>{{if .Unsure}}chưa rõ / unsure{{else if .Occupied}}<span class="on">có người / occupied</span>{{else}}trống / vacant{{end}}</td><td>{{.Ratio}}</td><td>{{.Motion}}</td></tr>{{end}}
</table></section>{{end}}</body></html>`))

type calZone struct {
	ID, Counter, Kind string
	Occupied, Unsure  bool
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
				Occupied: s.Occupied, Unsure: s.Unsure, Ratio: fmt.Sprintf("%.0f %%", 100*s.Ratio), Motion: fmt.Sprintf("%.0f %%", 100*s.Motion)})
		}
		c.mu.Unlock()
		view = append(view, v)
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := calibrationTmpl.Execute(rw, view); err != nil {
		w.log.Warn("calibration page", "err", err)
	}
}
