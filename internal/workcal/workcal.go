// Package workcal is the working-day calendar deadlines are counted in:
// Monday to Friday, less the public holidays (Tết, 30/4-1/5, 2/9 and the
// days the Prime Minister adds to them each year), plus the Saturdays
// worked in their place ("làm bù"). The holidays change every year and are
// announced a few months ahead, so they are data, kept in a yearly file
// the center's administrator updates (configs/calendar/vn.yml), never code.
//
// Days are local dates in the calendar's zone. A deadline of n working
// days from a moment is the end of the n-th working day after the day of
// that moment (the day itself does not count, as Vietnamese law counts
// "kể từ ngày"): received on Friday, 2 working days is the end of Tuesday.
package workcal

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/timezone"
)

// Day is one dated entry of the calendar file.
type Day struct {
	// Date is YYYY-MM-DD.
	Date string `yaml:"date"`
	// Name says why: "Tết Nguyên Đán", "Làm bù cho ngày 2/5".
	Name string `yaml:"name"`
}

// File is the calendar file's form.
type File struct {
	// TimeZone is an IANA name; Asia/Ho_Chi_Minh by default.
	TimeZone string `yaml:"time_zone"`
	// Years are the years the file covers: a deadline that reaches past
	// them is an error, never a guess.
	Years []int `yaml:"years"`
	// Holidays are weekdays off (a holiday on a weekend needs no entry,
	// but may have one).
	Holidays []Day `yaml:"holidays"`
	// Workdays are weekend days worked in place of a holiday.
	Workdays []Day `yaml:"workdays"`
}

// Calendar answers which days are working days.
type Calendar struct {
	loc      *time.Location
	years    map[int]bool
	first    int
	last     int
	holidays map[string]string
	workdays map[string]string
}

// ErrOutside is returned for a day in a year the calendar does not cover.
var ErrOutside = errors.New("workcal: outside the years the calendar covers")

// Load reads and checks a calendar file.
func Load(path string) (*Calendar, error) {
	var f File
	if err := config.Read(path, &f); err != nil {
		return nil, err
	}
	c, err := New(f)
	if err != nil {
		return nil, fmt.Errorf("workcal: %s: %w", path, err)
	}
	return c, nil
}

// New checks f and makes its calendar: every date real and in a listed
// year, no date twice, holidays on weekdays or named weekend days, worked
// days on weekends only.
func New(f File) (*Calendar, error) {
	tz := f.TimeZone
	if tz == "" {
		tz = timezone.Default
	}
	loc, err := timezone.Location(tz)
	if err != nil {
		return nil, fmt.Errorf("time_zone: %w", err)
	}
	if len(f.Years) == 0 {
		return nil, errors.New("years: none listed")
	}
	c := &Calendar{loc: loc, years: map[int]bool{}, holidays: map[string]string{}, workdays: map[string]string{}}
	for _, y := range f.Years {
		if y < 2000 || y > 2100 {
			return nil, fmt.Errorf("years: %d outside 2000..2100", y)
		}
		if c.years[y] {
			return nil, fmt.Errorf("years: %d listed twice", y)
		}
		c.years[y] = true
	}
	ys := make([]int, 0, len(c.years))
	for y := range c.years {
		ys = append(ys, y)
	}
	sort.Ints(ys)
	c.first, c.last = ys[0], ys[len(ys)-1]
	for y := c.first; y <= c.last; y++ {
		if !c.years[y] {
			return nil, fmt.Errorf("years: %d missing between %d and %d", y, c.first, c.last)
		}
	}
	seen := map[string]string{}
	add := func(list []Day, key string, into map[string]string, weekend bool) error {
		for i, d := range list {
			t, err := time.ParseInLocation(time.DateOnly, d.Date, loc)
			if err != nil {
				return fmt.Errorf("%s[%d]: date %q is not a real YYYY-MM-DD day", key, i, d.Date)
			}
			if !c.years[t.Year()] {
				return fmt.Errorf("%s[%d]: %s is in %d, not a listed year", key, i, d.Date, t.Year())
			}
			if d.Name == "" || len(d.Name) > 200 {
				return fmt.Errorf("%s[%d]: %s: a name of 1 to 200 bytes is required", key, i, d.Date)
			}
			if prev, dup := seen[d.Date]; dup {
				return fmt.Errorf("%s[%d]: %s is already listed (%s)", key, i, d.Date, prev)
			}
			wd := t.Weekday()
			isWeekend := wd == time.Saturday || wd == time.Sunday
			if weekend && !isWeekend {
				return fmt.Errorf("%s[%d]: %s is a %s: only a weekend day can be worked in place of a holiday", key, i, d.Date, wd)
			}
			seen[d.Date] = key + " " + d.Name
			into[d.Date] = d.Name
		}
		return nil
	}
	if err := add(f.Holidays, "holidays", c.holidays, false); err != nil {
		return nil, err
	}
	if err := add(f.Workdays, "workdays", c.workdays, true); err != nil {
		return nil, err
	}
	return c, nil
}

// Location is the calendar's zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Covers reports whether t's local day is in a year the calendar covers.
func (c *Calendar) Covers(t time.Time) bool { return c.years[t.In(c.loc).Year()] }

// IsWorkday reports whether t's local day is a working day, and why not.
func (c *Calendar) IsWorkday(t time.Time) (bool, string, error) {
	t = t.In(c.loc)
	if !c.years[t.Year()] {
		return false, "", fmt.Errorf("%w: %s (%d..%d)", ErrOutside, t.Format(time.DateOnly), c.first, c.last)
	}
	key := t.Format(time.DateOnly)
	if name, ok := c.holidays[key]; ok {
		return false, name, nil
	}
	if name, ok := c.workdays[key]; ok {
		return true, name, nil
	}
	switch t.Weekday() {
	case time.Saturday:
		return false, "Thứ Bảy / Saturday", nil
	case time.Sunday:
		return false, "Chủ nhật / Sunday", nil
	}
	return true, "", nil
}

// midnight is the start of t's local day.
func (c *Calendar) midnight(t time.Time) time.Time {
	y, m, d := t.In(c.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, c.loc)
}

// AddWorkdays is the deadline n working days after from: the end (the next
// midnight) of the n-th working day after from's day. n 0 is the end of
// from's day.
func (c *Calendar) AddWorkdays(from time.Time, n int) (time.Time, error) {
	if n < 0 || n > 3660 {
		return time.Time{}, fmt.Errorf("workcal: %d working days: want 0 to 3660", n)
	}
	day := c.midnight(from)
	for left := n; left > 0; {
		day = day.AddDate(0, 0, 1)
		ok, _, err := c.IsWorkday(day)
		if err != nil {
			return time.Time{}, err
		}
		if ok {
			left--
		}
	}
	return day.AddDate(0, 0, 1), nil
}

// Left says where now stands against a deadline (an AddWorkdays end):
// before it, days is the working days after today up to its last day (0:
// today is the last day); past it, overdue is true and days is the working
// days since its last day, today included.
func (c *Calendar) Left(now, deadline time.Time) (days int, overdue bool, err error) {
	today := c.midnight(now)
	last := c.midnight(deadline.Add(-time.Nanosecond))
	from, to := today, last
	overdue = !now.Before(deadline)
	if overdue {
		from, to = last, today
	}
	for day := from.AddDate(0, 0, 1); !day.After(to); day = day.AddDate(0, 0, 1) {
		ok, _, err := c.IsWorkday(day)
		if err != nil {
			return 0, overdue, err
		}
		if ok {
			days++
		}
	}
	return days, overdue, nil
}
