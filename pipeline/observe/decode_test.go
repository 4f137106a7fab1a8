package observe

import (
	"bufio"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/cilium/cilium/api/v1/observer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fastjson"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/reachgate/reachgate/pipeline/model"
)

const fixture = "../../testdata/flows/hubble-prod-v1.20.jsonl"

func fixtureLines(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(fixture)
	require.NoError(t, err)
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, MaxLine), MaxLine)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	require.NoError(t, sc.Err())
	return lines
}

// TestFixtureDecodesWithoutLoss: every line of the recorded export is an
// upstream GetFlowsResponse that strict protojson (no unknown field
// allowed) decodes, re-encodes and decodes to the same message, and the
// fast decoder gives exactly protojson's message.
func TestFixtureDecodesWithoutLoss(t *testing.T) {
	t.Parallel()
	lines := fixtureLines(t)
	require.GreaterOrEqual(t, len(lines), 1000)
	strict := protojson.UnmarshalOptions{}
	var p fastjson.Parser
	fast := 0
	for i, l := range lines {
		var want observer.GetFlowsResponse
		require.NoError(t, strict.Unmarshal([]byte(l), &want), "line %d", i+1)
		require.Empty(t, want.ProtoReflect().GetUnknown(), "line %d", i+1)
		again, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(&want)
		require.NoError(t, err)
		var round observer.GetFlowsResponse
		require.NoError(t, strict.Unmarshal(again, &round))
		require.True(t, proto.Equal(&want, &round), "line %d does not survive a round trip", i+1)

		v, err := p.Parse(l)
		require.NoError(t, err)
		var got observer.GetFlowsResponse
		if err := fastUnmarshal(v, got.ProtoReflect()); err == nil {
			fast++
			require.True(t, proto.Equal(&want, &got), "line %d: fast decoder and protojson differ:\n%v\n%v", i+1, &want, &got)
		}
	}
	assert.Equal(t, len(lines), fast, "the fast decoder handles every line Hubble writes")
}

// TestFastDecoderAgreesWithProtojson on the forms protojson accepts that
// Hubble does not write: camelCase names, enum numbers, quoted integers,
// and on what the fast decoder leaves to protojson.
func TestFastDecoderAgreesWithProtojson(t *testing.T) {
	t.Parallel()
	for _, l := range []string{
		`{"flow":{"time":"2026-11-30T10:00:00+01:00","verdict":2,"dropReasonDesc":"POLICY_DENIED","IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"UDP":{"sourcePort":"1234","destinationPort":53}},"isReply":false}}`,
		`{"flow":{"time":"2026-11-30T10:00:00.5Z","verdict":"FORWARDED","source":{"labels":[]},"socket_cookie":"18446744073709551615"}}`,
		`{"flow":{"verdict":"FORWARDED","l4":{"TCP":{"destination_port":80}},"l4":{"UDP":{}}}}`,
		`{"flow":{"verdict":"FORWARDED","extensions":{"@type":"type.googleapis.com/google.protobuf.BoolValue","value":true}}}`,
		`{"node_status":{"state_change":"NODE_CONNECTED","node_names":["n1"]}}`,
		`{"flow":{"verdict":"FORWARDED","l4":{"TCP":{"destination_port":80}},"time":null}}`,
	} {
		var want observer.GetFlowsResponse
		werr := protojson.Unmarshal([]byte(l), &want)
		var got observer.GetFlowsResponse
		v, err := (&fastjson.Parser{}).Parse(l)
		require.NoError(t, err)
		if ferr := fastUnmarshal(v, got.ProtoReflect()); ferr != nil {
			continue // left to protojson
		}
		require.NoError(t, werr, "the fast decoder accepted what protojson refuses: %s", l)
		assert.True(t, proto.Equal(&want, &got), "%s:\n%v\n%v", l, &want, &got)
	}
}

func TestReadBothHubbleShapesAndNeutral(t *testing.T) {
	t.Parallel()
	in := strings.Join([]string{
		// -o jsonpb: GetFlowsResponse
		`{"flow":{"time":"2026-11-30T10:00:00Z","verdict":"FORWARDED","IP":{"source":"10.244.0.5","destination":"10.244.0.6"},"l4":{"TCP":{"destination_port":3000}},"source":{"namespace":"app","pod_name":"frontend-6c8d9f7b5c-x2k4p"},"destination":{"namespace":"app","pod_name":"api-0"},"Type":"L3_L4"},"node_name":"n1"}`,
		// -o json: a Flow
		`{"time":"2026-11-30T10:01:00Z","verdict":"FORWARDED","IP":{"source":"10.244.0.5","destination":"10.244.0.6"},"l4":{"TCP":{"destination_port":3000}},"source":{"namespace":"app","pod_name":"frontend-6c8d9f7b5c-x2k4p"},"destination":{"namespace":"app","pod_name":"api-0"},"Type":"L3_L4"}`,
		// neutral
		`{"src":"app/frontend-6c8d9f7b5c-x2k4p","dst":"app/api-0","proto":"TCP","port":3000,"verdict":"FORWARDED","count":5,"first":"2026-11-30T09:00:00Z","last":"2026-11-30T09:30:00Z"}`,
		`{"src":"app/frontend-6c8d9f7b5c-x2k4p","dst":"93.184.216.34","proto":"udp","port":53,"verdict":"dropped"}`,
		``,
	}, "\n")
	c, err := Read(context.Background(), Source{Name: "mixed", R: strings.NewReader(in)})
	require.NoError(t, err)
	assert.Zero(t, c.Input.MalformedCount, "%v", c.Input.Malformed)
	// Hubble's endpoints carry addresses, the neutral line's do not: they
	// aggregate once mapped onto an overlay.
	require.Len(t, c.Records, 3)
	tcp := map[bool]Record{}
	for _, r := range c.Records {
		if r.Protocol == model.TCP {
			tcp[r.Src.IP.IsValid()] = r
		}
	}
	assert.Equal(t, int64(2), tcp[true].Count, "one jsonpb line, one json line")
	assert.Equal(t, "2026-11-30T10:01:00Z", tcp[true].Last.Format("2006-01-02T15:04:05Z07:00"))
	assert.Equal(t, int64(5), tcp[false].Count)
	assert.Equal(t, "2026-11-30T09:00:00Z", tcp[false].First.Format("2006-01-02T15:04:05Z07:00"))
	assert.Equal(t, int64(8), c.Input.Flows)
}

func TestNeutralFormatErrors(t *testing.T) {
	t.Parallel()
	for line, want := range map[string]string{
		`{"src":"app/a","dst":"app/b","proto":"TCP","port":70000,"verdict":"FORWARDED"}`:            "port 70000: want 1-65535",
		`{"src":"app/a","dst":"app/b","proto":"ICMP","port":1,"verdict":"FORWARDED"}`:               `proto: unsupported protocol "ICMP"`,
		`{"src":"app","dst":"app/b","port":1,"verdict":"FORWARDED"}`:                                `src: "app": want namespace/pod or an IP address`,
		`{"src":"app/a","dst":"app/b","port":1,"verdict":"MAYBE"}`:                                  `verdict "MAYBE": want FORWARDED or DROPPED`,
		`{"src":"app/a","dst":"app/b","port":1,"verdict":"FORWARDED","colour":"red"}`:               `unknown field "colour"`,
		`{"src":"app/a","dst":"app/b","port":1,"verdict":"FORWARDED","first":"yesterday"}`:          `first "yesterday": want RFC 3339 time`,
		`{"src":"app/a","dst":"app/b","port":1,"verdict":"FORWARDED","count":-2}`:                   "count -2 is negative",
		`{"src":"app/a","dst":"app/b","port":1,"verdict":"FORWARDED","dropReason":"POLICY_DENIED"}`: "dropReason on a flow that was not dropped",
	} {
		_, err := neutralRecord([]byte(line))
		require.Error(t, err, line)
		assert.Contains(t, err.Error(), want, line)
	}
}

func TestOverlongLineIsReportedAndSkipped(t *testing.T) {
	t.Parallel()
	good := `{"src":"app/a","dst":"app/b","port":1,"verdict":"FORWARDED"}`
	in := good + "\n" + `{"src":"` + strings.Repeat("x", MaxLine+10) + `"}` + "\n" + good + "\n"
	c, err := Read(context.Background(), Source{Name: "long", R: strings.NewReader(in)})
	require.NoError(t, err)
	require.Equal(t, int64(1), c.Input.MalformedCount)
	assert.Equal(t, 2, c.Input.Malformed[0].Line)
	assert.Contains(t, c.Input.Malformed[0].Message, "line longer than")
	assert.Equal(t, int64(2), c.Input.Flows)
}

// TestLeanDecodingReducesAlike: decoding only the fields reachgate reads,
// endpoints cached, gives every fixture line the record a full protojson
// decode gives.
func TestLeanDecodingReducesAlike(t *testing.T) {
	t.Parallel()
	ln := newLean()
	var p fastjson.Parser
	for i, l := range fixtureLines(t) {
		var full, got observer.GetFlowsResponse
		require.NoError(t, protojson.Unmarshal([]byte(l), &full))
		v, err := p.Parse(l)
		require.NoError(t, err)
		require.NoError(t, ln.unmarshal(v, got.ProtoReflect()), "line %d", i+1)
		if full.GetFlow() == nil {
			assert.True(t, proto.Equal(&full, &got), "line %d", i+1)
			continue
		}
		wr, wskip := fromHubble(full.GetFlow(), full.GetTime().AsTime())
		gr, gskip := fromHubble(got.GetFlow(), got.GetTime().AsTime())
		require.Equal(t, wskip, gskip, "line %d", i+1)
		require.Equal(t, wr, gr, "line %d", i+1)
	}
	assert.Less(t, len(ln.endpoints), 100, "endpoints repeat")
}
