package report

import (
	"io"

	"github.com/reachgate/reachgate/pipeline/model"
)

type jsonConnection struct {
	Src jsonPeer `json:"src"`
	Dst jsonPeer `json:"dst"`
	*jsonAllowance
	// MayBeDeniedBy lists the invalid NetworkPolicies, left out of the
	// matrix, that could deny this flow once fixed.
	MayBeDeniedBy []string `json:"mayBeDeniedBy,omitempty"`
}

type jsonUnmanaged struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Reason    string `json:"reason"`
}

type jsonMatrix struct {
	FormatVersion string           `json:"formatVersion"`
	Title         string           `json:"title,omitempty"`
	Focus         *jsonFocus       `json:"focus,omitempty"`
	Peers         []jsonPeer       `json:"peers"`
	Connections   []jsonConnection `json:"connections"`
	Unmanaged     []jsonUnmanaged  `json:"unmanaged"`
	// Omitted are the traffic policies the matrix leaves out: invalid
	// NetworkPolicies and policies of kinds reachgate does not evaluate.
	Omitted []model.OmittedPolicy `json:"omitted,omitempty"`
}

type jsonFocus struct {
	Workload  string `json:"workload,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// writeMatrixJSON writes the matrix as a versioned document: the peers,
// every connection with its ports and the rules that allow it, and the
// workloads NetworkPolicy does not govern.
func writeMatrixJSON(w io.Writer, v *matrixView, opts MatrixOptions) error {
	return writeJSON(w, toJSONMatrix(v, opts))
}

func toJSONMatrix(v *matrixView, opts MatrixOptions) jsonMatrix {
	out := jsonMatrix{
		FormatVersion: FormatVersion,
		Title:         opts.Title,
		Peers:         make([]jsonPeer, len(v.peers)),
		Connections:   make([]jsonConnection, len(v.conns)),
		Unmanaged:     make([]jsonUnmanaged, len(v.unmanaged)),
	}
	if v.focused {
		out.Focus = &jsonFocus{Workload: opts.Workload, Namespace: opts.Namespace}
	}
	out.Omitted = v.m.Omitted
	for i, p := range v.peers {
		out.Peers[i] = toJSONPeer(*p)
	}
	for i, c := range v.conns {
		out.Connections[i] = jsonConnection{Src: toJSONPeer(*v.src(c)), Dst: toJSONPeer(*v.dst(c)), jsonAllowance: toJSONAllowance(c.Allowance),
			MayBeDeniedBy: model.MayBeDeniedBy(*v.src(c), *v.dst(c))}
	}
	for i, u := range v.unmanaged {
		out.Unmanaged[i] = jsonUnmanaged{Namespace: u.Workload.Namespace, Name: u.Workload.Name, Kind: u.Workload.Kind, Reason: u.Reason}
	}
	return out
}
