package run_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/run"
)

// longHistory makes a repository with n commits on main after the
// policies, written with git fast-import. Every commit of the "distinct"
// kind moves the worker's postgres port to a port no commit used before,
// so each renders anew; of the "mixed" kind, one commit in four changes
// prod (cycling through 5 ports, as reverts and re-applies do) and the
// others change dev or the documentation.
func longHistory(tb testing.TB, n int, kind string) string {
	tb.Helper()
	dir := newRepo(tb)
	addResource(tb, dir, "prod", "worker-db.yaml")
	writeFile(tb, dir, "overlays/prod/worker-db.yaml", workerToPostgres("5432"))
	git(tb, dir, "add", ".")
	git(tb, dir, "commit", "-qm", "worker-db")
	var s strings.Builder
	file := func(path, content string) {
		fmt.Fprintf(&s, "M 100644 inline %s\ndata %d\n%s\n", path, len(content), content)
	}
	for i := 1; i <= n; i++ {
		msg := fmt.Sprintf("Change %d (#%d)", i, 100+i)
		fmt.Fprintf(&s, "commit refs/heads/main\nauthor Dev %d <dev%d@example.com> %d +0000\ncommitter Dev %d <dev%d@example.com> %d +0000\ndata %d\n%s\n",
			i%7, i%7, 1767225600+i*3600, i%7, i%7, 1767225600+i*3600, len(msg), msg)
		if i == 1 {
			s.WriteString("from refs/heads/main^0\n")
		}
		switch {
		case kind == "distinct":
			file("overlays/prod/worker-db.yaml", workerToPostgres(fmt.Sprint(6000+i)))
		case i%4 == 0:
			file("overlays/prod/worker-db.yaml", workerToPostgres(fmt.Sprint(6000+(i/4)%5)))
		case i%4 == 1:
			file("overlays/dev/notes.md", fmt.Sprintf("note %d\n", i))
		default:
			file("docs/notes.md", fmt.Sprintf("note %d\n", i))
		}
		s.WriteString("\n")
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(s.String())
	out, err := cmd.CombinedOutput()
	require.NoError(tb, err, "%s", out)
	git(tb, dir, "reset", "-q", "--hard", "main")
	return dir
}

var historyCommits = flag.Int("history-commits", 500, "commits of BenchmarkHistory500")

// BenchmarkHistory500 is `reachgate history prod --format md` over 500
// commits, output written.
func BenchmarkHistory500(b *testing.B) {
	for _, kind := range []string{"mixed", "distinct"} {
		b.Run(kind, func(b *testing.B) {
			dir := longHistory(b, *historyCommits, kind)
			p := run.HistoryParams{Common: run.Common{Dir: dir}, Overlay: "prod", Format: "md"}
			for b.Loop() {
				if err := run.History(context.Background(), p, io.Discard, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestLongHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 60-commit history")
	}
	t.Parallel()
	dir := longHistory(t, 60, "mixed")
	h, err := run.BuildHistory(context.Background(), run.HistoryParams{Common: run.Common{Dir: dir}, Overlay: "prod"})
	require.NoError(t, err)
	require.Equal(t, 62, h.Commits)
	// created, worker-db, then 15 prod changes; those that return to a
	// port seen before are not rendered again: 2 + 5 renders.
	require.Len(t, h.Entries, 17)
	require.Equal(t, 7, h.Rendered)
}
