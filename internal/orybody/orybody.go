// Package orybody reads the error bodies Ory's servers send, for the messages the smoke checker
// and the load generator report.
package orybody

import (
	"encoding/json"
	"fmt"
	"strings"
)

// maxRaw bounds how much of a body that is not a known error shape goes into a message.
const maxRaw = 200

// Message extracts the human message of an error body in one of the three shapes the servers
// send: {"error":{"message","reason"}} (herodot: Kratos and Keto, Hydra's admin API),
// {"error","error_description"} (Hydra's OAuth2 errors) and a self-service flow carrying
// ui.messages (Kratos). Other bodies come back trimmed and truncated.
func Message(body []byte) string {
	var generic struct {
		Error json.RawMessage `json:"error"`
		Desc  string          `json:"error_description"`
		UI    struct {
			Messages []struct {
				ID   int    `json:"id"`
				Text string `json:"text"`
			} `json:"messages"`
		} `json:"ui"`
	}
	if len(body) == 0 || json.Unmarshal(body, &generic) != nil {
		return Truncate(string(body), maxRaw)
	}
	var herodot struct {
		Message string `json:"message"`
		Reason  string `json:"reason"`
	}
	var oauth string
	switch {
	case json.Unmarshal(generic.Error, &herodot) == nil && herodot.Message != "":
		return strings.TrimSuffix(herodot.Message+": "+herodot.Reason, ": ")
	case json.Unmarshal(generic.Error, &oauth) == nil && oauth != "":
		return strings.TrimSuffix(oauth+": "+generic.Desc, ": ")
	case len(generic.UI.Messages) > 0:
		parts := make([]string, 0, len(generic.UI.Messages))
		for _, m := range generic.UI.Messages {
			parts = append(parts, fmt.Sprintf("%d %s", m.ID, m.Text))
		}
		return strings.Join(parts, "; ")
	}
	return Truncate(string(body), maxRaw)
}

// Truncate trims s and cuts it to n bytes, marking the cut.
func Truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
