package database

import (
	"fmt"

	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// jobUID is the unprivileged user the SQL Job runs as.
const jobUID = 1000

// newSQLJob runs statements against the cluster as root with the cockroach CLI. The Job retries
// with Kubernetes' back-off until the cluster answers, so it also waits out a cluster that is
// still initialising; Pulumi waits for the Job to complete.
func newSQLJob(ctx *pulumi.Context, name string, args *BootstrapArgs, statements pulumi.StringOutput,
	parent pulumi.ResourceOption,
) (*batchv1.Job, error) {
	k8s := pulumi.Provider(args.Provider)
	meta := func(suffix string) *metav1.ObjectMetaArgs {
		return &metav1.ObjectMetaArgs{
			Name:      pulumi.String(name + "-" + suffix),
			Namespace: args.Namespace,
			Labels:    pulumi.ToStringMap(args.Labels),
		}
	}
	certs, err := corev1.NewSecret(ctx, name+"-root-client", &corev1.SecretArgs{
		Metadata: meta("root-client"),
		Type:     pulumi.String("Opaque"),
		StringData: pulumi.StringMap{
			"ca.crt":          args.CACert,
			"client.root.crt": args.RootCert,
			"client.root.key": pulumi.ToSecret(args.RootKey).(pulumi.StringOutput),
		},
	}, parent, k8s, pulumi.DependsOn(args.WaitFor))
	if err != nil {
		return nil, fmt.Errorf("creating root client secret: %w", err)
	}
	// The statements carry passwords, so they travel in a Secret, not a ConfigMap.
	script, err := corev1.NewSecret(ctx, name+"-sql", &corev1.SecretArgs{
		Metadata:   meta("sql"),
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.StringMap{"bootstrap.sql": statements},
	}, parent, k8s)
	if err != nil {
		return nil, fmt.Errorf("creating SQL secret: %w", err)
	}
	command := pulumi.Sprintf("cockroach sql --certs-dir=/certs --host=%s:%d --file=/sql/bootstrap.sql",
		args.Host, args.Port)
	job, err := batchv1.NewJob(ctx, name, &batchv1.JobArgs{
		Metadata: meta("sql"),
		Spec: &batchv1.JobSpecArgs{
			BackoffLimit:            pulumi.Int(12),
			TtlSecondsAfterFinished: pulumi.Int(3600),
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: pulumi.ToStringMap(args.Labels)},
				Spec:     jobPod(args.CockroachVersion, command, certs, script),
			},
		},
	}, parent, k8s, pulumi.DependsOn(args.WaitFor),
		// A changed password or a new service re-runs the statements: they are idempotent.
		pulumi.ReplaceOnChanges([]string{"spec"}), pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, fmt.Errorf("creating SQL job: %w", err)
	}
	return job, nil
}

func jobPod(version string, command pulumi.StringOutput, certs, script *corev1.Secret) *corev1.PodSpecArgs {
	secretVolume := func(name string, secret *corev1.Secret, mode int) *corev1.VolumeArgs {
		return &corev1.VolumeArgs{
			Name: pulumi.String(name),
			Secret: &corev1.SecretVolumeSourceArgs{
				SecretName:  secret.Metadata.Name().Elem(),
				DefaultMode: pulumi.Int(mode),
			},
		}
	}
	return &corev1.PodSpecArgs{
		RestartPolicy: pulumi.String("OnFailure"),
		SecurityContext: &corev1.PodSecurityContextArgs{
			RunAsNonRoot: pulumi.Bool(true),
			RunAsUser:    pulumi.Int(jobUID),
			FsGroup:      pulumi.Int(jobUID),
			SeccompProfile: &corev1.SeccompProfileArgs{
				Type: pulumi.String("RuntimeDefault"),
			},
		},
		Containers: corev1.ContainerArray{&corev1.ContainerArgs{
			Name:    pulumi.String("sql"),
			Image:   pulumi.String("cockroachdb/cockroach:" + version),
			Command: pulumi.StringArray{pulumi.String("/bin/sh"), pulumi.String("-c"), command},
			Env: corev1.EnvVarArray{
				&corev1.EnvVarArgs{Name: pulumi.String("HOME"), Value: pulumi.String("/tmp")},
				// Secret volumes are group-readable for fsGroup; the key is still readable by
				// this pod only.
				&corev1.EnvVarArgs{
					Name:  pulumi.String("COCKROACH_SKIP_KEY_PERMISSION_CHECK"),
					Value: pulumi.String("true"),
				},
			},
			SecurityContext: &corev1.SecurityContextArgs{
				AllowPrivilegeEscalation: pulumi.Bool(false),
				ReadOnlyRootFilesystem:   pulumi.Bool(true),
				Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.ToStringArray([]string{"ALL"})},
			},
			Resources: &corev1.ResourceRequirementsArgs{
				Requests: pulumi.StringMap{"cpu": pulumi.String("100m"), "memory": pulumi.String("128Mi")},
				Limits:   pulumi.StringMap{"memory": pulumi.String("256Mi")},
			},
			VolumeMounts: corev1.VolumeMountArray{
				&corev1.VolumeMountArgs{
					Name: pulumi.String("certs"), MountPath: pulumi.String("/certs"),
					ReadOnly: pulumi.Bool(true),
				},
				&corev1.VolumeMountArgs{
					Name: pulumi.String("sql"), MountPath: pulumi.String("/sql"),
					ReadOnly: pulumi.Bool(true),
				},
				&corev1.VolumeMountArgs{Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp")},
			},
		}},
		Volumes: corev1.VolumeArray{
			secretVolume("certs", certs, 0o440),
			secretVolume("sql", script, 0o440),
			&corev1.VolumeArgs{Name: pulumi.String("tmp"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}},
		},
	}
}
