// Package digest hashes secret values for annotations that must change when the values do, so
// that Kubernetes re-runs or rolls what reads them.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Of returns the SHA-256 of the values, in order. The digest reveals nothing about them, so it
// is not a secret and stays readable in previews and diffs.
func Of(values ...any) pulumi.StringOutput {
	return pulumi.Unsecret(pulumi.All(values...).ApplyT(func(vs []any) (string, error) {
		h := sha256.New()
		for _, v := range vs {
			b, err := json.Marshal(v)
			if err != nil {
				return "", fmt.Errorf("hashing values: %w", err)
			}
			h.Write(b)
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	})).(pulumi.StringOutput)
}
