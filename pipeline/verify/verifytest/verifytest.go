// Package verifytest runs the kernel lab of package verify from Go tests:
// a test hands it a cluster and the engine's matrix and gets one test
// error per probe on which the kernel and the engine disagree.
package verifytest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/verify"
)

// Cluster skips t when this process cannot build a lab (not root), and
// otherwise returns c with lab addresses (verify.AssignAddresses); compute
// the matrix to check from the returned cluster.
func Cluster(t testing.TB, c *model.Cluster) *model.Cluster {
	t.Helper()
	if err := verify.CanRun(); err != nil {
		t.Skipf("skipping kernel lab: %v", err)
	}
	out, err := verify.AssignAddresses(c)
	if err != nil {
		t.Fatalf("assign lab addresses: %v", err)
	}
	return out
}

// Check builds the lab for c and m, probes it, logs the summary and reports
// every mismatch with t.Errorf. It skips t when the lab cannot run. The run
// uses a prefix of its own, and t.Cleanup removes whatever an interrupted
// run left behind.
func Check(t testing.TB, c *model.Cluster, m *model.Matrix) *verify.Result {
	t.Helper()
	if err := verify.CanRun(); err != nil {
		t.Skipf("skipping kernel lab: %v", err)
	}
	id := make([]byte, 3)
	_, _ = rand.Read(id)
	prefix := "rgvt-" + hex.EncodeToString(id) + "-"
	t.Cleanup(func() {
		if err := verify.Cleanup(prefix); err != nil {
			t.Errorf("clean up the lab: %v", err)
		}
	})
	res, err := verify.Run(context.Background(), c, m, verify.Options{Prefix: prefix, Logf: t.Logf})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	var b strings.Builder
	_ = res.WriteText(&b)
	t.Log("\n" + b.String())
	for _, mm := range res.Mismatches {
		t.Errorf("%s", mm)
	}
	return res
}
