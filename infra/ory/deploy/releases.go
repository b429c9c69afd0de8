// Package deploy installs Ory Hydra, Kratos and Keto on Kubernetes with their Helm charts. The
// server configuration comes from package ory, the same functions the local stack runs, so the
// cloud gets exactly the configuration proven locally.
package deploy

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ory-identity-layer/identity/infra/digest"
)

// releaseTimeout bounds each release, migrations included, in seconds.
const releaseTimeout = 900

// ServiceSpec describes one Ory server's release.
type ServiceSpec struct {
	// Chart is hydra, kratos or keto; it is also the release and database name.
	Chart string
	// ImageTag pins the image; it must match the chart's appVersion. Required.
	ImageTag string
	// Values are the chart values without any secret. Required.
	Values pulumi.Map
	// SecretData is the content of the Secret the chart reads the DSN and Ory secrets from,
	// under the chart's own key names (dsn, secretsSystem, ...). Required; stored as secret.
	SecretData pulumi.StringMap
}

// ReleasesArgs configures Releases.
type ReleasesArgs struct {
	// Namespace receives the releases. Required.
	Namespace pulumi.StringInput
	// ChartRepository and ChartVersion pin the charts. Required.
	ChartRepository, ChartVersion string
	// Services are the releases to install. Required.
	Services []ServiceSpec
	// Provider is the cluster's Kubernetes provider. Required.
	Provider *kubernetes.Provider
	// Labels go on the Secrets. Optional.
	Labels map[string]string
	// WaitFor must finish first, such as the database bootstrap. Optional.
	WaitFor []pulumi.Resource
}

// Releases is the set of installed Ory releases.
type Releases struct {
	pulumi.ResourceState

	// Statuses holds each release's Helm status by chart name.
	Statuses map[string]helmv3.ReleaseStatusOutput
}

// NewReleases installs one release per service.
func NewReleases(ctx *pulumi.Context, name string, args *ReleasesArgs,
	opts ...pulumi.ResourceOption,
) (*Releases, error) {
	r := &Releases{Statuses: map[string]helmv3.ReleaseStatusOutput{}}
	if err := ctx.RegisterComponentResource("identity:ory:Releases", name, r, opts...); err != nil {
		return nil, fmt.Errorf("registering ory releases %s: %w", name, err)
	}
	for _, svc := range args.Services {
		rel, err := r.release(ctx, name, args, svc)
		if err != nil {
			return nil, fmt.Errorf("ory releases %s: %s: %w", name, svc.Chart, err)
		}
		r.Statuses[svc.Chart] = rel.Status
	}
	if err := ctx.RegisterResourceOutputs(r, pulumi.Map{}); err != nil {
		return nil, fmt.Errorf("registering ory releases %s outputs: %w", name, err)
	}
	return r, nil
}

// SecretName is the name of the Secret that holds a service's DSN and Ory secrets.
func SecretName(chart string) string { return "ory-" + chart + "-secrets" }

func (r *Releases) release(ctx *pulumi.Context, name string, args *ReleasesArgs,
	svc ServiceSpec,
) (*helmv3.Release, error) {
	k8s := pulumi.Provider(args.Provider)
	parent := pulumi.Parent(r)

	// The chart's own Secret is a pre-upgrade hook that is recreated on every upgrade with
	// random values for anything unset. This Secret is owned here instead, so nothing rotates
	// by accident, and it exists before the chart's migration hook runs.
	secret, err := corev1.NewSecret(ctx, name+"-"+svc.Chart, &corev1.SecretArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String(SecretName(svc.Chart)),
			Namespace: args.Namespace,
			Labels:    pulumi.ToStringMap(args.Labels),
		},
		Type:       pulumi.String("Opaque"),
		StringData: secretMap(svc.SecretData),
	}, parent, k8s, pulumi.DependsOn(args.WaitFor))
	if err != nil {
		return nil, fmt.Errorf("creating secret: %w", err)
	}

	values := pulumi.Map{}
	for k, v := range svc.Values {
		values[k] = v
	}
	// The chart's own checksum covers only its own Secret, which is disabled; this one rolls
	// the pods when a DSN or an Ory secret changes, so none keeps running on stale values.
	deployment := pulumi.Map{}
	if d, ok := values["deployment"].(pulumi.Map); ok {
		for k, v := range d {
			deployment[k] = v
		}
	}
	deployment["podMetadata"] = pulumi.Map{"annotations": pulumi.StringMap{
		"checksum/ory-secrets": digest.Of(svc.SecretData),
	}}
	values["deployment"] = deployment
	values["image"] = pulumi.Map{"tag": pulumi.String(svc.ImageTag)}
	values["secret"] = pulumi.Map{
		"enabled":      pulumi.Bool(false),
		"nameOverride": pulumi.String(SecretName(svc.Chart)),
	}

	deps := append([]pulumi.Resource{secret}, args.WaitFor...)
	rel, err := helmv3.NewRelease(ctx, name+"-"+svc.Chart, &helmv3.ReleaseArgs{
		Name:      pulumi.String("ory-" + svc.Chart),
		Chart:     pulumi.String(svc.Chart),
		Version:   pulumi.String(args.ChartVersion),
		Namespace: args.Namespace,
		RepositoryOpts: &helmv3.RepositoryOptsArgs{
			Repo: pulumi.String(args.ChartRepository),
		},
		Values:  values,
		Timeout: pulumi.Int(releaseTimeout),
		Atomic:  pulumi.Bool(false),
		// Helm hooks run the migrations before the pods roll, which Chart v4 would drop.
		WaitForJobs:   pulumi.Bool(true),
		CleanupOnFail: pulumi.Bool(false),
	}, parent, k8s, pulumi.DependsOn(deps))
	if err != nil {
		return nil, fmt.Errorf("creating release: %w", err)
	}
	return rel, nil
}

func secretMap(data pulumi.StringMap) pulumi.StringMap {
	out := pulumi.StringMap{}
	for k, v := range data {
		out[k] = pulumi.ToSecret(v).(pulumi.StringOutput)
	}
	return out
}
