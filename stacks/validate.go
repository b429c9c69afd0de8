package stacks

import (
	"encoding/pem"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/semver"
)

// Validate checks the whole configuration and returns every problem at once. Each message names
// the config key and the values it accepts, so that a preview fails before anything is created.
func (c *Config) Validate() error {
	var v validator
	v.project = c.Project
	v.environment(c)
	v.zones(c)
	v.network(c)
	v.cockroach(c)
	v.eks(c)
	v.database(c)
	v.ory(c)
	if len(v.errs) > 0 {
		return configError(v.errs)
	}
	return nil
}

type validator struct {
	project string
	errs    []error
}

func (v *validator) fail(key, format string, args ...any) {
	if !strings.Contains(key, ":") {
		key = v.project + ":" + key
	}
	v.errs = append(v.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

func (v *validator) environment(c *Config) {
	allowed := []string{EnvDev, EnvStaging, EnvProd}
	if !slices.Contains(allowed, c.Environment) {
		v.fail("environment", "got %q; want one of %s", c.Environment, strings.Join(allowed, ", "))
	}
	if !tagValue.MatchString(c.Owner) {
		v.fail("owner", "got %q; want 1 to 256 letters, digits, spaces or _ . : / = + - @, "+
			"the characters AWS accepts in tag values", c.Owner)
	}
}

var (
	regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	tagValue      = regexp.MustCompile(`^[A-Za-z0-9 _.:/=+\-@]{1,256}$`)
)

// otherPartitions are AWS partitions whose ARNs differ from arn:aws:..., which the program
// writes for the managed policies it attaches.
var otherPartitions = []string{"us-gov-", "cn-", "us-iso"}

func (v *validator) zones(c *Config) {
	if !regionPattern.MatchString(c.Region) {
		v.fail("aws:region", "got %q; want an AWS region such as us-east-1. "+
			"Set it with `pulumi config set aws:region us-east-1`", c.Region)
	}
	for _, prefix := range otherPartitions {
		if strings.HasPrefix(c.Region, prefix) {
			v.fail("aws:region", "got %q; the program supports regions of the aws partition "+
				"only (its IAM policy ARNs start with arn:aws:)", c.Region)
		}
	}
	zones := c.AvailabilityZones
	if len(zones) < 3 {
		v.fail("availabilityZones", "got %d zones; want at least 3 distinct zones of %s",
			len(zones), c.Region)
	}
	seen := map[string]bool{}
	for _, z := range zones {
		if seen[z] {
			v.fail("availabilityZones", "zone %q is listed twice; want distinct zones", z)
		}
		seen[z] = true
		if !isZoneOf(z, c.Region) {
			v.fail("availabilityZones", "zone %q is not in region %s; want names like %sa",
				z, c.Region, c.Region)
		}
	}
}

func isZoneOf(zone, region string) bool {
	suffix, ok := strings.CutPrefix(zone, region)
	return ok && len(suffix) == 1 && suffix[0] >= 'a' && suffix[0] <= 'z'
}

func (v *validator) network(c *Config) {
	crdb, okCrdb := v.vpcCidr("cockroachVpcCidr", c.Network.CockroachVpcCidr)
	eks, okEks := v.vpcCidr("eksVpcCidr", c.Network.EksVpcCidr)
	if okCrdb && okEks && crdb.Overlaps(eks) {
		v.fail("eksVpcCidr", "%s overlaps cockroachVpcCidr %s; the VPCs are peered, "+
			"so they need disjoint blocks", eks, crdb)
	}
	allowed := []string{NATSingle, NATPerAZ}
	if !slices.Contains(allowed, c.Network.NATGateways) {
		v.fail("natGateways", "got %q; want one of %s", c.Network.NATGateways,
			strings.Join(allowed, ", "))
	}
	if c.Production() && c.Network.NATGateways != NATPerAZ {
		v.fail("natGateways", "is %q in prod; want perAz so that losing a zone keeps egress",
			c.Network.NATGateways)
	}
}

// vpcCidr accepts IPv4 blocks from /16 to /22: each VPC is cut into six /(n+4) subnets (three
// private, three public), and AWS allows VPC blocks from /16 to /28.
func (v *validator) vpcCidr(key, value string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(value)
	if err != nil || !p.Addr().Is4() {
		v.fail(key, "got %q; want an IPv4 CIDR block such as 10.1.0.0/16", value)
		return netip.Prefix{}, false
	}
	if p.Masked() != p {
		v.fail(key, "got %q; want the network address %s", value, p.Masked())
		return netip.Prefix{}, false
	}
	if p.Bits() < 16 || p.Bits() > 22 {
		v.fail(key, "got /%d; want a prefix length from /16 to /22", p.Bits())
		return netip.Prefix{}, false
	}
	return p, true
}

func (v *validator) cockroach(c *Config) {
	cr := c.Cockroach
	if !semver.IsValid(cr.Version) || semver.Canonical(cr.Version) != cr.Version ||
		semver.Prerelease(cr.Version) != "" {
		v.fail("cockroachVersion", "got %q; want a pinned release vMAJOR.MINOR.PATCH such as %s",
			cr.Version, DefaultCockroachVersion)
	}
	if cr.BinarySHA256 != "" && !sha256Pattern.MatchString(cr.BinarySHA256) {
		v.fail("cockroachSha256", "got %q; want 64 lowercase hex digits", cr.BinarySHA256)
	}
	v.nodeCount(cr.NodeCount, len(c.AvailabilityZones))
	v.instanceType(c)
	v.between("cockroachRootVolumeGiB", cr.RootVolumeGiB, 8, 1024)
	v.between("cockroachDataVolumeGiB", cr.DataVolumeGiB, 10, 16384)
	v.between("cockroachDataVolumeIops", cr.DataVolumeIops, 3000, 16000)
	v.between("cockroachDataVolumeThroughput", cr.DataVolumeThroughput, 125, 1000)
	v.allowedCidrs(c)
	if !strings.HasPrefix(cr.AmiParameter, "/") {
		v.fail("cockroachAmiParameter", "got %q; want an SSM parameter path starting with /",
			cr.AmiParameter)
	}
}

var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (v *validator) nodeCount(nodes, zones int) {
	if nodes < 3 {
		v.fail("cockroachNodeCount", "got %d; want 3 or more so that a range keeps quorum "+
			"when a node is lost", nodes)
		return
	}
	if zones > 0 && nodes%zones != 0 {
		v.fail("cockroachNodeCount", "got %d; want a multiple of the %d availability zones "+
			"so that every zone holds the same number of nodes", nodes, zones)
	}
}

func (v *validator) between(key string, got, lo, hi int) {
	if got < lo || got > hi {
		v.fail(key, "got %d; want a value from %d to %d", got, lo, hi)
	}
}

func (v *validator) allowedCidrs(c *Config) {
	const key = "cockroachAllowedCidrs"
	for _, s := range c.Cockroach.AllowedCidrs {
		p, ok := v.networkCIDR(key, s)
		switch {
		case !ok:
		case tooBroad(p):
			// The database must never be open to the world, in any environment: SQL and the
			// DB Console are reachable only from the VPCs and the listed networks.
			v.fail(key, "entry %q opens SQL and the DB Console to the whole internet or a large "+
				"part of it; list the client networks instead", s)
		case c.Production() && !insidePrivate(p):
			v.fail(key, "entry %q is a public range, which prod does not accept; want a block "+
				"inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or fc00::/7, reached over "+
				"peering or VPN", s)
		}
	}
	if c.Production() && c.Cockroach.PublicLoadBalancer {
		v.fail("cockroachPublicLoadBalancer", "is true in prod; want false (an internal NLB)")
	}
}

// networkCIDR parses an allowlist entry, which AWS wants as a network address.
func (v *validator) networkCIDR(key, s string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil:
		v.fail(key, "entry %q is not a CIDR block; want e.g. 10.9.0.0/16", s)
		return netip.Prefix{}, false
	case p.Masked() != p:
		v.fail(key, "entry %q has host bits set; want the network address %s", s, p.Masked())
		return netip.Prefix{}, false
	}
	return p, true
}

// tooBroad reports whether a block covers a large part of the internet: 0.0.0.0/0 itself, or
// halves and quarters of it that add up to the same thing.
func tooBroad(p netip.Prefix) bool {
	if p.Addr().Is4() {
		return p.Bits() < 8
	}
	return p.Bits() < 16
}

var privateBlocks = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("fc00::/7"),
}

// insidePrivate reports whether every address of p is private, not only its first one.
func insidePrivate(p netip.Prefix) bool {
	for _, q := range privateBlocks {
		if q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// instanceType enforces CockroachDB's production checklist in prod: no burstable types, at least
// 4 vCPUs and at least 4 GiB of memory per vCPU.
func (v *validator) instanceType(c *Config) {
	const key = "cockroachInstanceType"
	it := c.Cockroach.InstanceType
	shape, err := parseInstanceType(it)
	if err != nil {
		v.fail(key, "got %q; want an EC2 instance type such as m6i.2xlarge: %v", it, err)
		return
	}
	switch {
	case shape.arm:
		v.fail(key, "got %q, an Arm (Graviton) type; want an x86_64 type: the node image and "+
			"the CockroachDB release are x86_64", it)
	case !shape.nitro:
		// Boot finds the store volume by its NVMe serial, which only Nitro types expose.
		v.fail(key, "got %q, which is not a Nitro type; want generation 5 or newer, "+
			"such as m6i.xlarge", it)
	}
	if !c.Production() {
		return
	}
	switch {
	case shape.burstable:
		v.fail(key, "got %q in prod; burstable (t*) types are not accepted, want e.g. m6i.2xlarge", it)
	case shape.vcpus < 4:
		v.fail(key, "got %q with %d vCPUs in prod; want 4 or more (8 preferred)", it, shape.vcpus)
	case shape.gibPerVCPU < 4:
		v.fail(key, "got %q with %d GiB per vCPU in prod; want 4 or more (m, r, x, i or z types)",
			it, shape.gibPerVCPU)
	}
}

type instanceShape struct {
	vcpus      int
	gibPerVCPU int
	burstable  bool
	arm        bool
	nitro      bool
}

// memoryPerVCPU is GiB of memory per vCPU by instance class, for the current x86 and Graviton
// generations (see the EC2 instance type pages). Classes absent here are refused in prod.
var memoryPerVCPU = map[byte]int{'c': 2, 'm': 4, 'r': 8, 'i': 8, 'z': 8, 'x': 16, 't': 4}

// instancePattern splits a type such as m6id.2xlarge into class, generation, attributes,
// size multiplier and size.
var instancePattern = regexp.MustCompile(`^([a-z]+)(\d+)([a-z-]*)\.(\d*)` +
	`(x?large|medium|small|micro|nano|metal(?:-\d+xl)?)$`)

func parseInstanceType(it string) (instanceShape, error) {
	m := instancePattern.FindStringSubmatch(it)
	if m == nil {
		return instanceShape{}, fmt.Errorf("not of the form family.size")
	}
	class, size := m[1][0], m[5]
	generation, _ := strconv.Atoi(m[2])
	vcpus := 1
	switch {
	case strings.HasPrefix(size, "metal"):
		// Bare-metal sizes are the largest of their family; none has fewer than 48 vCPUs.
		vcpus = 48
	case size == "large":
		vcpus = 2
	case size == "xlarge":
		n := 1
		if m[4] != "" {
			n, _ = strconv.Atoi(m[4])
		}
		if n == 0 {
			return instanceShape{}, fmt.Errorf("size %s%s does not exist", m[4], size)
		}
		vcpus = 4 * n
	}
	return instanceShape{
		vcpus:      vcpus,
		gibPerVCPU: memoryPerVCPU[class],
		burstable:  class == 't',
		arm:        strings.Contains(m[3], "g"),
		nitro:      isNitro(m[1], generation, m[3]),
	}, nil
}

// isNitro tells Nitro-based types by generation: 5 and newer, t3 and newer, and the few older
// families rebuilt on Nitro.
func isNitro(family string, generation int, attributes string) bool {
	switch {
	case generation >= 5:
		return true
	case family == "t" && generation >= 3:
		return true
	case family == "i" && generation == 3 && strings.Contains(attributes, "en"):
		return true
	case family == "z" && generation == 1:
		return true
	}
	return false
}

var kubernetesVersionPattern = regexp.MustCompile(`^1\.\d{2}$`)

func (v *validator) eks(c *Config) {
	e := c.EKS
	if !kubernetesVersionPattern.MatchString(e.KubernetesVersion) {
		v.fail("eksKubernetesVersion", "got %q; want an EKS version such as 1.33", e.KubernetesVersion)
	}
	if shape, err := parseInstanceType(e.NodeInstanceType); err != nil {
		v.fail("eksNodeInstanceType", "got %q; want an EC2 instance type such as m5.xlarge",
			e.NodeInstanceType)
	} else if shape.arm {
		v.fail("eksNodeInstanceType", "got %q, an Arm (Graviton) type; want an x86_64 type: "+
			"the node group uses the AL2023 x86_64 image", e.NodeInstanceType)
	}
	if e.NodeMinSize < 1 || e.NodeMinSize > e.NodeDesiredSize || e.NodeDesiredSize > e.NodeMaxSize {
		v.fail("eksNodeDesiredSize", "got min %d, desired %d, max %d; want 1 <= min <= desired <= max",
			e.NodeMinSize, e.NodeDesiredSize, e.NodeMaxSize)
	}
	if c.Production() && e.NodeMinSize < len(c.AvailabilityZones) {
		v.fail("eksNodeMinSize", "got %d in prod; want at least one node per zone (%d)",
			e.NodeMinSize, len(c.AvailabilityZones))
	}
	for _, cidr := range e.PublicAccessCidrs {
		p, ok := v.networkCIDR("eksPublicAccessCidrs", cidr)
		if ok && c.Production() && tooBroad(p) {
			v.fail("eksPublicAccessCidrs", "entry %q opens the Kubernetes API to the internet in "+
				"prod; list the operators' networks", cidr)
		}
	}
}

func (v *validator) database(c *Config) {
	d := c.Database
	v.oneOf("databaseMode", d.Mode, ModeSelfHosted, ModeExternal)
	if d.Mode == ModeExternal {
		v.external(d.External)
	} else {
		v.unusedExternal(d.External)
	}
	v.oneOf("databaseBootstrap", d.Bootstrap, BootstrapJob, BootstrapProvider)
	v.oneOf("databaseUsers", d.Users, UsersPerService, UsersShared)
	v.between("oryDbMaxConns", d.MaxConns, 1, 1000)
	v.between("oryDbMaxIdleConns", d.MaxIdleConns, 0, d.MaxConns)
	if d.MaxConnLifetime < time.Second {
		v.fail("oryDbMaxConnLifetime", "got %s; want 1s or more", d.MaxConnLifetime)
	}
}

func (v *validator) oneOf(key, got string, allowed ...string) {
	if !slices.Contains(allowed, got) {
		v.fail(key, "got %q; want one of %s", got, strings.Join(allowed, ", "))
	}
}

var chartVersionPattern = regexp.MustCompile(`^\d+\.\d+\.\d+$`)

func (v *validator) ory(c *Config) {
	o := c.Ory
	if u, err := url.Parse(o.ChartRepository); err != nil || u.Scheme != "https" || u.Host == "" {
		v.fail("oryChartRepository", "got %q; want an https URL", o.ChartRepository)
	}
	if !chartVersionPattern.MatchString(o.ChartVersion) {
		v.fail("oryChartVersion", "got %q; want a pinned chart version such as 0.58.0", o.ChartVersion)
	}
	for key, tag := range map[string]string{
		"hydraImageTag": o.HydraImageTag, "kratosImageTag": o.KratosImageTag, "ketoImageTag": o.KetoImageTag,
	} {
		if !semver.IsValid(tag) || semver.Canonical(tag) != tag {
			v.fail(key, "got %q; want a pinned release tag vMAJOR.MINOR.PATCH", tag)
		}
	}
	v.publicURL(c, "hydraIssuerUrl", o.HydraIssuerURL)
	v.publicURL(c, "kratosPublicUrl", o.KratosPublicURL)
	v.publicURL(c, "kratosBrowserReturnUrl", o.KratosReturnURL)
	if o.Replicas < 1 || (c.Production() && o.Replicas < 2) {
		v.fail("oryReplicas", "got %d; want 1 or more, and 2 or more in prod", o.Replicas)
	}
	for _, s := range o.PublicServices {
		v.oneOf("oryPublicServices", s, DefaultPublicServices...)
	}
	v.namespaces(o.KetoNamespaces)
	if o.SMTPURI.IsSet() {
		u, err := url.Parse(o.SMTPURI.Reveal())
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
			// The value may hold a password, so it is not echoed.
			v.fail("kratosSmtpUri", "is not an smtp:// or smtps:// URL with a host, such as "+
				"smtps://user:password@mail.example.com:465/")
		}
	}
	v.secretLength("hydraSystemSecret", o.HydraSystemSecret, 32, 0)
	v.secretLength("hydraCookieSecret", o.HydraCookieSecret, 32, 0)
	v.secretLength("kratosDefaultSecret", o.KratosDefaultSecret, 32, 0)
	v.secretLength("kratosCookieSecret", o.KratosCookieSecret, 32, 0)
	v.secretLength("kratosCipherSecret", o.KratosCipherSecret, 32, 32)
}

func (v *validator) publicURL(c *Config, key, raw string) {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		v.fail(key, "is required; want the absolute URL clients reach the service at")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		v.fail(key, "got %q; want an absolute http(s) URL", raw)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Contains(raw, "{{"):
		// The Ory charts pass their configuration through Helm's tpl, so {{ would be executed.
		v.fail(key, "got %q; want a plain URL without user info, query, fragment or {{", raw)
	case c.Production() && u.Scheme != "https":
		v.fail(key, "got %q in prod; want https", raw)
	}
}

var namespacePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func (v *validator) namespaces(names []string) {
	if len(names) == 0 {
		v.fail("ketoNamespaces", "is empty; want at least one namespace name")
	}
	seen := map[string]bool{}
	for _, n := range names {
		if !namespacePattern.MatchString(n) || seen[n] {
			v.fail("ketoNamespaces", "entry %q; want unique names of letters, digits, _ and -", n)
		}
		seen[n] = true
	}
}

func printableASCII(s string) bool {
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return false
		}
	}
	return true
}

// secretLength checks a secret given in config. Absent secrets are generated by the program.
func (v *validator) secretLength(key string, s Secret, minLen, exact int) {
	switch {
	case !s.IsSet():
	case !printableASCII(s.Reveal()):
		// Kratos counts characters, not bytes, and some clients mangle other encodings.
		v.fail(key, "holds characters outside printable ASCII; want letters, digits and "+
			"punctuation only")
	case exact > 0 && s.Len() != exact:
		v.fail(key, "has %d characters; want exactly %d", s.Len(), exact)
	case s.Len() < minLen:
		v.fail(key, "has %d characters; want at least %d", s.Len(), minLen)
	}
}

// external checks the keys of an existing cluster. Each must be filled in, and the example
// stack's REPLACE placeholders are refused by name.
func (v *validator) external(e ExternalDatabase) {
	switch {
	case e.Host == "" || strings.Contains(e.Host, placeholderToken):
		v.fail("externalDbHost", "got %q; want the cluster's SQL host name, for example "+
			"my-cluster-1234.abc.aws-us-east-1.cockroachlabs.cloud", e.Host)
	case !hostName.MatchString(e.Host) && !isIP(e.Host):
		v.fail("externalDbHost", "got %q; want a host name alone, without scheme, port or path",
			e.Host)
	}
	v.between("externalDbPort", e.Port, 1, 65535)
	if e.User == "" || strings.Contains(e.User, placeholderToken) || !sqlUser.MatchString(e.User) {
		v.fail("externalDbUser", "got %q; want a SQL user allowed to create databases and roles",
			e.User)
	}
	if !e.Password.IsSet() {
		v.fail("externalDbPassword", "is required in external mode. Set it with "+
			"`pulumi config set --secret externalDbPassword`")
	}
	if e.SSLMode != SSLVerifyFull {
		v.fail("externalDbSslMode", "got %q; want verify-full, the only mode that checks the "+
			"server's certificate and host name", e.SSLMode)
	}
	if e.CACert != "" {
		if block, _ := pem.Decode([]byte(e.CACert)); block == nil || block.Type != "CERTIFICATE" {
			v.fail("externalDbCaCert", "is not a PEM certificate; want the CA downloaded "+
				"from the cluster's connect dialog, or empty for the system roots")
		}
	}
	if e.Options != "" && !strings.HasPrefix(e.Options, "--") {
		v.fail("externalDbOptions", "got %q; want options such as --cluster=<routing-id>", e.Options)
	}
	v.oneOf("externalDbNetwork", e.Network, NetworkVPC, NetworkInternet)
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

var (
	sqlUser  = regexp.MustCompile(`^[a-z_][a-z0-9_-]*$`)
	hostName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)
)

// unusedExternal refuses external keys in self-hosted mode: a half-configured switch is more
// likely a mistake than an intention.
func (v *validator) unusedExternal(e ExternalDatabase) {
	set := map[string]bool{
		"externalDbHost": e.Host != "", "externalDbUser": e.User != "",
		"externalDbPassword": e.Password.IsSet(), "externalDbCaCert": e.CACert != "",
		"externalDbOptions": e.Options != "",
	}
	for _, key := range []string{
		"externalDbHost", "externalDbUser", "externalDbPassword",
		"externalDbCaCert", "externalDbOptions",
	} {
		if set[key] {
			v.fail(key, "is set, but databaseMode is self-hosted; set databaseMode to external "+
				"or remove the key")
		}
	}
}
