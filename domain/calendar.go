package domain

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// The State Council's holidays and make-up working days (调休), one file per
// year, from the holiday-cn project (MIT; holidays/LICENSE).
//
//go:embed holidays/*.json
var holidayFiles embed.FS

// CalendarDay is a date that differs from the Monday–Friday rule, or that
// an admin set: a holiday (Working false) or a make-up working day.
type CalendarDay struct {
	Date    time.Time // midnight in the calendar's zone
	Working bool
	Name    string // 春节, 国庆节调休…
	// Source is "embedded" for the shipped data, or who set it.
	Source string
}

// Calendar knows which dates are working days in the shop's time zone:
// weekends, public holidays and 调休 make-up working days. A year with no
// data at all is unknown: answers for it say so instead of guessing from
// weekends alone.
type Calendar struct {
	loc   *time.Location
	days  map[string]CalendarDay // by YYYY-MM-DD
	known map[int]bool
}

const dateLayout = "2006-01-02"

// embeddedDay is a day of the shipped data.
type embeddedDay struct {
	date    string
	working bool
	name    string
}

type embeddedData struct {
	days  []embeddedDay
	known map[int]bool
}

var embedded = sync.OnceValues(func() (embeddedData, error) {
	var days []embeddedDay
	known := map[int]bool{}
	files, err := holidayFiles.ReadDir("holidays")
	if err != nil {
		return embeddedData{}, err
	}
	for _, f := range files {
		b, err := holidayFiles.ReadFile("holidays/" + f.Name())
		if err != nil {
			return embeddedData{}, err
		}
		var y struct {
			Year int `json:"year"`
			Days []struct {
				Name     string `json:"name"`
				Date     string `json:"date"`
				IsOffDay bool   `json:"isOffDay"`
			} `json:"days"`
		}
		if err := json.Unmarshal(b, &y); err != nil {
			return embeddedData{}, fmt.Errorf("calendar %s: %w", f.Name(), err)
		}
		for _, d := range y.Days {
			if _, err := time.Parse(dateLayout, d.Date); err != nil {
				return embeddedData{}, fmt.Errorf("calendar %s: %w", f.Name(), err)
			}
			days = append(days, embeddedDay{date: d.Date, working: !d.IsOffDay, name: d.Name})
		}
		if len(y.Days) > 0 {
			known[y.Year] = true
		}
	}
	return embeddedData{days, known}, nil
})

// NewCalendar returns the embedded calendar with overrides (the admins'
// corrections) applied on top. A year is known when the embedded data has
// it or an admin set a day in it.
func NewCalendar(loc *time.Location, overrides []CalendarDay) (*Calendar, error) {
	e, err := embedded()
	if err != nil {
		return nil, err
	}
	days, known := e.days, e.known
	c := &Calendar{loc: loc, days: make(map[string]CalendarDay, len(days)+len(overrides)), known: map[int]bool{}}
	for y := range known {
		c.known[y] = true
	}
	for _, d := range days {
		t, _ := time.ParseInLocation(dateLayout, d.date, loc)
		c.days[d.date] = CalendarDay{Date: t, Working: d.working, Name: d.name, Source: "embedded"}
	}
	for _, o := range overrides {
		o.Date = Midnight(o.Date, loc)
		c.days[o.Date.Format(dateLayout)] = o
		c.known[o.Date.Year()] = true
	}
	return c, nil
}

// Midnight returns the start of t's day in loc.
func Midnight(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// KnownYear reports whether the calendar has the State Council's days for
// year (or an admin's).
func (c *Calendar) KnownYear(year int) bool { return c.known[year] }

// Day says whether t's date is a working day, the holiday's or make-up
// day's name if it has one, and whether its year is known. For an unknown
// year the answer is the weekend rule, and known is false.
func (c *Calendar) Day(t time.Time) (working bool, name string, known bool) {
	t = t.In(c.loc)
	if d, ok := c.days[t.Format(dateLayout)]; ok {
		return d.Working, d.Name, true
	}
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday, "", c.known[t.Year()]
}

// IsWorkingDay is Day without the name.
func (c *Calendar) IsWorkingDay(t time.Time) (working, known bool) {
	w, _, k := c.Day(t)
	return w, k
}

// AddWorkingDays returns t moved n working days later (earlier for n < 0),
// keeping the time of day: from a Friday before a holiday, 1 working day
// is the first working day after it. known is false when a date on the way
// fell in an unknown year.
func (c *Calendar) AddWorkingDays(t time.Time, n int) (time.Time, bool) {
	t = t.In(c.loc)
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	known := true
	for n > 0 {
		t = t.AddDate(0, 0, step)
		w, k := c.IsWorkingDay(t)
		known = known && k
		if w {
			n--
		}
	}
	return t, known
}

// PrevWorkingDay returns t if its date is a working day, else the last
// working day before it, at the same time of day: a due date never falls
// on a holiday.
func (c *Calendar) PrevWorkingDay(t time.Time) (time.Time, bool) {
	t = t.In(c.loc)
	known := true
	for i := 0; i < 60; i++ {
		w, k := c.IsWorkingDay(t)
		known = known && k
		if w {
			return t, known
		}
		t = t.AddDate(0, 0, -1)
	}
	return t, false
}

// Month lists the days of t's month that differ from the weekend rule.
func (c *Calendar) Month(t time.Time) []CalendarDay {
	prefix := t.In(c.loc).Format("2006-01-")
	var out []CalendarDay
	for k, d := range c.days {
		if strings.HasPrefix(k, prefix) {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out
}

// ParseDate parses YYYY-MM-DD in loc.
func ParseDate(s string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation(dateLayout, strings.TrimSpace(FoldWidth(s)), loc)
	if err != nil {
		return time.Time{}, Invalidf("%q is not a date (write it as 2026-12-12)", s)
	}
	return t, nil
}
