package report

import (
	"io"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

type reviewWriter func(io.Writer, *model.Review, Options) error

var reviewFormats = []format[reviewWriter]{
	{"md", []string{"markdown"}, writeReviewMarkdown},
	{"text", []string{"txt"}, writeReviewText},
	{"json", nil, writeReviewJSON},
}

// ReviewFormats lists the review formats.
func ReviewFormats() []string { return names(reviewFormats) }

// WriteReview renders a policy review.
func WriteReview(w io.Writer, format string, r *model.Review, opts Options) error {
	f, err := lookup("review", reviewFormats, format)
	if err != nil {
		return err
	}
	return f(w, r, opts)
}

// ReviewTitle is the sticky issue's title.
func ReviewTitle(r *model.Review) string {
	if !r.Due() {
		return "Policy review: nothing due"
	}
	var parts []string
	if n := len(r.Waivers); n > 0 {
		parts = append(parts, plural(n, "waiver", "waivers"))
	}
	if n := len(r.Stale); n > 0 {
		parts = append(parts, plural(n, "stale file", "stale files"))
	}
	if n := len(r.Failing); n > 0 {
		parts = append(parts, plural(n, "failing finding", "failing findings"))
	}
	drift := 0
	for _, d := range r.Drift {
		if d.Drifted || d.Error != "" {
			drift++
		}
	}
	if drift > 0 {
		parts = append(parts, plural(drift, "drifted cluster", "drifted clusters"))
	}
	return "Policy review due: " + strings.Join(parts, ", ")
}

func waiverLine(w model.ReviewWaiver) string {
	when := "expires " + w.Expires + " (in " + plural(w.Days, "day", "days") + ")"
	if w.Expired {
		when = "expired " + w.Expires + " (" + plural(-w.Days, "day", "days") + " ago)"
	}
	s := w.RuleID + " on " + w.Object + ": " + when
	if w.Owner != "" {
		s += ", owner " + w.Owner
	}
	if w.Reason != "" {
		s += ": " + w.Reason
	}
	return s
}

func staleLine(s model.StaleFile) string {
	what := strings.Join(s.Objects, ", ")
	if s.Kind == "expectations" {
		what = "expectations of " + strings.Join(s.Overlays, ", ")
	}
	return s.File + " (" + what + "): last changed " + s.LastChange.UTC().Format("2006-01-02") + " by " + s.Author + " in " + shortCommit(s.Commit)
}

// writeReviewMarkdown is the body of the sticky review issue.
func writeReviewMarkdown(w io.Writer, r *model.Review, opts Options) error {
	var b strings.Builder
	if opts.Marker != "" {
		b.WriteString(opts.Marker + "\n")
	}
	b.WriteString("## " + mdText(ReviewTitle(r)) + "\n\n")
	b.WriteString("Reviewed " + mdCode(refName(r.Ref)) + " on " + r.At.UTC().Format("2006-01-02") +
		". Review age " + mdCode(r.MaxAge) + ", waivers expiring within " + mdCode(r.ExpiringWithin) + ".\n\n")
	if !r.Due() {
		b.WriteString("Nothing is due.\n")
	}
	if len(r.Waivers) > 0 {
		b.WriteString("### Waivers expired or expiring\n\n")
		mdTable(&b, "", "Rule", "Object", "Expires", "Owner", "Reason", "Source")
		for _, wv := range r.Waivers {
			state := "⏳ in " + plural(wv.Days, "day", "days")
			if wv.Expired {
				state = "❌ expired"
			}
			mdRow(&b, state, mdCode(wv.RuleID), mdCode(wv.Object), wv.Expires, mdText(wv.Owner), mdText(wv.Reason), mdCode(wv.Source.String()))
		}
		b.WriteString("\n")
	}
	if len(r.Stale) > 0 {
		b.WriteString("### Not reviewed for longer than " + mdText(r.MaxAge) + "\n\n")
		mdTable(&b, "File", "What", "Last changed", "By", "Commit")
		for _, s := range r.Stale {
			what := strings.Join(s.Objects, ", ")
			if s.Kind == "expectations" {
				what = "expectations of " + strings.Join(s.Overlays, ", ")
			}
			mdRow(&b, mdCode(s.File), mdText(what), s.LastChange.UTC().Format("2006-01-02"), mdText(s.Author), mdCode(shortCommit(s.Commit)))
		}
		b.WriteString("\n")
	}
	if len(r.Failing) > 0 {
		b.WriteString("### Rules failing on " + mdCode(refName(r.Ref)) + "\n\n")
		mdTable(&b, "Overlay", "Rule", "Object", "Message", "Location")
		for _, f := range r.Failing {
			mdRow(&b, mdText(f.Overlay), mdCode(f.RuleID), mdCode(f.Object.String()), mdText(f.Message), mdCode(f.Location.String()))
		}
		b.WriteString("\n")
	}
	if len(r.Drift) > 0 {
		b.WriteString("### Live clusters\n\n")
		mdTable(&b, "Overlay", "Cluster", "Audit")
		for _, d := range r.Drift {
			s := d.Summary
			if d.Error != "" {
				s = "could not audit: " + d.Error
			}
			mdRow(&b, mdText(d.Overlay), mdText(d.Cluster), mdText(s))
		}
		b.WriteString("\nRun `reachgate audit OVERLAY --kubeconfig ...` for the details.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeReviewText(w io.Writer, r *model.Review, opts Options) error {
	ew := newErrWriter(w)
	ew.line(ReviewTitle(r), " (", refName(r.Ref), ", ", r.At.UTC().Format("2006-01-02"), ")")
	for _, wv := range r.Waivers {
		ew.line("waiver: ", waiverLine(wv))
	}
	for _, s := range r.Stale {
		ew.line("stale: ", staleLine(s))
	}
	for _, f := range r.Failing {
		ew.line("failing: ", f.Overlay, ": ", f.Finding.String())
	}
	for _, d := range r.Drift {
		s := d.Summary
		if d.Error != "" {
			s = "could not audit: " + d.Error
		}
		ew.line("live ", d.Overlay, " (", d.Cluster, "): ", s)
	}
	return ew.flush()
}

type reviewDoc struct {
	FormatVersion string `json:"formatVersion"`
	Kind          string `json:"kind"`
	Title         string `json:"title"`
	Due           bool   `json:"due"`
	*model.Review
}

func writeReviewJSON(w io.Writer, r *model.Review, opts Options) error {
	return writeJSON(w, reviewDoc{FormatVersion: FormatVersion, Kind: "ReachgateReview", Title: ReviewTitle(r), Due: r.Due(), Review: r})
}
