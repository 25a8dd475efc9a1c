// Package casestore keeps citizens' cases (internal/cases) in a real
// database: SQLite, embedded, by default (modernc.org/sqlite, pure Go: one
// file in the state directory), or PostgreSQL for a province that runs one
// (github.com/jackc/pgx through database/sql). Cases are mutable records
// with personal data and a history, which InfluxDB, an append-only store
// of points, is not made for.
//
// A case's history is append-only here too: each transition is a row
// keyed by (case, its sequence number), written in the same transaction
// as the case's new state, so two handlers acting at once cannot both
// write the same step (the second gets ErrConflict and reloads), and a
// process killed mid-transition leaves the case as it was before or after,
// never between. The schema is versioned and migrated at Open.
package casestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/pscm/pscm/internal/cases"
)

// Dialect is the database kind.
type Dialect string

// Dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Errors.
var (
	ErrNotFound = errors.New("casestore: no such case")
	// ErrConflict: the case changed since it was read (someone else's
	// step came first) or its number exists.
	ErrConflict = errors.New("casestore: the case changed meanwhile")
)

// Store is an open case database.
type Store struct {
	db      *sql.DB
	dialect Dialect
}

// Open opens (creating if needed) the database and migrates its schema:
// for SQLite a file path, for PostgreSQL a connection string
// ("postgres://user@host/db?sslmode=...").
func Open(ctx context.Context, dialect Dialect, dsn string) (*Store, error) {
	var (
		db  *sql.DB
		err error
	)
	switch dialect {
	case SQLite:
		// WAL and full sync: a committed step survives a kill -9 and a
		// power cut; busy_timeout waits for a writer rather than failing.
		// A 64 MiB page cache and reads through mmap: a site's list reads
		// thousands of scattered rows, and with the default 2 MiB cache
		// half its time went to pread (BENCHMARKS.md, the cases page).
		db, err = sql.Open("sqlite", "file:"+dsn+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(ON)"+
			"&_pragma=cache_size(-65536)&_pragma=mmap_size(268435456)")
		if err == nil {
			db.SetMaxOpenConns(1) // one writer; SQLite serialises anyway
		}
	case Postgres:
		db, err = sql.Open("pgx", dsn)
		if err == nil {
			db.SetMaxOpenConns(8)
		}
	default:
		return nil, fmt.Errorf("casestore: dialect %q: want sqlite or postgres", dialect)
	}
	if err != nil {
		return nil, fmt.Errorf("casestore: %w", err)
	}
	s := &Store{db: db, dialect: dialect}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// migrations are the schema's versions, in order; each runs once, in a
// transaction with its version's row. Times are Unix nanoseconds and
// booleans 0/1 in both databases, so the two schemas are one.
var migrations = []string{
	`CREATE TABLE cases (
		number TEXT PRIMARY KEY,
		code TEXT NOT NULL,
		site TEXT NOT NULL,
		kind TEXT NOT NULL,
		channel TEXT NOT NULL,
		received BIGINT NOT NULL,
		counter TEXT NOT NULL DEFAULT '',
		service TEXT NOT NULL DEFAULT '',
		official TEXT NOT NULL DEFAULT '',
		message TEXT NOT NULL,
		phone TEXT NOT NULL DEFAULT '',
		complex SMALLINT NOT NULL DEFAULT 0,
		state TEXT NOT NULL,
		acknowledge_by BIGINT NOT NULL DEFAULT 0,
		resolve_by BIGINT NOT NULL DEFAULT 0,
		steps INTEGER NOT NULL
	);
	CREATE INDEX cases_site_state ON cases (site, state, received);
	CREATE TABLE transitions (
		number TEXT NOT NULL REFERENCES cases (number),
		seq INTEGER NOT NULL,
		at BIGINT NOT NULL,
		by_name TEXT NOT NULL,
		from_state TEXT NOT NULL,
		to_state TEXT NOT NULL,
		assignee TEXT NOT NULL DEFAULT '',
		note TEXT NOT NULL DEFAULT '',
		extend_days INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (number, seq)
	);
	CREATE TABLE numbers (
		site TEXT NOT NULL,
		year INTEGER NOT NULL,
		last INTEGER NOT NULL,
		PRIMARY KEY (site, year)
	)`,
	// 2: each step keeps the deadline it left and whether it came late,
	// and whether its event was published yet (the outbox of the case
	// events: a step is committed first, published after, so a broker
	// that is away delays the event and never loses it). Steps kept before
	// have no record of their deadline nor lateness: they are marked
	// published, never sent with made-up facts.
	`ALTER TABLE transitions ADD COLUMN due BIGINT NOT NULL DEFAULT 0;
	ALTER TABLE transitions ADD COLUMN late SMALLINT NOT NULL DEFAULT 0;
	ALTER TABLE transitions ADD COLUMN published SMALLINT NOT NULL DEFAULT 0;
	UPDATE transitions SET published = 1;
	CREATE INDEX transitions_unpublished ON transitions (published, number, seq)`,
	// 3: the latest handled cases of a site are read walking this index
	// from the newest, stopping at the page's limit, instead of sorting a
	// site's whole history (200,000 handled cases: 1 s, BENCHMARKS.md).
	`CREATE INDEX cases_site_received ON cases (site, received)`,
	// 4: the current assignee kept on the case, so a list of open cases
	// needs no history (10,000 open cases: 290 ms with their histories).
	`ALTER TABLE cases ADD COLUMN assignee TEXT NOT NULL DEFAULT '';
	UPDATE cases SET assignee = COALESCE((SELECT t.assignee FROM transitions t WHERE t.number = cases.number AND t.assignee <> ''
		ORDER BY t.seq DESC LIMIT 1), '')`,
	// 5: when the case's personal data was erased at the end of its
	// retention (0: kept).
	`ALTER TABLE cases ADD COLUMN erased BIGINT NOT NULL DEFAULT 0`,
}

// SchemaVersion is the version Open migrates to.
func SchemaVersion() int { return len(migrations) }

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("casestore: migrate: %w", err)
	}
	var have int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("casestore: migrate: %w", err)
	}
	if have > len(migrations) {
		return fmt.Errorf("casestore: the database is at schema %d, newer than this program's %d: use a newer pscm", have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			for _, stmt := range strings.Split(migrations[v-1], ";") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`), v, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return fmt.Errorf("casestore: migration %d: %w", v, err)
		}
	}
	return nil
}

// q rewrites ? placeholders to PostgreSQL's $n.
func (s *Store) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Store) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// NextNumber hands out the next case number of site in year:
// <site>-<year>-<six digits>, never twice.
func (s *Store) NextNumber(ctx context.Context, site string, year int) (string, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO numbers (site, year, last) VALUES (?, ?, 0) ON CONFLICT (site, year) DO NOTHING`), site, year); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE numbers SET last = last + 1 WHERE site = ? AND year = ?`), site, year); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, s.q(`SELECT last FROM numbers WHERE site = ? AND year = ?`), site, year).Scan(&n)
	})
	if err != nil {
		return "", fmt.Errorf("casestore: next number: %w", err)
	}
	return fmt.Sprintf("%s-%d-%06d", site, year, n), nil
}

// Create stores a new case with its first transition; ErrConflict if its
// number exists.
func (s *Store) Create(ctx context.Context, c cases.Case) error {
	err := s.tx(ctx, func(tx *sql.Tx) error { return s.insertCase(ctx, tx, c) })
	return wrap("create "+c.Number, err)
}

// CreateMany stores new cases in one transaction: all or none (an import
// file, a benchmark's seed). ErrConflict if any number exists.
func (s *Store) CreateMany(ctx context.Context, cs []cases.Case) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, c := range cs {
			if err := s.insertCase(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap(fmt.Sprintf("create %d cases", len(cs)), err)
}

func (s *Store) insertCase(ctx context.Context, tx *sql.Tx, c cases.Case) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO cases (number, code, site, kind, channel, received, counter, service, official,
		message, phone, complex, state, acknowledge_by, resolve_by, steps, assignee) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		c.Number, c.Code, c.Site, string(c.Kind), string(c.Channel), nanos(c.Received), c.Counter, c.Service, c.Official,
		c.Message, c.Phone, b2i(c.Complex), string(c.State), nanos(c.AcknowledgeBy), nanos(c.ResolveBy), len(c.History), c.Assignee)
	if err != nil {
		return err
	}
	return s.insertSteps(ctx, tx, c.Number, 0, c.History)
}

func (s *Store) insertSteps(ctx context.Context, tx *sql.Tx, number string, from int, steps []cases.Transition) error {
	for i, t := range steps {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO transitions (number, seq, at, by_name, from_state, to_state, assignee, note, extend_days, due, late)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), number, from+i, nanos(t.At), t.By, string(t.From), string(t.To), t.Assignee, t.Note, t.ExtendDays,
			nanos(t.Due), b2i(t.Late))
		if err != nil {
			return err
		}
	}
	return nil
}

// Update stores c after the steps added to prev (the case as read): the
// new transitions and the new state in one transaction, only if the case
// is still at prev's step; ErrConflict otherwise.
func (s *Store) Update(ctx context.Context, prev, c cases.Case) error {
	if len(c.History) <= len(prev.History) || c.Number != prev.Number {
		return fmt.Errorf("casestore: update %s: no new step", c.Number)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE cases SET state = ?, acknowledge_by = ?, resolve_by = ?, steps = ?, assignee = ? WHERE number = ? AND steps = ?`),
			string(c.State), nanos(c.AcknowledgeBy), nanos(c.ResolveBy), len(c.History), c.Assignee, c.Number, len(prev.History))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return ErrConflict
		}
		return s.insertSteps(ctx, tx, c.Number, len(prev.History), c.History[len(prev.History):])
	})
	return wrap("update "+c.Number, err)
}

// Get reads one case with its history.
func (s *Store) Get(ctx context.Context, number string) (cases.Case, error) {
	cs, err := s.query(ctx, true, `WHERE number = ?`, number)
	if err != nil {
		return cases.Case{}, err
	}
	if len(cs) == 0 {
		return cases.Case{}, ErrNotFound
	}
	return cs[0], nil
}

// Filter selects cases to list.
type Filter struct {
	Site string // required
	// Open lists only cases not yet handled; Handled only those handled.
	Open, Handled bool
	// Limit bounds the list (at most 10,000; 500 when 0).
	Limit int
	// Summary leaves the histories out: what a list of open cases needs
	// is on the case (state, deadlines, assignee).
	Summary bool
}

// List reads site's cases, newest first (open ones in no order).
func (s *Store) List(ctx context.Context, f Filter) ([]cases.Case, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 500
	}
	limit = min(limit, 10000)
	where := `WHERE site = ?`
	args := []any{f.Site}
	switch {
	case f.Open && f.Handled:
		return nil, errors.New("casestore: list open or handled, not both")
	case f.Open:
		where += ` AND state IN ('received', 'acknowledged', 'assigned')`
	case f.Handled:
		where += ` AND state NOT IN ('received', 'acknowledged', 'assigned')`
	}
	order := ` ORDER BY received DESC, number DESC`
	if f.Open {
		// Open cases are few and read whole: sorted by the caller, so
		// the database takes them from (site, state) instead of walking
		// a site's whole history by date to skip the handled ones.
		order = ""
	}
	return s.query(ctx, !f.Summary, where+order+fmt.Sprintf(` LIMIT %d`, limit), args...)
}

// query reads the cases where says, with their histories if history.
func (s *Store) query(ctx context.Context, history bool, where string, args ...any) ([]cases.Case, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT number, code, site, kind, channel, received, counter, service, official, message, phone,
		complex, state, acknowledge_by, resolve_by, assignee, erased FROM cases `+where), args...)
	if err != nil {
		return nil, wrap("read", err)
	}
	var out []cases.Case
	index := map[string]int{}
	for rows.Next() {
		var c cases.Case
		var kind, channel, state string
		var received, ack, res, erased int64
		var complex int
		if err := rows.Scan(&c.Number, &c.Code, &c.Site, &kind, &channel, &received, &c.Counter, &c.Service, &c.Official,
			&c.Message, &c.Phone, &complex, &state, &ack, &res, &c.Assignee, &erased); err != nil {
			rows.Close()
			return nil, wrap("read", err)
		}
		c.Kind, c.Channel, c.State, c.Complex = cases.Kind(kind), cases.Channel(channel), cases.State(state), complex == 1
		c.Received, c.AcknowledgeBy, c.ResolveBy, c.Erased = fromNanos(received), fromNanos(ack), fromNanos(res), fromNanos(erased)
		index[c.Number] = len(out)
		out = append(out, c)
	}
	if err := rows.Close(); err != nil {
		return nil, wrap("read", err)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("read", err)
	}
	if len(out) == 0 || !history {
		return out, nil
	}
	// The histories, in one query for the cases read.
	nums := make([]any, 0, len(out))
	marks := make([]string, 0, len(out))
	for _, c := range out {
		nums = append(nums, c.Number)
		marks = append(marks, "?")
	}
	trows, err := s.db.QueryContext(ctx, s.q(`SELECT number, seq, at, by_name, from_state, to_state, assignee, note, extend_days, due, late
		FROM transitions WHERE number IN (`+strings.Join(marks, ",")+`) ORDER BY number, seq`), nums...)
	if err != nil {
		return nil, wrap("read history", err)
	}
	defer trows.Close()
	for trows.Next() {
		var number, from, to string
		var seq int
		var at, due int64
		var late int
		var t cases.Transition
		if err := trows.Scan(&number, &seq, &at, &t.By, &from, &to, &t.Assignee, &t.Note, &t.ExtendDays, &due, &late); err != nil {
			return nil, wrap("read history", err)
		}
		t.At, t.From, t.To, t.Due, t.Late = fromNanos(at), cases.State(from), cases.State(to), fromNanos(due), late == 1
		c := &out[index[number]]
		if seq != len(c.History) {
			return nil, fmt.Errorf("casestore: case %s: step %d where %d was due: the history is broken", number, seq, len(c.History))
		}
		c.History = append(c.History, t)
	}
	return out, wrap("read history", trows.Err())
}

// Erase empties the message and the phone number of every handled case
// whose last step is before before (the end of its retention), at now,
// and returns how many it erased. The case, its history and its counts
// stay; the answer given stays on the citizens' page.
func (s *Store) Erase(ctx context.Context, before, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE cases SET message = '', phone = '', erased = ?
		WHERE erased = 0 AND state NOT IN ('received', 'acknowledged', 'assigned')
		AND (SELECT MAX(t.at) FROM transitions t WHERE t.number = cases.number) < ?`), nanos(now), nanos(before))
	if err != nil {
		return 0, wrap("erase", err)
	}
	n, err := res.RowsAffected()
	return n, wrap("erase", err)
}

// Existing returns which of numbers are stored already.
func (s *Store) Existing(ctx context.Context, numbers []string) (map[string]bool, error) {
	out := map[string]bool{}
	for len(numbers) > 0 {
		batch := numbers[:min(len(numbers), 500)]
		numbers = numbers[len(batch):]
		args := make([]any, len(batch))
		marks := make([]string, len(batch))
		for i, n := range batch {
			args[i], marks[i] = n, "?"
		}
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT number FROM cases WHERE number IN (`+strings.Join(marks, ",")+`)`), args...)
		if err != nil {
			return nil, wrap("read numbers", err)
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return nil, wrap("read numbers", err)
			}
			out[n] = true
		}
		if err := rows.Close(); err != nil {
			return nil, wrap("read numbers", err)
		}
	}
	return out, nil
}

// Walk calls fn with every case of site received before before, with its
// history, one at a time in number order: a report's pass over a site's
// whole record, in one query and without holding it all in memory. fn's
// error stops the walk and is returned.
func (s *Store) Walk(ctx context.Context, site string, before time.Time, fn func(cases.Case) error) error {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT c.number, c.code, c.site, c.kind, c.channel, c.received, c.counter, c.service,
		c.official, c.complex, c.state, c.acknowledge_by, c.resolve_by, c.assignee,
		t.seq, t.at, t.by_name, t.from_state, t.to_state, t.assignee, t.note, t.extend_days, t.due, t.late
		FROM cases c JOIN transitions t ON t.number = c.number WHERE c.site = ? AND c.received < ? ORDER BY c.number, t.seq`), site, nanos(before))
	if err != nil {
		return wrap("walk "+site, err)
	}
	defer rows.Close()
	var cur cases.Case
	flush := func() error {
		if cur.Number == "" {
			return nil
		}
		err := fn(cur)
		cur = cases.Case{}
		return err
	}
	for rows.Next() {
		var c cases.Case
		var t cases.Transition
		var kind, channel, state, from, to string
		var received, ack, res, at, due int64
		var complex, seq, late int
		if err := rows.Scan(&c.Number, &c.Code, &c.Site, &kind, &channel, &received, &c.Counter, &c.Service, &c.Official, &complex, &state,
			&ack, &res, &c.Assignee, &seq, &at, &t.By, &from, &to, &t.Assignee, &t.Note, &t.ExtendDays, &due, &late); err != nil {
			return wrap("walk "+site, err)
		}
		if c.Number != cur.Number {
			if err := flush(); err != nil {
				return err
			}
			c.Kind, c.Channel, c.State, c.Complex = cases.Kind(kind), cases.Channel(channel), cases.State(state), complex == 1
			c.Received, c.AcknowledgeBy, c.ResolveBy = fromNanos(received), fromNanos(ack), fromNanos(res)
			cur = c
		}
		if seq != len(cur.History) {
			return fmt.Errorf("casestore: case %s: step %d where %d was due: the history is broken", cur.Number, seq, len(cur.History))
		}
		t.At, t.From, t.To, t.Due, t.Late = fromNanos(at), cases.State(from), cases.State(to), fromNanos(due), late == 1
		cur.History = append(cur.History, t)
	}
	if err := rows.Err(); err != nil {
		return wrap("walk "+site, err)
	}
	return flush()
}

// Unpublished is a step whose case event is not published yet: the case
// as it is now, and the step's place in its history.
type Unpublished struct {
	Case cases.Case
	Seq  int
}

// Unpublished returns up to limit steps not yet published, oldest case
// number first and in step order within a case, so a case's events go out
// in the order its steps were taken.
func (s *Store) Unpublished(ctx context.Context, limit int) ([]Unpublished, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT number, seq FROM transitions WHERE published = 0 ORDER BY number, seq LIMIT ?`), max(1, limit))
	if err != nil {
		return nil, wrap("read the unpublished steps", err)
	}
	type step struct {
		number string
		seq    int
	}
	var steps []step
	for rows.Next() {
		var st step
		if err := rows.Scan(&st.number, &st.seq); err != nil {
			rows.Close()
			return nil, wrap("read the unpublished steps", err)
		}
		steps = append(steps, st)
	}
	if err := rows.Close(); err != nil {
		return nil, wrap("read the unpublished steps", err)
	}
	out := make([]Unpublished, 0, len(steps))
	got := map[string]cases.Case{}
	for _, st := range steps {
		c, ok := got[st.number]
		if !ok {
			if c, err = s.Get(ctx, st.number); err != nil {
				return nil, err
			}
			got[st.number] = c
		}
		out = append(out, Unpublished{Case: c, Seq: st.seq})
	}
	return out, nil
}

// MarkPublished records that the event of step seq of case number was
// acknowledged by the broker.
func (s *Store) MarkPublished(ctx context.Context, number string, seq int) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE transitions SET published = 1 WHERE number = ? AND seq = ?`), number, seq)
	return wrap("mark "+number+" published", err)
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrConflict) {
		return fmt.Errorf("casestore: %s: %w", what, ErrConflict)
	}
	var se *sqlite.Error
	if errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
		return fmt.Errorf("casestore: %s: %w", what, ErrConflict)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
		return fmt.Errorf("casestore: %s: %w", what, ErrConflict)
	}
	return fmt.Errorf("casestore: %s: %w", what, err)
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Backup writes a consistent copy of an SQLite database to path (which
// must not exist), while it is in use: VACUUM INTO, one transaction. A
// restore is the copy put in the database file's place, the program
// stopped. PostgreSQL is backed up with its own tools (pg_dump -Fc, and
// pg_restore into an empty database; docs/cases.md).
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.dialect != SQLite {
		return errors.New("casestore: backup: PostgreSQL is backed up with pg_dump")
	}
	if _, err := s.db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("casestore: backup to %s: %w", path, err)
	}
	return nil
}
