package casestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/cases"
	"github.com/pscm/pscm/internal/testenv"
	"github.com/pscm/pscm/internal/workcal"
)

var ict = time.FixedZone("ICT", 7*3600)

func calendar(t testing.TB) *workcal.Calendar {
	t.Helper()
	c, err := workcal.Load(filepath.Join(testenv.RepoRoot(t), "configs", "calendar", "vn.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// stores are the two databases every test runs on: an SQLite file and a
// real PostgreSQL.
func stores(t *testing.T) map[Dialect]func(t *testing.T) (*Store, string) {
	return map[Dialect]func(t *testing.T) (*Store, string){
		SQLite: func(t *testing.T) (*Store, string) {
			path := filepath.Join(t.TempDir(), "cases.db")
			return open(t, SQLite, path), path
		},
		Postgres: func(t *testing.T) (*Store, string) {
			pg := testenv.StartPostgres(t)
			return open(t, Postgres, pg.DSN()), pg.DSN()
		},
	}
}

func open(t testing.TB, d Dialect, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), d, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newCase makes case n of anlao received at the given day.
func newCase(t testing.TB, s *Store, cal *workcal.Calendar, kind cases.Kind, received time.Time) cases.Case {
	t.Helper()
	ctx := context.Background()
	num, err := s.NextNumber(ctx, "anlao", received.Year())
	if err != nil {
		t.Fatal(err)
	}
	c, err := cases.New(cases.Intake{Number: num, Code: "K7P2QX", Site: "anlao", Kind: kind, Channel: cases.ChannelKiosk,
		Received: received, Counter: "c03", Message: "Chờ quá lâu ở quầy 3 — “cán bộ” không hướng dẫn.", Phone: "0912345678", By: "kiosk"},
		cases.DefaultRules(), cal)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func step(t testing.TB, s *Store, cal *workcal.Calendar, c cases.Case, st cases.Step) cases.Case {
	t.Helper()
	next, err := cases.Apply(c, st, cases.DefaultRules(), cal)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(context.Background(), c, next); err != nil {
		t.Fatal(err)
	}
	return next
}

func TestStore(t *testing.T) {
	cal := calendar(t)
	for d, mk := range stores(t) {
		t.Run(string(d), func(t *testing.T) {
			s, dsn := mk(t)
			ctx := context.Background()
			a := newCase(t, s, cal, cases.KindReflection, time.Date(2025, 4, 29, 10, 0, 0, 0, ict))
			b := newCase(t, s, cal, cases.KindComplaint, time.Date(2025, 5, 5, 9, 0, 0, 0, ict))
			if a.Number != "anlao-2025-000001" || b.Number != "anlao-2025-000002" {
				t.Fatalf("numbers %s %s", a.Number, b.Number)
			}
			a = step(t, s, cal, a, cases.Step{To: cases.StateAcknowledged, At: time.Date(2025, 5, 5, 9, 0, 0, 0, ict), By: "lan"})
			a = step(t, s, cal, a, cases.Step{To: cases.StateAssigned, At: time.Date(2025, 5, 5, 10, 0, 0, 0, ict), By: "lan", Assignee: "Văn phòng"})
			got, err := s.Get(ctx, a.Number)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, a) {
				t.Fatalf("read back\n%+v\nstored\n%+v", got, a)
			}
			// Two handlers act on the same read: the second is refused
			// and the case holds the first's step only.
			first, _ := cases.Apply(a, cases.Step{To: cases.StateAnswered, At: time.Date(2025, 5, 6, 9, 0, 0, 0, ict), By: "minh", Note: "Trả lời A"}, cases.DefaultRules(), cal)
			second, _ := cases.Apply(a, cases.Step{To: cases.StateTransferred, At: time.Date(2025, 5, 6, 9, 5, 0, 0, ict), By: "hoa", Note: "Sở Nội vụ"}, cases.DefaultRules(), cal)
			if err := s.Update(ctx, a, first); err != nil {
				t.Fatal(err)
			}
			if err := s.Update(ctx, a, second); !errors.Is(err, ErrConflict) {
				t.Fatalf("the second handler's step: %v, want ErrConflict", err)
			}
			if got, _ := s.Get(ctx, a.Number); got.State != cases.StateAnswered || len(got.History) != 4 {
				t.Fatalf("after the conflict: %s, %d steps", got.State, len(got.History))
			}
			if err := s.Create(ctx, b); !errors.Is(err, ErrConflict) {
				t.Fatalf("the same number twice: %v", err)
			}
			if _, err := s.Get(ctx, "anlao-2025-999999"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("unknown number: %v", err)
			}
			openCases, err := s.List(ctx, Filter{Site: "anlao", Open: true})
			if err != nil || len(openCases) != 1 || openCases[0].Number != b.Number {
				t.Fatalf("open cases %+v %v", openCases, err)
			}
			all, err := s.List(ctx, Filter{Site: "anlao"})
			if err != nil || len(all) != 2 || all[0].Number != b.Number {
				t.Fatalf("all cases %d %v", len(all), err)
			}
			// Reopening migrates nothing again.
			s2 := open(t, d, dsn)
			if got, err := s2.Get(ctx, b.Number); err != nil || !reflect.DeepEqual(got, b) {
				t.Fatalf("after reopening: %+v %v", got, err)
			}
		})
	}
}

// Every step waits in the outbox until marked published, a case's steps in
// their order; a database made by the first schema is migrated, its steps
// (with no deadline kept) marked published rather than sent.
func TestOutbox(t *testing.T) {
	cal := calendar(t)
	for d, mk := range stores(t) {
		t.Run(string(d), func(t *testing.T) {
			s, _ := mk(t)
			ctx := context.Background()
			a := newCase(t, s, cal, cases.KindComplaint, time.Date(2025, 8, 25, 9, 0, 0, 0, ict))
			b := newCase(t, s, cal, cases.KindReflection, time.Date(2025, 8, 26, 9, 0, 0, 0, ict))
			a = step(t, s, cal, a, cases.Step{To: cases.StateAcknowledged, At: time.Date(2025, 9, 11, 9, 0, 0, 0, ict), By: "lan"})
			pend, err := s.Unpublished(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range pend {
				got = append(got, fmt.Sprintf("%s/%d", p.Case.Number, p.Seq))
			}
			want := []string{a.Number + "/0", a.Number + "/1", b.Number + "/0"}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("unpublished %v, want %v", got, want)
			}
			// What the step kept: accepted a day after its last day.
			if h := pend[1].Case.History[1]; !h.Late || !h.Due.Equal(a.ResolveBy) || a.ResolveBy.IsZero() {
				t.Fatalf("the acceptance read back: %+v", h)
			}
			if err := s.MarkPublished(ctx, a.Number, 0); err != nil {
				t.Fatal(err)
			}
			if pend, _ = s.Unpublished(ctx, 1); len(pend) != 1 || pend[0].Case.Number != a.Number || pend[0].Seq != 1 {
				t.Fatalf("after publishing the first step: %+v", pend)
			}
		})
	}
	t.Run("from schema 1", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "cases.db")
		old := migrations
		migrations = migrations[:1]
		s := open(t, SQLite, path)
		migrations = old
		// A case as the first schema kept it.
		for _, q := range []string{
			`INSERT INTO cases (number, code, site, kind, channel, received, message, state, steps) VALUES ('anlao-2025-000001', 'K7P2QX', 'anlao', 'phan_anh', 'kiosk', 1, 'x', 'received', 1)`,
			`INSERT INTO transitions (number, seq, at, by_name, from_state, to_state) VALUES ('anlao-2025-000001', 0, 1, 'kiosk', '', 'received')`,
		} {
			if _, err := s.db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		s = open(t, SQLite, path)
		if pend, err := s.Unpublished(context.Background(), 10); err != nil || len(pend) != 0 {
			t.Fatalf("steps of schema 1 after the migration: %+v %v, want none to publish", pend, err)
		}
	})
}

// A database newer than the program is refused, not written to.
func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cases.db")
	s := open(t, SQLite, path)
	if _, err := s.db.Exec(`INSERT INTO schema_migrations (version, applied) VALUES (99, 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(context.Background(), SQLite, path); err == nil {
		t.Fatal("a newer schema was opened")
	}
}

// A backup restored into a fresh instance gives the same cases: SQLite's
// VACUUM INTO, PostgreSQL's pg_dump and pg_restore.
func TestBackupRestore(t *testing.T) {
	cal := calendar(t)
	ctx := context.Background()
	fill := func(t *testing.T, s *Store) []cases.Case {
		var out []cases.Case
		for i := range 20 {
			c := newCase(t, s, cal, cases.Kinds()[i%5], time.Date(2025, 6, 2+i%20, 9, 0, 0, 0, ict))
			if i%3 == 0 {
				c = step(t, s, cal, c, cases.Step{To: cases.StateAssigned, At: c.Received.Add(time.Hour), By: "lan", Assignee: "Tổ một cửa"})
			}
			out = append(out, c)
		}
		return out
	}
	same := func(t *testing.T, s *Store, want []cases.Case) {
		t.Helper()
		for _, w := range want {
			got, err := s.Get(ctx, w.Number)
			if err != nil || !reflect.DeepEqual(got, w) {
				t.Fatalf("restored %s: %+v %v, want %+v", w.Number, got, err, w)
			}
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		s := open(t, SQLite, filepath.Join(t.TempDir(), "cases.db"))
		want := fill(t, s)
		backup := filepath.Join(t.TempDir(), "backup.db")
		if err := s.Backup(ctx, backup); err != nil {
			t.Fatal(err)
		}
		same(t, open(t, SQLite, backup), want)
	})
	t.Run("postgres", func(t *testing.T) {
		pg := testenv.StartPostgres(t)
		s := open(t, Postgres, pg.DSN())
		want := fill(t, s)
		dump := filepath.Join(pg.Dir(), "cases.dump")
		run := func(name string, args ...string) {
			t.Helper()
			c := exec.Command(filepath.Join(pg.Bin(), name), args...)
			c.SysProcAttr = &syscall.SysProcAttr{Credential: pg.Credential()}
			if out, err := c.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, out)
			}
		}
		port := strconv.Itoa(pg.Port())
		run("pg_dump", "-h", "127.0.0.1", "-p", port, "-U", "pscm", "-Fc", "-f", dump, "pscm")
		fresh := testenv.StartPostgres(t)
		fport := strconv.Itoa(fresh.Port())
		c := exec.Command(filepath.Join(fresh.Bin(), "pg_restore"), "-h", "127.0.0.1", "-p", fport, "-U", "pscm", "-d", "pscm", "--no-owner", dump)
		c.SysProcAttr = &syscall.SysProcAttr{Credential: fresh.Credential()}
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("pg_restore: %v\n%s", err, out)
		}
		same(t, open(t, Postgres, fresh.DSN()), want)
	})
}

// killEnv makes the test binary a writer that steps cases until killed.
const killEnv = "PSCM_CASESTORE_WRITER"

// TestKillMidTransition kills, with SIGKILL at a moment of the OS's
// choosing, the process writing transitions to SQLite, and the PostgreSQL
// server under one writing to it:
// every case reads back whole, its state its last step's, and every step
// the writer reported done is there.
func TestKillMidTransition(t *testing.T) {
	if spec := os.Getenv(killEnv); spec != "" {
		writer(spec)
		return
	}
	for _, d := range []Dialect{SQLite, Postgres} {
		t.Run(string(d), func(t *testing.T) {
			var pg *testenv.Postgres
			dsn := filepath.Join(t.TempDir(), "cases.db")
			if d == Postgres {
				pg = testenv.StartPostgres(t)
				dsn = pg.DSN()
			}
			open(t, d, dsn).Close()
			done := filepath.Join(t.TempDir(), "done")
			cmd := exec.Command(os.Args[0], "-test.run", "^TestKillMidTransition$")
			cmd.Env = append(os.Environ(), killEnv+"="+string(d)+"|"+dsn+"|"+done+"|"+testenv.RepoRoot(t))
			out, err := os.Create(filepath.Join(t.TempDir(), "writer.log"))
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Let it write a while, then kill it mid-stride.
			testenv.Eventually(t, 60*time.Second, 20*time.Millisecond, func() bool {
				b, _ := os.ReadFile(done)
				return len(b) > 4000
			}, "the writer wrote too little")
			if pg != nil {
				// The database server dies under the writer, mid-stride;
				// the writer fails on its next step.
				pg.Kill(t)
				_ = cmd.Wait()
				pg.Start(t)
			} else {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
			s := open(t, d, dsn)
			all, err := s.List(context.Background(), Filter{Site: "anlao", Limit: 10000})
			if err != nil {
				t.Fatal(err) // a broken history fails here
			}
			for _, c := range all {
				if last := c.History[len(c.History)-1]; last.To != c.State {
					t.Fatalf("%s: state %s, last step to %s", c.Number, c.State, last.To)
				}
			}
			// Every step reported done is stored.
			b, _ := os.ReadFile(done)
			var reported int
			for _, line := range splitLines(string(b)) {
				var num string
				var steps int
				if _, err := fmt.Sscanf(line, "%s %d", &num, &steps); err != nil {
					continue // the line being written when killed
				}
				reported++
				c, err := s.Get(context.Background(), num)
				if err != nil || len(c.History) < steps {
					t.Fatalf("%s: reported %d steps, stored %d (%v)", num, steps, len(c.History), err)
				}
			}
			t.Logf("%s: %d cases, %d steps reported done before the kill, all stored", d, len(all), reported)
		})
	}
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		if i < len(s) {
			out = append(out, s[:i])
			s = s[i+1:]
			continue
		}
		break // no newline: not finished
	}
	return out
}

// writer opens the store and, forever, opens a case and takes it through
// its life, appending "<number> <steps>\n" to the done file after each
// committed step.
func writer(spec string) {
	var parts [4]string
	for i, j := 0, 0; i < 4; i++ {
		k := j
		for k < len(spec) && spec[k] != '|' {
			k++
		}
		parts[i], j = spec[j:k], k+1
	}
	d, dsn, donePath, root := Dialect(parts[0]), parts[1], parts[2], parts[3]
	cal, err := workcal.Load(filepath.Join(root, "configs", "calendar", "vn.yml"))
	if err != nil {
		panic(err)
	}
	s, err := Open(context.Background(), d, dsn)
	if err != nil {
		panic(err)
	}
	done, err := os.OpenFile(donePath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for i := 0; ; i++ {
		received := time.Date(2025, 6, 2, 8, 0, 0, 0, ict).Add(time.Duration(i) * time.Minute)
		num, err := s.NextNumber(ctx, "anlao", 2025)
		if err != nil {
			panic(err)
		}
		c, err := cases.New(cases.Intake{Number: num, Code: "ABCDEF", Site: "anlao", Kind: cases.KindFeedback, Channel: cases.ChannelKiosk,
			Received: received, Message: "Góp ý số " + strconv.Itoa(i), By: "kiosk"}, cases.DefaultRules(), cal)
		if err != nil {
			panic(err)
		}
		if err := s.Create(ctx, c); err != nil {
			panic(err)
		}
		fmt.Fprintf(done, "%s %d\n", c.Number, len(c.History))
		for j, st := range []cases.Step{
			{To: cases.StateAcknowledged, By: "lan"},
			{To: cases.StateAssigned, By: "lan", Assignee: "Tổ một cửa"},
			{To: cases.StateAnswered, By: "minh", Note: "Cảm ơn ông/bà đã góp ý."},
			{To: cases.StateClosed, By: "lan"},
		} {
			st.At = received.Add(time.Duration(j+1) * time.Second)
			next, err := cases.Apply(c, st, cases.DefaultRules(), cal)
			if err != nil {
				panic(err)
			}
			if err := s.Update(ctx, c, next); err != nil {
				panic(err)
			}
			c = next
			fmt.Fprintf(done, "%s %d\n", c.Number, len(c.History))
		}
	}
}

// Walk reads a site's cases received before a time, each with its whole
// history and without its personal data, in number order.
func TestWalk(t *testing.T) {
	cal := calendar(t)
	for d, mk := range stores(t) {
		t.Run(string(d), func(t *testing.T) {
			s, _ := mk(t)
			ctx := context.Background()
			a := newCase(t, s, cal, cases.KindReflection, time.Date(2025, 4, 29, 10, 0, 0, 0, ict))
			a = step(t, s, cal, a, cases.Step{To: cases.StateAssigned, At: time.Date(2025, 5, 5, 10, 0, 0, 0, ict), By: "lan", Assignee: "VP"})
			b := newCase(t, s, cal, cases.KindComplaint, time.Date(2025, 5, 5, 9, 0, 0, 0, ict))
			newCase(t, s, cal, cases.KindFeedback, time.Date(2025, 6, 5, 9, 0, 0, 0, ict)) // after the bound
			var got []cases.Case
			if err := s.Walk(ctx, "anlao", time.Date(2025, 6, 1, 0, 0, 0, 0, ict), func(c cases.Case) error { got = append(got, c); return nil }); err != nil {
				t.Fatal(err)
			}
			for _, w := range []*cases.Case{&a, &b} {
				w.Message, w.Phone = "", ""
			}
			if !reflect.DeepEqual(got, []cases.Case{a, b}) {
				t.Fatalf("walked\n%+v\nwant\n%+v", got, []cases.Case{a, b})
			}
			stop := errors.New("stop")
			if err := s.Walk(ctx, "anlao", time.Date(2026, 1, 1, 0, 0, 0, 0, ict), func(cases.Case) error { return stop }); !errors.Is(err, stop) {
				t.Fatalf("a stopped walk: %v", err)
			}
		})
	}
}
