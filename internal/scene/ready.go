package scene

import "github.com/pscm/pscm/internal/schema"

// Layout of the counter in normalised coordinates: seat centres across the
// picture, and where a seated figure's head is.
const (
	staffSeatU   = 0.21
	citizenSeatU = 0.69
	waitingSeatU = 0.91
	seatTopV     = 0.30 // top of a seated figure
	personW      = 0.17 // figure size, fraction of the picture
	personH      = 0.52
	bagW         = 0.13 // a bulky bag: it fills much of the seat
	bagH         = 0.22
	bagTopV      = 0.49
	jacketW      = 0.15 // a jacket over a chair's back, down to the seat
	jacketH      = 0.27
	jacketTopV   = 0.345
	standW       = 0.17 // a standing figure, before Actor.Scale
	standH       = 0.62
)

// Zones are the counter's three zones in every ready scene: the
// official's chair, the citizen's chair, the waiting bench. Each covers the
// chair and the space a seated person's body takes above it.
func Zones() []Zone {
	return []Zone{
		{ID: ZoneStaff, Counter: Counter, Kind: schema.ZoneStaff, Polygon: [][2]float64{{0.11, 0.30}, {0.31, 0.30}, {0.32, 0.84}, {0.10, 0.84}}},
		{ID: ZoneCitizen, Counter: Counter, Kind: schema.ZoneCitizen, Polygon: [][2]float64{{0.59, 0.30}, {0.79, 0.30}, {0.80, 0.84}, {0.58, 0.84}}},
		{ID: ZoneWaiting, Counter: Counter, Kind: schema.ZoneWaiting, Polygon: [][2]float64{{0.83, 0.32}, {0.99, 0.32}, {0.99, 0.86}, {0.83, 0.86}}},
	}
}

// base is the accuracy clips' format: 640x360, 10 fps, a keyframe every
// second, sessions of at least 10 s ended by 15 s of vacancy.
func base(name string, duration float64) Scene {
	return Scene{
		Name: name, Codec: schema.CodecH264, W: 640, H: 360, FPS: 10, GOP: 10, Duration: duration,
		Zones: Zones(), SessionMinS: 10, SessionGapS: 15,
	}
}

func staff(name string, in, out float64) Actor {
	return Actor{Name: name, Kind: Person, Zone: ZoneStaff, In: in, Out: out, Side: Left, Look: 0}
}

func citizen(name string, in, out float64, look int) Actor {
	return Actor{Name: name, Kind: Person, Zone: ZoneCitizen, In: in, Out: out, Side: Right, Look: look}
}

func waiting(name string, in, out float64, look int) Actor {
	return Actor{Name: name, Kind: Person, Zone: ZoneWaiting, In: in, Out: out, Side: Right, Look: look}
}

// Day is six minutes of a counter: the official arrives, serves two
// citizens, takes a break (a citizen sits down meanwhile: no session),
// comes back and serves two more; people wait on the bench; a passer-by
// crosses between two citizens; the lights dim slowly late in the clip.
func Day() Scene {
	s := base("day", 360)
	s.Actors = []Actor{
		staff("official", 5, 150),
		staff("official-back", 200, 352),
		waiting("waiting-1", 12, 98, 6),
		citizen("citizen-1", 20, 80, 1),
		{Name: "passerby-1", Kind: Passerby, In: 86, Out: 91, Side: Left, Look: 7},
		citizen("citizen-2", 105, 140, 2),
		citizen("citizen-3", 160, 185, 3),
		waiting("waiting-2", 178, 300, 4),
		citizen("citizen-4", 215, 290, 5),
		citizen("citizen-5", 310, 345, 4),
	}
	s.Lights = []Light{{At: 250, Ramp: 60, Gain: 0.7}}
	return s
}

// PassersBy has the official seated while three people cross the citizen
// zone, each in the zone for 1-2 s, one of them pausing briefly; the
// citizen seat must never turn occupied.
func PassersBy() Scene {
	s := base("passersby", 90)
	s.Actors = []Actor{
		staff("official", 3, 80),
		{Name: "passerby-1", Kind: Passerby, In: 15, Out: 19, Side: Right, Look: 1},
		{Name: "passerby-2", Kind: Passerby, In: 35, Out: 40, Side: Left, Look: 5},
		{Name: "passerby-3", Kind: Passerby, In: 55, Out: 61, Side: Right, Look: 3},
	}
	return s
}

// Lighting has a citizen served while the lights go off (luma x0.55) and
// on again, then dim slowly to 60 %; keyframes every 2 s. No zone may
// flip.
func Lighting() Scene {
	s := base("lighting", 150)
	s.GOP = 20
	s.Actors = []Actor{
		staff("official", 3, 140),
		citizen("citizen-1", 40, 100, 2),
	}
	s.Lights = []Light{
		{At: 25, Gain: 0.55},
		{At: 60, Gain: 1},
		{At: 105, Ramp: 40, Gain: 0.6},
	}
	return s
}

// LeftObject has a citizen leave a bag on the seat at 40 s; it lies there
// to the end. A second citizen sits on the seat (and the bag) later.
func LeftObject() Scene {
	s := base("leftobject", 280)
	s.Actors = []Actor{
		{Name: "bag", Kind: Bag, Zone: ZoneCitizen, In: 14, Out: 0},
		staff("official", 3, 270),
		citizen("citizen-1", 10, 40, 1),
		citizen("citizen-2", 220, 262, 3),
	}
	return s
}

// Tampered has the lens covered from 30 s to 45 s and the camera knocked
// sideways from 70 s to the end, while the official sits.
func Tampered() Scene {
	s := base("tamper", 110)
	s.Actors = []Actor{staff("official", 3, 107)}
	s.Tampers = []Tamper{
		{Kind: Cover, Start: 30, End: 45},
		{Kind: Shift, Start: 70, End: 110, DX: 0.06, DY: 0.04},
	}
	return s
}

// Bench1080p is a 1920x1080 25 fps clip at 4 Mbit/s with a keyframe every
// 2 s, seconds long, with the day scene's people: the stream a benchmark
// decodes many copies of.
func Bench1080p(seconds float64) Scene {
	s := Day()
	s.Name = "bench1080p"
	s.W, s.H, s.FPS, s.GOP, s.KbitRate = 1920, 1080, 25, 50, 4000
	s.Duration = seconds
	var actors []Actor
	for _, a := range s.Actors {
		if a.In < seconds {
			a.Out = min(a.Out, seconds-Walk)
			if a.Out > a.In {
				actors = append(actors, a)
			}
		}
	}
	s.Actors, s.Lights = actors, nil
	return s
}

// Ready are the accuracy scenes.
func Ready() []Scene {
	return []Scene{Day(), PassersBy(), Lighting(), LeftObject(), Tampered()}
}

// Brief is 40 s of a counter for end-to-end tests through RTSP, which run
// in real time: the official sits from 2 s to 37 s and one citizen from 7 s
// to 25 s. Sessions need 5 s together and end after 5 s vacant, so it makes
// one session of 18 s that ends at about 30 s.
func Brief() Scene {
	s := base("brief", 40)
	s.SessionMinS, s.SessionGapS = 5, 5
	s.Actors = []Actor{
		staff("official", 2, 37),
		citizen("citizen", 7, 25, 2),
	}
	return s
}

// Staffed is five minutes of a counter whose official sits from 5 s to the
// end and whom nobody visits: the camera of the fault suite, looped, in a
// substream's format (5 fps, 512 kbit/s, a keyframe every second). The
// agent, started with the clip, learns the empty chair from its first
// frames; from then on the official is present all the time the camera can
// see, but for five seconds at each loop. No citizen, so no session.
func Staffed() Scene {
	s := situation("staffed", 300)
	s.KbitRate = 512
	s.Actors = []Actor{staff("official", 5, 300)}
	return s
}
