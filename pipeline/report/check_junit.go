package report

import (
	"encoding/xml"
	"io"
	"slices"
	"strings"

	"github.com/reachgate/reachgate/pipeline/model"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  *junitText      `xml:"system-out,omitempty"`
}

// junitText is element text kept readable as CDATA.
type junitText struct {
	Text string `xml:",cdata"`
}

func junitOut(s string) *junitText {
	if s == "" {
		return nil
	}
	return &junitText{s}
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// writeCheckJUnit writes JUnit XML: one test suite per overlay and one
// test case per rule that judged the report, and per other rule id any
// overlay reported (expectations as expect/allow and expect/deny, invalid
// input, waivers), so every rule shows as passing where it found nothing:
// the evidence of what was checked. A case fails when the overlay has an
// unwaived finding of the rule at or above the fail-on severity; findings
// below it and waived ones go to the case's system-out. An overlay that
// could not be evaluated has a single errored case: its rules never ran.
func writeCheckJUnit(w io.Writer, r *model.Report, opts Options) error {
	type ruleInfo struct{ title string }
	rules := map[string]ruleInfo{}
	for _, ru := range r.Rules {
		rules[ru.ID] = ruleInfo{ru.Title}
	}
	for i := range r.Overlays {
		for _, f := range r.Overlays[i].Findings {
			if ri, ok := rules[f.RuleID]; !ok || ri.title == "" {
				rules[f.RuleID] = ruleInfo{f.Title}
			}
		}
	}
	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, id)
	}
	slices.Sort(ids)

	out := junitSuites{Name: "reachgate"}
	for i := range r.Overlays {
		o := &r.Overlays[i]
		s := junitSuite{Name: overlayTitle(o)}
		for _, p := range []junitProperty{
			{"overlay", o.Name}, {"environment", o.Environment}, {"path", o.Path},
			{"base", r.Base.Commit}, {"head", r.Head.Commit}, {"failOn", r.FailOn.String()},
			{"reachgate.version", opts.Version},
		} {
			if p.Value != "" {
				s.Properties = append(s.Properties, p)
			}
		}
		class := "reachgate." + o.Name
		if o.Error != "" {
			s.Cases = append(s.Cases, junitCase{
				Name: "evaluate overlay", Classname: class,
				Error: &junitProblem{Message: firstLine(o.Error), Type: "error", Text: o.Error},
			})
			s.Errors++
			// Its rules never ran: no case passes or fails.
			s.Tests = len(s.Cases)
			out.Tests += s.Tests
			out.Errors += s.Errors
			out.Suites = append(out.Suites, s)
			continue
		}
		byRule := map[string][]model.Finding{}
		for _, f := range o.Findings {
			byRule[f.RuleID] = append(byRule[f.RuleID], f)
		}
		for _, id := range ids {
			name := id
			if t := rules[id].title; t != "" {
				name += ": " + t
			}
			c := junitCase{Name: name, Classname: class}
			var failing, other []string
			worst := model.SeverityInfo
			for _, f := range byRule[id] {
				if f.Waived == nil && f.Severity >= r.FailOn {
					failing = append(failing, f.String())
					worst = max(worst, f.Severity)
					continue
				}
				line := f.String()
				if f.Waived != nil {
					line += " " + waiverText(f.Waived)
				}
				other = append(other, line)
			}
			if len(failing) > 0 {
				c.Failure = &junitProblem{
					Message: plural(len(failing), "finding", "findings") + " of " + id,
					Type:    worst.String(),
					Text:    strings.Join(failing, "\n"),
				}
				s.Failures++
			}
			c.SystemOut = junitOut(strings.Join(other, "\n"))
			s.Cases = append(s.Cases, c)
		}
		if d := o.Diff; d != nil && !d.Empty() {
			s.SystemOut = junitOut(diffHeadline(o.Name, d) + "\n" + strings.Join(diffLines(d), "\n"))
		}
		s.Tests = len(s.Cases)
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Errors += s.Errors
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
