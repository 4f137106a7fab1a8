package model_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reachgate/reachgate/pipeline/model"
)

// TestFindingJSONKeepsHTMLCharacters checks that a finding's <, > and &
// come out as they are from an encoder that does not escape HTML (the
// report writers'), escaped from one that does, and that both decode to
// the finding.
func TestFindingJSONKeepsHTMLCharacters(t *testing.T) {
	f := model.Finding{RuleID: "NP004", Severity: model.SeverityError, Message: "app/worker -> app/rabbitmq <5672/TCP> & more", Controls: []string{}}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(f))
	require.Contains(t, b.String(), `"app/worker -> app/rabbitmq <5672/TCP> & more"`)
	escaped, err := json.Marshal(f)
	require.NoError(t, err)
	require.Contains(t, string(escaped), `"app/worker -\u003e app/rabbitmq \u003c5672/TCP\u003e \u0026 more"`)
	for _, doc := range [][]byte{b.Bytes(), escaped} {
		var back model.Finding
		require.NoError(t, json.Unmarshal(doc, &back))
		require.Equal(t, f, back)
	}
}
