package cockroach

import (
	"fmt"

	"github.com/pulumi/pulumi-tls/sdk/v5/go/tls"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Certificate lifetimes. The CA lasts ten years; leaf certificates last two and are re-issued by
// any `pulumi up` in their last 30 days, after which a node picks them up on its next restart.
const (
	caValidityHours   = 10 * 365 * 24
	leafValidityHours = 2 * 365 * 24
	earlyRenewalHours = 30 * 24
)

// pki holds the cluster's certificates. Keys stay in Pulumi state as secrets and reach the nodes
// only through SSM SecureString parameters.
type pki struct {
	caCert    pulumi.StringOutput
	nodeCerts []pulumi.StringOutput
	nodeKeys  []pulumi.StringOutput
	rootCert  pulumi.StringOutput
	rootKey   pulumi.StringOutput
}

func (b *clusterBuilder) privateKey(name string) (*tls.PrivateKey, error) {
	key, err := tls.NewPrivateKey(b.ctx, name, &tls.PrivateKeyArgs{
		Algorithm: pulumi.String("RSA"),
		RsaBits:   pulumi.Int(2048),
	}, b.parent)
	if err != nil {
		return nil, fmt.Errorf("creating key %s: %w", name, err)
	}
	return key, nil
}

// certificates makes the CA, one node certificate per node and the root client certificate.
// Node certificates name the node's own address, localhost and the load balancer, so that a
// client verifying the host name (sslmode=verify-full) accepts any of the three.
func (b *clusterBuilder) certificates(lbDNSName pulumi.StringOutput) (*pki, error) {
	caKey, err := b.privateKey(b.name + "-ca")
	if err != nil {
		return nil, err
	}
	ca, err := tls.NewSelfSignedCert(b.ctx, b.name+"-ca", &tls.SelfSignedCertArgs{
		PrivateKeyPem:   caKey.PrivateKeyPem,
		IsCaCertificate: pulumi.Bool(true),
		Subject: &tls.SelfSignedCertSubjectArgs{
			CommonName:   pulumi.String("Cockroach CA " + b.name),
			Organization: pulumi.String("Cockroach"),
		},
		ValidityPeriodHours: pulumi.Int(caValidityHours),
		AllowedUses:         pulumi.ToStringArray([]string{"cert_signing", "crl_signing"}),
	}, b.parent)
	if err != nil {
		return nil, fmt.Errorf("creating CA certificate: %w", err)
	}
	out := &pki{caCert: ca.CertPem}
	for _, n := range b.nodes {
		cert, key, err := b.leaf(ca, caKey, leafSpec{
			name:       fmt.Sprintf("%s-node-%d", b.name, n.index),
			commonName: "node",
			dnsNames:   pulumi.StringArray{pulumi.String("localhost"), lbDNSName},
			ips:        pulumi.ToStringArray([]string{n.ip.String(), "127.0.0.1"}),
			uses:       []string{"digital_signature", "key_encipherment", "server_auth", "client_auth"},
		})
		if err != nil {
			return nil, err
		}
		out.nodeCerts = append(out.nodeCerts, cert)
		out.nodeKeys = append(out.nodeKeys, key)
	}
	out.rootCert, out.rootKey, err = b.leaf(ca, caKey, leafSpec{
		name:       b.name + "-client-root",
		commonName: "root",
		uses:       []string{"digital_signature", "key_encipherment", "client_auth"},
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type leafSpec struct {
	name       string
	commonName string
	dnsNames   pulumi.StringArray
	ips        pulumi.StringArray
	uses       []string
}

func (b *clusterBuilder) leaf(ca *tls.SelfSignedCert, caKey *tls.PrivateKey,
	spec leafSpec,
) (pulumi.StringOutput, pulumi.StringOutput, error) {
	var none pulumi.StringOutput
	key, err := b.privateKey(spec.name)
	if err != nil {
		return none, none, err
	}
	csr, err := tls.NewCertRequest(b.ctx, spec.name, &tls.CertRequestArgs{
		PrivateKeyPem: key.PrivateKeyPem,
		Subject: &tls.CertRequestSubjectArgs{
			CommonName:   pulumi.String(spec.commonName),
			Organization: pulumi.String("Cockroach"),
		},
		DnsNames:    spec.dnsNames,
		IpAddresses: spec.ips,
	}, b.parent)
	if err != nil {
		return none, none, fmt.Errorf("creating request %s: %w", spec.name, err)
	}
	cert, err := tls.NewLocallySignedCert(b.ctx, spec.name, &tls.LocallySignedCertArgs{
		CertRequestPem:      csr.CertRequestPem,
		CaCertPem:           ca.CertPem,
		CaPrivateKeyPem:     caKey.PrivateKeyPem,
		ValidityPeriodHours: pulumi.Int(leafValidityHours),
		EarlyRenewalHours:   pulumi.Int(earlyRenewalHours),
		AllowedUses:         pulumi.ToStringArray(spec.uses),
	}, b.parent)
	if err != nil {
		return none, none, fmt.Errorf("signing certificate %s: %w", spec.name, err)
	}
	return cert.CertPem, pulumi.ToSecret(key.PrivateKeyPem).(pulumi.StringOutput), nil
}
