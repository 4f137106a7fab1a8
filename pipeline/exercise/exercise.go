// Package exercise holds the course's checkable exercises: each a txtar
// archive with a starting state (a patch git applies on a new branch), the
// goal written as connectivity expectations per overlay, a hint ladder and
// a reference answer. It judges what run measured in the trainee's work
// tree; it does not render or compute anything itself.
package exercise

import (
	"bytes"
	"embed"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/txtar"

	"github.com/reachgate/reachgate/internal/yamlfile"
	"github.com/reachgate/reachgate/pipeline/model"
)

//go:embed exercises/*.txtar
var embedded embed.FS

// Exercise is one checkable exercise.
type Exercise struct {
	Number int
	// Part is the part of the course the exercise belongs to.
	Part  int
	Title string
	// Doc is where the course text is, relative to the repository.
	Doc string
	// Task is what start prints: the situation and what to do.
	Task string
	// Hints are the exercise's own rungs of the ladder, after those
	// drawn from explain.
	Hints []string
	// StartFails are the failures the starting state is documented to
	// have, as Failure keys; * stands for any text.
	StartFails []string
	Goals      []Goal
	// Start is the patch git applies for the starting state (empty when
	// the repository as it is is the starting state); Answer is the
	// reference answer, applied on top of it.
	Start, Answer []byte
}

// Goal is the exercise's expectations for one overlay, a document in the
// format of expectations.yaml.
type Goal struct {
	Overlay string
	// File names the goal in messages: "exercise 11: goal/dev.yaml".
	File string
	Data []byte
}

// Branch is the branch start creates.
func (e *Exercise) Branch() string { return "exercise-" + strconv.Itoa(e.Number) }

type header struct {
	Number     int      `yaml:"number"`
	Part       int      `yaml:"part"`
	Title      string   `yaml:"title"`
	Doc        string   `yaml:"doc"`
	Task       string   `yaml:"task"`
	Hints      []string `yaml:"hints"`
	StartFails []string `yaml:"startFails"`
}

var goalFile = regexp.MustCompile(`^goal/([a-z0-9][a-z0-9-]*)\.yaml$`)

// Parse reads one exercise archive: exercise.yaml, goal/OVERLAY.yaml for
// each overlay it judges, start.diff (may be absent) and answer.diff.
func Parse(name string, data []byte) (*Exercise, error) {
	a := txtar.Parse(data)
	files := map[string][]byte{}
	for _, f := range a.Files {
		if _, dup := files[f.Name]; dup {
			return nil, fmt.Errorf("%s: %s is in the archive twice", name, f.Name)
		}
		files[f.Name] = f.Data
	}
	raw, ok := files["exercise.yaml"]
	if !ok {
		return nil, fmt.Errorf("%s: no exercise.yaml", name)
	}
	var h header
	yf, err := yamlfile.Decode(name+": exercise.yaml", raw, &h)
	if err != nil {
		return nil, err
	}
	for _, req := range []struct {
		field string
		ok    bool
	}{{"number", h.Number > 0}, {"part", h.Part > 0}, {"title", h.Title != ""}, {"doc", h.Doc != ""}, {"task", h.Task != ""}, {"hints", len(h.Hints) > 0}, {"startFails", len(h.StartFails) > 0}} {
		if !req.ok {
			yf.Add(req.field, req.field, "required")
		}
	}
	if len(yf.Errs) > 0 {
		return nil, yf.Errs
	}
	e := &Exercise{
		Number: h.Number, Part: h.Part, Title: h.Title, Doc: h.Doc,
		Task: strings.TrimSpace(h.Task) + "\n", Hints: h.Hints, StartFails: h.StartFails,
		Start: files["start.diff"], Answer: files["answer.diff"],
	}
	if len(e.Answer) == 0 {
		return nil, fmt.Errorf("%s: no answer.diff (the reference answer)", name)
	}
	for _, f := range a.Files {
		switch m := goalFile.FindStringSubmatch(f.Name); {
		case m != nil:
			e.Goals = append(e.Goals, Goal{Overlay: m[1], File: fmt.Sprintf("exercise %d: %s", e.Number, f.Name), Data: f.Data})
		case f.Name == "exercise.yaml" || f.Name == "start.diff" || f.Name == "answer.diff":
		default:
			return nil, fmt.Errorf("%s: unknown file %s: want exercise.yaml, goal/OVERLAY.yaml, start.diff, answer.diff", name, f.Name)
		}
	}
	if len(e.Goals) == 0 {
		return nil, fmt.Errorf("%s: no goal/OVERLAY.yaml", name)
	}
	return e, nil
}

// All returns the exercises shipped in the binary, by number.
func All() ([]*Exercise, error) {
	names, err := embedded.ReadDir("exercises")
	if err != nil {
		return nil, err
	}
	var out []*Exercise
	for _, n := range names {
		data, err := embedded.ReadFile(path.Join("exercises", n.Name()))
		if err != nil {
			return nil, err
		}
		e, err := Parse(n.Name(), data)
		if err != nil {
			return nil, err
		}
		for _, o := range out {
			if o.Number == e.Number {
				return nil, fmt.Errorf("%s: exercise %d is defined twice", n.Name(), e.Number)
			}
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *Exercise) int { return a.Number - b.Number })
	return out, nil
}

// Get returns exercise n.
func Get(n int) (*Exercise, error) {
	all, err := All()
	if err != nil {
		return nil, err
	}
	for _, e := range all {
		if e.Number == n {
			return e, nil
		}
	}
	nums := make([]string, len(all))
	for i, e := range all {
		nums[i] = strconv.Itoa(e.Number)
	}
	return nil, fmt.Errorf("no exercise %d: the exercises are %s (reachgate exercise list)", n, strings.Join(nums, ", "))
}

// ChangedFiles lists the files a patch touches, each with git's status
// letter: "A path", "M path", "D path".
func ChangedFiles(patch []byte) []string {
	var out []string
	var from, to string
	flush := func() {
		switch {
		case from == "" && to == "":
		case from == "/dev/null":
			out = append(out, "A "+to)
		case to == "/dev/null":
			out = append(out, "D "+from)
		default:
			out = append(out, "M "+to)
		}
		from, to = "", ""
	}
	for _, l := range bytes.Split(patch, []byte("\n")) {
		s := string(l)
		switch {
		case strings.HasPrefix(s, "diff --git "):
			flush()
		case strings.HasPrefix(s, "--- "):
			from = strings.TrimPrefix(strings.TrimPrefix(s, "--- "), "a/")
		case strings.HasPrefix(s, "+++ "):
			to = strings.TrimPrefix(strings.TrimPrefix(s, "+++ "), "b/")
		}
	}
	flush()
	return out
}

// Key is how a failure is named in StartFails.
func goalKey(overlay string, allow bool, from, to, port string) string {
	verb := "deny"
	if allow {
		verb = "allow"
	}
	return "goal " + overlay + ": " + verb + " " + flow(from, to, port)
}

func expectKey(overlay string, allow bool, from, to, port string) string {
	id := "expect/deny"
	if allow {
		id = "expect/allow"
	}
	return overlay + ": " + id + " " + flow(from, to, port)
}

func findingKey(overlay string, f model.Finding) string {
	what := f.Object.String()
	if f.Object.Name == "" {
		what = f.Location.File
	}
	return overlay + ": " + f.RuleID + " " + what
}

func flow(from, to, port string) string {
	s := from + " -> " + to
	if port != "" {
		s += " " + port
	}
	return s
}

// MatchKeys reports whether the failures are exactly those the patterns
// name: every key matches a pattern and every pattern some key. It
// returns what is left over on each side.
func MatchKeys(patterns, keys []string) (unexpected, missing []string) {
	used := make([]bool, len(patterns))
	for _, k := range keys {
		hit := false
		for i, p := range patterns {
			if globMatch(p, k) {
				used[i], hit = true, true
			}
		}
		if !hit {
			unexpected = append(unexpected, k)
		}
	}
	for i, p := range patterns {
		if !used[i] {
			missing = append(missing, p)
		}
	}
	return unexpected, missing
}

// globMatch matches s against a pattern whose only wildcard is *, which
// stands for any text.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}
