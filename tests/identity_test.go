package tests

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ory-identity-layer/identity/infra"
	"github.com/ory-identity-layer/identity/internal/offline"
)

const (
	releaseType  = "kubernetes:helm.sh/v3:Release"
	secretType   = "kubernetes:core/v1:Secret"
	jobType      = "kubernetes:batch/v1:Job"
	peeringType  = "aws:ec2/vpcPeeringConnection:VpcPeeringConnection"
	routeType    = "aws:ec2/route:Route"
	pgDatabase   = "postgresql:index/database:Database"
	pgRole       = "postgresql:index/role:Role"
	pgGrant      = "postgresql:index/grant:Grant"
	k8sProvider  = "pulumi:providers:kubernetes"
	pgProvider   = "pulumi:providers:postgresql"
	eksClusterTy = "eks:index:Cluster"
)

// secretAt reports whether any value along a path of keys is a Pulumi secret.
func secretAt(v resource.PropertyValue, path ...string) bool {
	for _, k := range path {
		if v.IsSecret() {
			return true
		}
		if !v.IsObject() {
			return false
		}
		v = v.ObjectValue()[resource.PropertyKey(k)]
	}
	return v.IsSecret()
}

// plain unwraps secrets and returns the Go value of a property.
func plain(v resource.PropertyValue) any {
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v.Mappable()
}

// at walks a path of keys through nested property maps.
func at(v resource.PropertyValue, path ...string) resource.PropertyValue {
	for _, k := range path {
		if v.IsSecret() {
			v = v.SecretValue().Element
		}
		if !v.IsObject() {
			return resource.NewNullProperty()
		}
		v = v.ObjectValue()[resource.PropertyKey(k)]
	}
	return v
}

func release(t *testing.T, g *offline.Graph, chart string) *offline.Resource {
	t.Helper()
	r := g.Named(releaseType, "ory-"+chart)
	require.NotNil(t, r, "release of %s", chart)
	return r
}

func TestPeeringAndRoutesBothWays(t *testing.T) {
	g := run(t, "dev", nil)
	require.Len(t, g.OfType(peeringType), 1)
	p := g.OfType(peeringType)[0]
	assert.True(t, p.Inputs["autoAccept"].BoolValue())
	assert.True(t, at(resource.NewObjectProperty(p.Inputs), "requester", "allowRemoteVpcDnsResolution").BoolValue())
	assert.True(t, at(resource.NewObjectProperty(p.Inputs), "accepter", "allowRemoteVpcDnsResolution").BoolValue())

	toCrdb, toEks := 0, 0
	for _, r := range g.OfType(routeType) {
		switch str(r, "destinationCidrBlock") {
		case "10.1.0.0/16":
			toCrdb++
		case "10.2.0.0/16":
			toEks++
		}
		if strings.HasPrefix(r.Name, "eks-to-crdb") {
			assert.NotEmpty(t, r.Inputs["vpcPeeringConnectionId"], r.Name)
		}
	}
	assert.Equal(t, 3, toCrdb, "every EKS private route table reaches the CockroachDB VPC")
	assert.Equal(t, 3, toEks, "every CockroachDB private route table reaches the EKS VPC")

	var sqlFromEks bool
	for _, rule := range g.OfType(ingressType) {
		if str(rule, "cidrIpv4") == "10.2.0.0/16" && rule.Inputs["fromPort"].NumberValue() == 26257 {
			sqlFromEks = true
		}
	}
	assert.True(t, sqlFromEks, "the EKS VPC must reach SQL on the NLB")
}

func TestEKSClusterShape(t *testing.T) {
	g := run(t, "dev", nil)
	clusters := g.OfType(eksClusterTy)
	require.Len(t, clusters, 1)
	c := clusters[0]
	assert.True(t, c.Inputs["skipDefaultNodeGroup"].BoolValue())
	groups := g.OfType("eks:index:ManagedNodeGroup")
	require.Len(t, groups, 1)
	ng := groups[0]
	assert.Equal(t, "AL2023_x86_64_STANDARD", str(ng, "amiType"))
	scaling := at(resource.NewObjectProperty(ng.Inputs), "scalingConfig")
	assert.Equal(t, 3.0, at(scaling, "desiredSize").NumberValue())
	assert.Equal(t, 1.0, at(scaling, "minSize").NumberValue())
	assert.Equal(t, 4.0, at(scaling, "maxSize").NumberValue())

	providers := g.OfType(k8sProvider)
	require.Len(t, providers, 1, "one explicit Kubernetes provider, never the ambient one")
	assert.Contains(t, providers[0].Dependencies, ng.URN, "the provider waits for the nodes")
}

func TestReleasesArePinnedAndUseTheRenderedConfig(t *testing.T) {
	g := run(t, "dev", nil)
	tags := map[string]string{"hydra": "v2.3.0", "kratos": "v1.3.1", "keto": "v0.14.0"}
	for chart, tag := range tags {
		r := release(t, g, chart)
		in := resource.NewObjectProperty(r.Inputs)
		assert.Equal(t, "0.58.0", str(r, "version"), chart)
		assert.Equal(t, "https://k8s.ory.com/helm/charts", at(in, "repositoryOpts", "repo").StringValue())
		assert.Equal(t, tag, at(in, "values", "image", "tag").StringValue(), chart)
		assert.False(t, at(in, "values", "secret", "enabled").BoolValue(), chart)
		secretName := at(in, "values", "secret", "nameOverride").StringValue()
		assert.Equal(t, "ory-"+chart+"-secrets", secretName)
		assert.True(t, at(in, "values", chart, "automigration", "enabled").BoolValue(), chart)
		assert.Equal(t, 900.0, r.Inputs["timeout"].NumberValue())

		secret := g.Named(secretType, "ory-"+chart)
		require.NotNil(t, secret, "the DSN secret of %s", chart)
		assert.Contains(t, r.Dependencies, secret.URN, "%s waits for its secret", chart)
		dsn := at(resource.NewObjectProperty(secret.Inputs), "stringData", "dsn")
		require.True(t, secretAt(resource.NewObjectProperty(secret.Inputs), "stringData", "dsn"),
			"the DSN is a Pulumi secret")
		assert.Contains(t, plain(dsn), "sslmode=verify-full")
		assert.True(t, strings.HasPrefix(plain(dsn).(string), "cockroach://"+chart+":"))
		assert.NotContains(t, r.Inputs["values"].String(), "dsn", "no DSN in the chart values")
	}
	hydra := resource.NewObjectProperty(release(t, g, "hydra").Inputs)
	assert.Equal(t, "https://auth.dev.example.com/",
		at(hydra, "values", "hydra", "config", "urls", "self", "issuer").StringValue())
	assert.False(t, at(hydra, "values", "hydra", "dev").BoolValue())
	kratos := resource.NewObjectProperty(release(t, g, "kratos").Inputs)
	assert.Equal(t, "https://login.dev.example.com/",
		at(kratos, "values", "kratos", "config", "serve", "public", "base_url").StringValue())
	assert.Contains(t, at(kratos, "values", "kratos", "identitySchemas",
		"identity.default.schema.json").StringValue(), `"email"`)
	keto := resource.NewObjectProperty(release(t, g, "keto").Inputs)
	ns := at(keto, "values", "keto", "config", "namespaces").ArrayValue()
	require.Len(t, ns, 3)
	assert.Equal(t, "documents", at(ns[1], "name").StringValue())
}

func TestAdminServicesAreNotInternetFacing(t *testing.T) {
	for _, stack := range stacksInRepo {
		g := run(t, stack, nil)
		private := map[string]string{"hydra": "admin", "kratos": "admin", "keto": "write"}
		public := map[string]string{"hydra": "public", "kratos": "public", "keto": "read"}
		for chart, svc := range private {
			in := resource.NewObjectProperty(release(t, g, chart).Inputs)
			assert.Equal(t, "ClusterIP", at(in, "values", "service", svc, "type").StringValue(),
				"%s %s in %s", chart, svc, stack)
			pub := at(in, "values", "service", public[chart])
			assert.Equal(t, "LoadBalancer", at(pub, "type").StringValue(), chart)
			assert.Equal(t, "nlb", at(pub, "annotations",
				"service.beta.kubernetes.io/aws-load-balancer-type").StringValue(), chart)
		}
	}
}

func TestPublicServicesAreConfigurable(t *testing.T) {
	g := run(t, "dev", map[string]string{"identity:oryPublicServices": `["hydra-public"]`})
	kratos := resource.NewObjectProperty(release(t, g, "kratos").Inputs)
	assert.Equal(t, "ClusterIP", at(kratos, "values", "service", "public", "type").StringValue())
	hydra := resource.NewObjectProperty(release(t, g, "hydra").Inputs)
	assert.Equal(t, "LoadBalancer", at(hydra, "values", "service", "public", "type").StringValue())
}

func TestProductionReplicasSpreadAndBudget(t *testing.T) {
	g := run(t, "prod", nil)
	for _, chart := range []string{"hydra", "kratos", "keto"} {
		in := resource.NewObjectProperty(release(t, g, chart).Inputs)
		assert.GreaterOrEqual(t, at(in, "values", "replicaCount").NumberValue(), 2.0, chart)
		assert.True(t, at(in, "values", "pdb", "enabled").BoolValue(), chart)
		spread := at(in, "values", "deployment", "topologySpreadConstraints").ArrayValue()
		require.Len(t, spread, 1, chart)
		assert.Equal(t, "topology.kubernetes.io/zone", at(spread[0], "topologyKey").StringValue())
		assert.Equal(t, "DoNotSchedule", at(spread[0], "whenUnsatisfiable").StringValue())
		assert.NotEmpty(t, at(in, "values", "deployment", "resources", "requests").ObjectValue())
	}
}

func TestBootstrapPathFollowsConfig(t *testing.T) {
	cases := []struct {
		mode                string
		wantJobs, wantPgDBs int
	}{
		{"job", 1, 0},
		{"provider", 1, 3}, // the provider path still runs a readiness Job first
	}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			g := run(t, "dev", map[string]string{"identity:databaseBootstrap": tc.mode})
			assert.Len(t, g.OfType(jobType), tc.wantJobs)
			assert.Len(t, g.OfType(pgDatabase), tc.wantPgDBs)
			if tc.mode == "provider" {
				require.Len(t, g.OfType(pgProvider), 1)
				p := g.OfType(pgProvider)[0]
				assert.Equal(t, "verify-full", str(p, "sslmode"))
				assert.False(t, p.Inputs["superuser"].BoolValue())
				assert.NotEmpty(t, str(p, "expectedVersion"))
				ready := g.Named(jobType, "ory-db-ready")
				require.NotNil(t, ready, "a readiness Job runs before the provider connects")
				assert.Contains(t, p.Dependencies, ready.URN)
				assert.Len(t, g.OfType(pgRole), 3)
				assert.Len(t, g.OfType(pgGrant), 6, "database and public schema, per service")
				for _, db := range g.OfType(pgDatabase) {
					assert.True(t, strings.HasPrefix(db.Provider, p.URN+"::"),
						"%s must use the PostgreSQL provider", db.Name)
				}
				return
			}
			job := g.Named(jobType, "ory-db")
			require.NotNil(t, job)
			for _, chart := range []string{"hydra", "kratos", "keto"} {
				assert.Contains(t, release(t, g, chart).Dependencies, job.URN,
					"%s migrates only after the databases exist", chart)
			}
			sql := g.Named(secretType, "ory-db-sql")
			require.NotNil(t, sql)
			script := plain(at(resource.NewObjectProperty(sql.Inputs), "stringData", "bootstrap.sql")).(string)
			for _, db := range []string{"hydra", "kratos", "keto"} {
				assert.Contains(t, script, "CREATE DATABASE IF NOT EXISTS "+db)
				assert.Contains(t, script, "GRANT ALL ON DATABASE "+db+" TO "+db)
			}
		})
	}
}

func TestSharedUserMode(t *testing.T) {
	g := run(t, "dev", map[string]string{"identity:databaseUsers": "shared"})
	for _, chart := range []string{"hydra", "kratos", "keto"} {
		secret := g.Named(secretType, "ory-"+chart)
		require.NotNil(t, secret)
		dsn := plain(at(resource.NewObjectProperty(secret.Inputs), "stringData", "dsn")).(string)
		assert.True(t, strings.HasPrefix(dsn, "cockroach://ory:"), chart)
	}
}

// TestNoDropAnywhere scans every string the program hands to any resource.
func TestNoDropAnywhere(t *testing.T) {
	for _, mode := range []string{"job", "provider"} {
		g := run(t, "dev", map[string]string{"identity:databaseBootstrap": mode})
		for _, r := range g.Resources {
			for _, s := range offline.Strings(resource.NewObjectProperty(r.Inputs)) {
				assert.NotContains(t, strings.ToUpper(s), "DROP ", "%s %s", r.Type, r.Name)
			}
		}
	}
}

func TestEveryOutputIsPresent(t *testing.T) {
	secret := map[string]bool{
		infra.OutCockroachConnection: true, infra.OutCockroachRootKey: true,
		infra.OutKubeconfig: true, infra.OutOryEnv: true,
	}
	all := []string{
		infra.OutCockroachLoadBalancer, infra.OutCockroachConsole, infra.OutCockroachConnection,
		infra.OutCockroachNodeIPs, infra.OutCockroachCACert, infra.OutCockroachRootCert,
		infra.OutCockroachRootKey, infra.OutEKSClusterName, infra.OutKubeconfig,
		infra.OutHydraAdmin, infra.OutHydraPublic, infra.OutKratosAdmin, infra.OutKratosPublic,
		infra.OutKetoRead, infra.OutKetoWrite, infra.OutOryEnv,
	}
	for _, stack := range stacksInRepo {
		g := run(t, stack, nil)
		assert.Len(t, g.Outputs, len(all), "no output beyond the documented ones")
		for _, name := range all {
			v, ok := g.Outputs[resource.PropertyKey(name)]
			require.True(t, ok, "output %s is missing in %s", name, stack)
			assert.Equal(t, secret[name], v.IsSecret(), "secrecy of %s", name)
		}
		env := plain(g.Outputs[resource.PropertyKey(infra.OutOryEnv)]).(string)
		for _, key := range []string{
			"HYDRA_ADMIN_URL=", "HYDRA_PUBLIC_URL=", "KRATOS_ADMIN_URL=",
			"KRATOS_PUBLIC_URL=", "KETO_READ_REMOTE=", "KETO_WRITE_REMOTE=",
		} {
			assert.Contains(t, env, key)
		}
	}
}
