// Command identity is the Pulumi program that deploys the identity layer: a secure CockroachDB
// cluster on EC2 and, on EKS, Ory Hydra, Kratos and Keto. The steps, in order, are in
// infra.Program, so that the unit tests run exactly what `pulumi up` runs.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ory-identity-layer/identity/infra"
)

func main() {
	pulumi.Run(infra.Program)
}
