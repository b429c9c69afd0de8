package database

import (
	"fmt"
	"net"
	"net/url"
	"strconv"

	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ory-identity-layer/identity/infra/digest"
)

// jobUID is the unprivileged user the SQL Job runs as.
const jobUID = 1000

// connDir is where the Job finds the connection's certificate files.
const connDir = "/conn"

// adminURL renders the connection as a postgresql:// URL for the cockroach CLI, with the
// password (if any) inside. It only ever travels in a Secret.
func adminURL(a Admin, host, password string) string {
	q := url.Values{}
	q.Set("sslmode", a.SSLMode)
	if a.CACert != nil {
		q.Set("sslrootcert", connDir+"/ca.crt")
	}
	if a.ClientCert != nil {
		q.Set("sslcert", connDir+"/client.crt")
		q.Set("sslkey", connDir+"/client.key")
	}
	if a.Options != "" {
		q.Set("options", a.Options)
	}
	user := url.User(a.User)
	if password != "" {
		user = url.UserPassword(a.User, password)
	}
	u := url.URL{
		Scheme: "postgresql", User: user, Host: net.JoinHostPort(host, strconv.Itoa(a.Port)),
		Path: "/defaultdb", RawQuery: q.Encode(),
	}
	return u.String()
}

// connectionSecret holds the URL and the certificate files of the admin connection.
func connectionSecret(a Admin) pulumi.StringMap {
	password := pulumi.String("").ToStringOutput()
	if a.Password != nil {
		password = a.Password.ToStringOutput()
	}
	data := pulumi.StringMap{
		"url": pulumi.All(a.Host, password).ApplyT(func(v []any) string {
			return adminURL(a, v[0].(string), v[1].(string))
		}).(pulumi.StringOutput),
	}
	if a.CACert != nil {
		data["ca.crt"] = a.CACert
	}
	if a.ClientCert != nil {
		data["client.crt"] = a.ClientCert
		data["client.key"] = a.ClientKey
	}
	for k, v := range data {
		data[k] = pulumi.ToSecret(v).(pulumi.StringOutput)
	}
	return data
}

// newSQLJob runs statements with the cockroach CLI. The Job retries with Kubernetes' back-off
// until the cluster answers, so it also waits out a cluster that is still initialising; Pulumi
// waits for the Job to complete.
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
	conn, err := corev1.NewSecret(ctx, name+"-conn", &corev1.SecretArgs{
		Metadata:   meta("conn"),
		Type:       pulumi.String("Opaque"),
		StringData: connectionSecret(args.Admin),
	}, parent, k8s, pulumi.DependsOn(args.WaitFor))
	if err != nil {
		return nil, fmt.Errorf("creating connection secret: %w", err)
	}
	// The statements carry passwords, so they travel in a Secret, not a ConfigMap.
	script, err := corev1.NewSecret(ctx, name+"-sql", &corev1.SecretArgs{
		Metadata:   meta("sql"),
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.StringMap{"bootstrap.sql": pulumi.ToSecret(statements).(pulumi.StringOutput)},
	}, parent, k8s)
	if err != nil {
		return nil, fmt.Errorf("creating SQL secret: %w", err)
	}
	job, err := batchv1.NewJob(ctx, name, &batchv1.JobArgs{
		Metadata: meta("sql"),
		Spec: &batchv1.JobSpecArgs{
			BackoffLimit:            pulumi.Int(12),
			TtlSecondsAfterFinished: pulumi.Int(3600),
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{
					Labels: pulumi.ToStringMap(args.Labels),
					// The statements live in a Secret the spec only names; their digest in the
					// spec makes a changed password or a new service re-run the Job.
					Annotations: pulumi.StringMap{
						"identity/statements-sha256": digest.Of(statements, conn.StringData),
					},
				},
				Spec: jobPod(args.CockroachVersion, conn, script),
			},
		},
	}, parent, k8s, pulumi.DependsOn(args.WaitFor),
		// Re-running is safe: the statements are idempotent.
		pulumi.ReplaceOnChanges([]string{"spec"}), pulumi.DeleteBeforeReplace(true),
		// Pulumi waits for the Job to complete, and the Job retries while the cluster comes
		// up or an allowlist is being opened; give it longer than the default ten minutes.
		pulumi.Timeouts(&pulumi.CustomTimeouts{Create: "30m", Update: "30m"}))
	if err != nil {
		return nil, fmt.Errorf("creating SQL job: %w", err)
	}
	return job, nil
}

func jobPod(version string, conn, script *corev1.Secret) *corev1.PodSpecArgs {
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
			Name:  pulumi.String("sql"),
			Image: pulumi.String("cockroachdb/cockroach:" + version),
			Command: pulumi.ToStringArray([]string{
				"/cockroach/cockroach", "sql", "--file=/sql/bootstrap.sql",
			}),
			Env: corev1.EnvVarArray{
				// The CLI reads its connection URL from COCKROACH_URL.
				&corev1.EnvVarArgs{
					Name: pulumi.String("COCKROACH_URL"),
					ValueFrom: &corev1.EnvVarSourceArgs{SecretKeyRef: &corev1.SecretKeySelectorArgs{
						Name: conn.Metadata.Name().Elem(),
						Key:  pulumi.String("url"),
					}},
				},
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
					Name: pulumi.String("conn"), MountPath: pulumi.String(connDir),
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
			secretVolume("conn", conn, 0o440),
			secretVolume("sql", script, 0o440),
			&corev1.VolumeArgs{Name: pulumi.String("tmp"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}},
		},
	}
}
