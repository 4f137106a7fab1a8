package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSummarizeNamesSkips(t *testing.T) {
	t.Parallel()
	in := `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestLab","Output":"=== RUN   TestLab\n"}
{"Action":"output","Package":"p","Test":"TestLab","Output":"    lab_test.go:12: needs root (CAP_NET_ADMIN)\n"}
{"Action":"output","Package":"p","Test":"TestLab","Output":"--- SKIP: TestLab (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestLab"}
{"Action":"pass","Package":"p","Elapsed":1.5}
`
	var b strings.Builder
	assert.Equal(t, 0, summarize(strings.NewReader(in), &b))
	assert.Equal(t, "ok  \tp\t1.500s\ntests: 1 passed, 0 failed, 1 skipped: TestLab (needs root (CAP_NET_ADMIN))\n", b.String())

	fail := `{"Action":"output","Package":"q","Test":"TestB","Output":"    b_test.go:3: boom\n"}
{"Action":"fail","Package":"q","Test":"TestB"}
{"Action":"output","Package":"q","Output":"FAIL\tq\t0.100s\n"}
{"Action":"fail","Package":"q","Elapsed":0.1}
`
	b.Reset()
	assert.Equal(t, 1, summarize(strings.NewReader(fail), &b))
	assert.Contains(t, b.String(), "boom")
	assert.Equal(t, 1, strings.Count(b.String(), "FAIL\tq\t0.100s"))
	assert.Contains(t, b.String(), "tests: 0 passed, 1 failed, 0 skipped")
}

// TestSummarizeCountsCrashedTests: a test binary killed (out of memory,
// by a signal) ends the package while a test runs, and test2json reports
// no end for that test: it failed, and its output is shown.
func TestSummarizeCountsCrashedTests(t *testing.T) {
	t.Parallel()
	in := `{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestCrash","Output":"=== RUN   TestCrash\n"}
{"Action":"output","Package":"p","Test":"TestCrash","Output":"    c_test.go:4: about to die\n"}
{"Action":"output","Package":"p","Output":"signal: killed\n"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t0.200s\n"}
{"Action":"fail","Package":"p","Elapsed":0.2}
`
	var b strings.Builder
	assert.Equal(t, 1, summarize(strings.NewReader(in), &b))
	assert.Contains(t, b.String(), "about to die")
	assert.Contains(t, b.String(), "tests: 1 passed, 1 failed, 0 skipped")
}
