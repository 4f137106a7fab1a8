package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/reachgate/reachgate/pipeline/model"
	"github.com/reachgate/reachgate/pipeline/observe"
	"github.com/reachgate/reachgate/pipeline/policy"
	"github.com/reachgate/reachgate/pipeline/reach"
	"github.com/reachgate/reachgate/pipeline/report"
	"github.com/reachgate/reachgate/pipeline/verify"
)

// FlowParams say where observed flows come from: files (Hubble exports or
// the neutral format; "-" is standard input) or Hubble Relay.
type FlowParams struct {
	Files []string
	Relay observe.RelayOptions
}

func (f FlowParams) given() bool { return len(f.Files) > 0 || f.Relay.Addr != "" }

// readFlows reads every flow source. Malformed lines are in the capture
// (and named on stderr); only a source that cannot be read is an error.
func readFlows(ctx context.Context, p FlowParams, stderr io.Writer) (*observe.Capture, error) {
	if len(p.Files) > 0 && p.Relay.Addr != "" {
		return nil, inputError(errors.New("--flows and --hubble-relay: give one source of flows"))
	}
	var c *observe.Capture
	var err error
	if p.Relay.Addr != "" {
		c, err = observe.ReadRelay(ctx, p.Relay)
		if err != nil {
			return nil, inputError(fmt.Errorf("hubble relay %s: %w", p.Relay.Addr, err))
		}
	} else {
		var srcs []observe.Source
		for _, name := range p.Files {
			if name == "-" {
				srcs = append(srcs, observe.Source{Name: "<stdin>", R: os.Stdin})
				continue
			}
			f, err := os.Open(name)
			if err != nil {
				return nil, inputError(fmt.Errorf("flows: %w", err))
			}
			defer f.Close()
			srcs = append(srcs, observe.Source{Name: name, R: f})
		}
		if c, err = observe.Read(ctx, srcs...); err != nil {
			return nil, inputError(err)
		}
	}
	for _, m := range c.Input.Malformed {
		fmt.Fprintf(stderr, "%s:%d: %s\n", m.File, m.Line, m.Message)
	}
	if n := c.Input.MalformedCount - int64(len(c.Input.Malformed)); n > 0 {
		fmt.Fprintf(stderr, "... and %d more malformed line(s)\n", n)
	}
	return c, nil
}

// flowProblems is the exit for malformed flow lines (a truncated final
// line aside): exit 2 after the report, as for invalid objects.
func flowProblems(c *observe.Capture) error {
	if n := c.Problems(); n > 0 {
		return inputError(fmt.Errorf("%d malformed flow line(s) left out of the analysis", n))
	}
	return nil
}

// explainFlows explains flows against one overlay, compiling the explainer the
// first time it is asked.
func explainFlows(c *model.Cluster, m *model.Matrix) observe.Judge {
	var ex *reach.Explainer
	return func(f *model.ObservedFlow) (string, string) {
		if ex == nil {
			ex = reach.NewExplainer(c)
		}
		xs, err := ex.Explain(peerName(&m.Peers[f.SrcPeer]), peerName(&m.Peers[f.DstPeer]), &model.PortQuery{Protocol: f.Protocol, Port: f.Port})
		if err != nil {
			return "", err.Error()
		}
		side := ""
		if len(xs) > 0 {
			eg := !xs[0].Egress.Allows.Contains(f.Protocol, f.Port)
			in := !xs[0].Ingress.Allows.Contains(f.Protocol, f.Port)
			switch {
			case eg && in:
				side = "egress and ingress"
			case eg:
				side = "egress"
			case in:
				side = "ingress"
			}
		}
		return side, report.ExplainSummary(xs)
	}
}

// peerName names a matrix peer the way explain resolves it.
func peerName(p *model.Peer) string {
	if p.Workload != nil {
		return p.Workload.Key()
	}
	return p.Range.From.String()
}

// ObserveParams are the options of `reachgate observe`.
type ObserveParams struct {
	Common
	Overlays []string
	Flows    FlowParams
	Format   string
	// MaxUnusedPairs caps the unused pairs listed per overlay.
	MaxUnusedPairs int
}

// Observe judges observed flows against overlays: violations, unenforced
// flows, unused allowances and unknown endpoints per overlay. It exits 1
// when an expectation is violated or forwarded traffic is denied by the
// overlay, 2 on malformed flow lines or invalid objects.
func Observe(ctx context.Context, p ObserveParams, w, stderr io.Writer) error {
	if !p.Flows.given() {
		return inputError(errors.New("observe needs --flows FILE or --hubble-relay ADDR"))
	}
	format := formatOr(p.Format, "txt")
	if !report.HasObserveFormat(format) {
		return inputError(fmt.Errorf("--format %q: want one of %s", format, joinNames(report.ObserveFormats())))
	}
	ws, err := p.open()
	if err != nil {
		return err
	}
	names := p.Overlays
	if len(names) == 0 {
		names = ws.Config.OverlayNames()
	}
	if len(names) == 0 {
		return inputError(errors.New("no overlay given and none configured in reachgate.yaml"))
	}
	var loaded []*Overlay
	for _, n := range names {
		o, err := loadOne(ctx, ws, n, stderr)
		if err != nil {
			return err
		}
		loaded = append(loaded, o)
	}
	c, err := readFlows(ctx, p.Flows, stderr)
	if err != nil {
		return err
	}
	var reports []*model.ObserveReport
	for _, o := range loaded {
		r, err := observeOverlay(ctx, ws, o, c, p.MaxUnusedPairs, stderr)
		if err != nil {
			return err
		}
		reports = append(reports, r)
	}
	if err := report.WriteObserve(w, format, reports); err != nil {
		return err
	}
	if err := leftOut(loaded...); err != nil {
		return err
	}
	if err := flowProblems(c); err != nil {
		return err
	}
	failed := 0
	for _, r := range reports {
		if r.Failed() {
			failed++
		}
	}
	if failed > 0 {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("%d of %d overlay(s): expectations violated or traffic the policies deny is forwarded", failed, len(reports))}
	}
	return nil
}

func observeOverlay(ctx context.Context, ws *Workspace, o *Overlay, c *observe.Capture, maxPairs int, stderr io.Writer) (*model.ObserveReport, error) {
	m, err := reach.ComputeContext(ctx, o.Cluster)
	if err != nil {
		return nil, err
	}
	mf := observe.MapCapture(c, o.Cluster, m)
	var expected observe.Expected
	if exp, problems := readExpectations(ws, o); len(problems) > 0 {
		for _, f := range problems {
			fmt.Fprintf(stderr, "warning: %s: expectations not used: %s\n", o.Name, f.String())
		}
	} else if exp != nil {
		find := policy.AllowExpectation(exp, m)
		expected = func(f *model.ObservedFlow) *model.Location { return find(f.SrcPeer, f.DstPeer, f.Protocol, f.Port) }
	}
	r := observe.Analyze(c.Input, mf, m, explainFlows(o.Cluster, m), expected, observe.Options{MaxUnusedPairs: maxPairs})
	r.Overlay, r.Environment, r.Path = o.Name, o.Environment, o.Path
	return r, nil
}

// observe is check --flows for one head overlay: what it does to the
// observed traffic, compared with the base (nil when there is none); nil
// without flows. The rules see it as input.observed.
func (j *judge) observe(head *Overlay, headM, baseM *model.Matrix) *model.TrafficImpact {
	if j.flows == nil || head.Cluster == nil {
		return nil
	}
	t := observe.Impact(j.flows, head.Cluster, headM, baseM, explainFlows(head.Cluster, headM))
	if j.traffic == nil {
		j.traffic = map[*Overlay]*model.TrafficImpact{}
	}
	j.traffic[head] = t
	return t
}

// recordFlows writes a verify run's probes as Hubble flows.
func recordFlows(file string, res *verify.Result) error {
	probes := make([]observe.LabProbe, len(res.Records))
	for i, r := range res.Records {
		probes[i] = observe.LabProbe{
			Src: observe.LabPeer{Workload: r.Src, Addr: r.SrcAddr}, Dst: observe.LabPeer{Workload: r.Dst, Addr: r.DstAddr},
			Protocol: r.Protocol, Port: r.Port, Allowed: r.Allowed, DeniedOnEgress: r.DeniedOnEgress(), Time: r.Time,
		}
	}
	return writeFile(file, func(w io.Writer) error { return observe.WriteHubble(w, "reachgate-lab", probes) })
}

// checkFlows reads check's --flows once for every overlay; nil without
// flows. Malformed lines are listed in each overlay's traffic section.
func checkFlows(ctx context.Context, p FlowParams) (*observe.Capture, error) {
	if !p.given() {
		return nil, nil
	}
	return readFlows(ctx, p, io.Discard)
}

// trafficProblems is exit 2 when check's flows had malformed lines (a
// truncated final line aside).
func trafficProblems(r *model.Report) error {
	for _, o := range r.Overlays {
		if t := o.Traffic; t != nil && t.Input.MalformedCount > int64(t.Input.Truncated) {
			return inputError(fmt.Errorf("%d malformed flow line(s) left out of the analysis", t.Input.MalformedCount-int64(t.Input.Truncated)))
		}
	}
	return nil
}

// RelayOptions are observe.RelayOptions, for the CLI.
type RelayOptions = observe.RelayOptions

// RelayWindow sets the relay's time window from --since/--until (RFC 3339)
// or --last.
func RelayWindow(o *RelayOptions, since, until string, last time.Duration, now time.Time) error {
	if last > 0 {
		if since != "" || until != "" {
			return inputError(errors.New("--last and --since/--until: give one window"))
		}
		o.Since, o.Until = now.Add(-last), now
		return nil
	}
	for _, t := range []struct {
		flag, v string
		to      *time.Time
	}{{"--since", since, &o.Since}, {"--until", until, &o.Until}} {
		if t.v == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339Nano, t.v)
		if err != nil {
			return inputError(fmt.Errorf("%s %q: want an RFC 3339 time like 2026-11-30T10:00:00Z", t.flag, t.v))
		}
		*t.to = v
	}
	return nil
}
