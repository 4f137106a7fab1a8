// Command synth writes a synthetic cluster as a GitOps repository (see
// synth.WriteTree), for `make bench-scale` and for trying reachgate at
// scale:
//
//	go run ./internal/synth/cmd/synth -workloads 5000 -namespaces 50 -policies 3000 -out /tmp/c5000
//	go run ./internal/synth/cmd/synth -workloads 5000 -namespaces 50 -policies 3000 -out /tmp/c5000 -change
//
// The same flags always write the same files; -change rewrites one policy
// the way a pull request would, -bump one image tag; -numbered-ports writes the policies' named
// ports as numbers, which netpol-analyzer needs.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/reachgate/reachgate/internal/synth"
)

func main() {
	workloads := flag.Int("workloads", 500, "workloads (each with a Service)")
	namespaces := flag.Int("namespaces", 20, "namespaces")
	policies := flag.Int("policies", 0, "NetworkPolicies (default: 0.6 per workload)")
	seed := flag.Uint64("seed", 42, "random seed")
	out := flag.String("out", "", "directory to write (required)")
	change := flag.Bool("change", false, "change one policy, as a pull request would")
	bump := flag.Bool("bump", false, "move one workload's image tag, as a pull request would")
	numbered := flag.Bool("numbered-ports", false, "write the policies' ports as numbers (for netpol-analyzer)")
	flag.Parse()
	if *out == "" || *workloads < 1 || *namespaces < 1 || *policies < 0 {
		fmt.Fprintln(os.Stderr, "synth: -out DIR is required; -workloads and -namespaces must be positive")
		flag.Usage()
		os.Exit(2)
	}
	o := synth.Options{Workloads: *workloads, Namespaces: *namespaces, Seed: *seed}
	if *policies > 0 {
		o.PolicyRatio = float64(*policies) / float64(*workloads)
	}
	c := synth.Cluster(o)
	if _, err := synth.WriteTree(*out, c, synth.TreeOptions{Change: *change, Bump: *bump, NumberedPorts: *numbered}); err != nil {
		fmt.Fprintln(os.Stderr, "synth:", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d workloads, %d namespaces, %d policies\n", *out, len(c.Workloads)-1, len(c.Namespaces)-1, len(c.Policies))
}
