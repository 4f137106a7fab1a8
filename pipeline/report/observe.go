package report

import (
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reachgate/reachgate/pipeline/model"
)

type observeWriter func(io.Writer, []*model.ObserveReport) error

var observeFormats = []format[observeWriter]{
	{"txt", []string{"text"}, writeObserveText},
	{"json", nil, writeObserveJSON},
	{"md", []string{"markdown"}, writeObserveMarkdown},
	{"csv", nil, writeObserveCSV},
}

// ObserveFormats lists the formats of observe's report.
func ObserveFormats() []string { return names(observeFormats) }

// HasObserveFormat reports whether observe can write format (or an alias).
func HasObserveFormat(format string) bool {
	_, err := lookup("observe", observeFormats, format)
	return err == nil
}

// WriteObserve renders observe's reports, one per overlay.
func WriteObserve(w io.Writer, format string, rs []*model.ObserveReport) error {
	f, err := lookup("observe", observeFormats, format)
	if err != nil {
		return err
	}
	return f(w, rs)
}

// flowText is "src -> dst TCP 5432".
func flowText(f *model.ObservedFlow) string {
	return f.SrcLabel + " -> " + f.DstLabel + " " + f.Protocol.String() + " " + strconv.Itoa(int(f.Port))
}

// seenText is "seen 1,245 times, 10:00:00-11:02:13 UTC" (or on one day).
func seenText(n int64, first, last time.Time) string {
	s := "seen " + plural(int(n), "time", "times")
	if w := windowText(model.Window{First: first, Last: last}); w != "" {
		if first.Equal(last) {
			s += " at " + stamp(first)
		} else {
			s += " between " + w
		}
	}
	return s
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// windowText is "2026-11-30 10:00:00Z and 2026-11-30 11:00:00Z".
func windowText(w model.Window) string {
	if w.First.IsZero() && w.Last.IsZero() {
		return ""
	}
	return stamp(w.First) + " and " + stamp(w.Last)
}

func durationText(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	return d.Round(time.Second).String()
}

func sumFlows(fs []model.ObservedFlow) int64 {
	var n int64
	for _, f := range fs {
		n += f.Count
	}
	return n
}

func skippedText(ts []model.Tally) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.What + ": " + count(int(t.Count))
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}
