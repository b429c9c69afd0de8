package deploy

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// CAMountPath is where the CockroachDB CA appears in Ory pods and migration jobs; DSNs name
// CAMountPath/ca.crt as sslrootcert.
const CAMountPath = "/etc/cockroach-ca"

// Workload is what every Ory release shares.
type Workload struct {
	// Replicas per service. Required, 1 or more.
	Replicas int
	// Production turns on a hard zone spread and a PodDisruptionBudget.
	Production bool
	// CASecret names the Secret with ca.crt, mounted at CAMountPath. Optional: without it the
	// pods trust the system roots.
	CASecret string
}

// Exposure says which of a release's two services faces the internet.
type Exposure struct {
	// PublicPort and PrivatePort are the service ports of the public and the admin (or
	// write) API.
	PublicPort, PrivatePort int
	// Public puts the public API behind an internet-facing NLB; otherwise it is ClusterIP.
	// The admin API is always ClusterIP.
	Public bool
}

// nlbAnnotations ask the in-tree AWS cloud provider for an internet-facing Network Load
// Balancer; no load balancer controller is needed.
var nlbAnnotations = pulumi.StringMap{
	"service.beta.kubernetes.io/aws-load-balancer-type":                              pulumi.String("nlb"),
	"service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": pulumi.String("true"),
}

func service(port int, public bool) pulumi.Map {
	if !public {
		return pulumi.Map{
			"enabled": pulumi.Bool(true), "type": pulumi.String("ClusterIP"),
			"port": pulumi.Int(port),
		}
	}
	return pulumi.Map{
		"enabled": pulumi.Bool(true), "type": pulumi.String("LoadBalancer"),
		"port": pulumi.Int(port), "annotations": nlbAnnotations,
	}
}

// workloadValues are the chart values for replicas, spread, disruption budget, resources and
// the CA mount. The three charts share these keys.
func workloadValues(chart string, w Workload) pulumi.Map {
	spread := "ScheduleAnyway"
	if w.Production {
		spread = "DoNotSchedule"
	}
	deployment := pulumi.Map{
		"topologySpreadConstraints": pulumi.Array{pulumi.Map{
			"maxSkew":           pulumi.Int(1),
			"topologyKey":       pulumi.String("topology.kubernetes.io/zone"),
			"whenUnsatisfiable": pulumi.String(spread),
			"labelSelector": pulumi.Map{"matchLabels": pulumi.StringMap{
				"app.kubernetes.io/name":     pulumi.String(chart),
				"app.kubernetes.io/instance": pulumi.String("ory-" + chart),
			}},
		}},
		"resources": pulumi.Map{
			"requests": pulumi.StringMap{"cpu": pulumi.String("250m"), "memory": pulumi.String("256Mi")},
			"limits":   pulumi.StringMap{"memory": pulumi.String("512Mi")},
		},
	}
	if w.CASecret != "" {
		// The chart mounts these into the migration job too, so both verify the database.
		deployment["extraVolumes"] = pulumi.Array{pulumi.Map{
			"name":   pulumi.String("cockroach-ca"),
			"secret": pulumi.Map{"secretName": pulumi.String(w.CASecret)},
		}}
		deployment["extraVolumeMounts"] = pulumi.Array{pulumi.Map{
			"name":      pulumi.String("cockroach-ca"),
			"mountPath": pulumi.String(CAMountPath),
			"readOnly":  pulumi.Bool(true),
		}}
	}
	return pulumi.Map{
		"replicaCount": pulumi.Int(w.Replicas),
		"pdb": pulumi.Map{
			"enabled": pulumi.Bool(w.Replicas > 1),
			"spec":    pulumi.Map{"minAvailable": pulumi.Int(1)},
		},
		"deployment": deployment,
	}
}

var automigration = pulumi.Map{"enabled": pulumi.Bool(true), "type": pulumi.String("job")}

// HydraValues are the hydra chart values. config is Hydra's configuration without dsn and
// secrets, which travel in the Secret.
func HydraValues(config map[string]any, w Workload, e Exposure) pulumi.Map {
	v := workloadValues("hydra", w)
	v["hydra"] = pulumi.Map{
		"config":        pulumi.ToMap(config),
		"dev":           pulumi.Bool(false),
		"automigration": automigration,
	}
	// hydra-maester manages OAuth2 clients as custom resources; nothing here uses it.
	v["maester"] = pulumi.Map{"enabled": pulumi.Bool(false)}
	v["service"] = pulumi.Map{
		"public": service(e.PublicPort, e.Public),
		"admin":  service(e.PrivatePort, false),
	}
	return v
}

// KratosValues are the kratos chart values. schemas maps file names under /etc/config to JSON.
func KratosValues(config map[string]any, schemas map[string]string, courier bool, w Workload,
	e Exposure,
) pulumi.Map {
	v := workloadValues("kratos", w)
	v["kratos"] = pulumi.Map{
		"config":          pulumi.ToMap(config),
		"development":     pulumi.Bool(false),
		"automigration":   automigration,
		"identitySchemas": pulumi.ToStringMap(schemas),
	}
	v["courier"] = pulumi.Map{"enabled": pulumi.Bool(courier)}
	v["service"] = pulumi.Map{
		"public": service(e.PublicPort, e.Public),
		"admin":  service(e.PrivatePort, false),
	}
	return v
}

// KetoValues are the keto chart values.
func KetoValues(config map[string]any, w Workload, e Exposure) pulumi.Map {
	v := workloadValues("keto", w)
	v["keto"] = pulumi.Map{
		"config":        pulumi.ToMap(config),
		"automigration": automigration,
	}
	v["service"] = pulumi.Map{
		"read":  service(e.PublicPort, e.Public),
		"write": service(e.PrivatePort, false),
	}
	return v
}
