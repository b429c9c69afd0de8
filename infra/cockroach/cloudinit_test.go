package cockroach

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

func sampleBoot(index int) NodeBoot {
	b := NodeBoot{
		Index:        index,
		Version:      "v25.2.4",
		Region:       "us-east-1",
		Zone:         "us-east-1b",
		PrivateIP:    "10.1.16.10",
		JoinAddrs:    []string{"10.1.0.10", "10.1.16.10", "10.1.32.10"},
		DataVolumeID: "vol-0123456789abcdef0",
		Params: CertParams{
			CACert: "/p/ca.crt", NodeCert: "/p/node-1/node.crt", NodeKey: "/p/node-1/node.key",
		},
	}
	if index == 0 {
		b.Params.RootCert, b.Params.RootKey = "/p/client.root.crt", "/p/client.root.key"
	}
	return b
}

func TestRenderCloudInitIsValidCloudConfig(t *testing.T) {
	out, err := RenderCloudInit(sampleBoot(1))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(out, "#cloud-config\n"))

	var doc cloudConfig
	require.NoError(t, yaml.Unmarshal([]byte(out), &doc))
	paths := map[string]string{}
	for _, f := range doc.WriteFiles {
		paths[f.Path] = f.Content
	}
	unit := paths["/etc/systemd/system/cockroach.service"]
	require.NotEmpty(t, unit)
	assert.Contains(t, unit, "User=cockroach")
	assert.Contains(t, unit, "--advertise-addr=10.1.16.10:26257")
	assert.Contains(t, unit, "--locality=region=us-east-1,zone=us-east-1b")
	assert.NotContains(t, paths, "/etc/systemd/system/cockroach-init.service",
		"only node 0 runs cockroach init")
	assert.Contains(t, paths["/usr/local/sbin/cockroach-data-volume"],
		"nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0")
	assert.NotContains(t, paths["/usr/local/sbin/cockroach-fetch-certs"], "client.root",
		"nodes other than 0 never read the root key")
	assert.Contains(t, paths["/etc/systemd/system/cockroach-certs.service"], "SIGHUP",
		"renewed certificates are reloaded without a restart")
	assert.Contains(t, paths["/etc/systemd/system/cockroach-certs.timer"], "OnUnitActiveSec=1d")
	assert.Contains(t, doc.RunCmd, []string{"systemctl", "enable", "--now", "cockroach-certs.timer"})
}

func TestRenderCloudInitNodeZeroInitialises(t *testing.T) {
	out, err := RenderCloudInit(sampleBoot(0))
	require.NoError(t, err)
	assert.Contains(t, out, "cockroach-init.service")
	assert.Contains(t, out, "already been initialized", "init must be idempotent")
	assert.NotContains(t, out, "sleep 60", "no fixed sleep before init")
}

func TestRenderCloudInitPinsChecksumWhenGiven(t *testing.T) {
	b := sampleBoot(1)
	b.SHA256 = strings.Repeat("ab", 32)
	out, err := RenderCloudInit(b)
	require.NoError(t, err)
	assert.Contains(t, out, "expected="+b.SHA256)
}

func TestRenderCloudInitRejectsIncompleteInput(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*NodeBoot)
	}{
		{"no version", func(b *NodeBoot) { b.Version = "" }},
		{"no join list", func(b *NodeBoot) { b.JoinAddrs = nil }},
		{"not a volume id", func(b *NodeBoot) { b.DataVolumeID = "disk-1" }},
		{"no key parameter", func(b *NodeBoot) { b.Params.NodeKey = "" }},
		{"node 0 without root client", func(b *NodeBoot) { b.Index = 0 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := sampleBoot(1)
			tc.mutate(&b)
			_, err := RenderCloudInit(b)
			assert.Error(t, err)
		})
	}
}

func TestStartArgs(t *testing.T) {
	args := sampleBoot(1).StartArgs()
	assert.Equal(t, []string{
		"/usr/local/bin/cockroach", "start",
		"--certs-dir=/etc/cockroach/certs",
		"--store=path=/var/lib/cockroach/store",
		"--listen-addr=:26257",
		"--advertise-addr=10.1.16.10:26257",
		"--http-addr=:8080",
		"--join=10.1.0.10:26257,10.1.16.10:26257,10.1.32.10:26257",
		"--locality=region=us-east-1,zone=us-east-1b",
		"--cache=.25",
		"--max-sql-memory=.25",
	}, args)
}
