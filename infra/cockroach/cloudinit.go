package cockroach

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"

	"sigs.k8s.io/yaml"
)

// Paths on the node. The store lives on its own EBS volume mounted at DataDir.
const (
	CertsDir     = "/etc/cockroach/certs"
	DataDir      = "/var/lib/cockroach"
	StoreDir     = DataDir + "/store"
	BinaryPath   = "/usr/local/bin/cockroach"
	SQLPort      = 26257
	HTTPPort     = 8080
	serviceUser  = "cockroach"
	timeSyncAddr = "169.254.169.123"
)

// NodeBoot is everything one node needs to configure itself at first boot.
type NodeBoot struct {
	// Index is the node's position in the cluster, from 0. Node 0 initialises the cluster.
	Index int
	// Version is the pinned release, for example v25.2.4.
	Version string
	// SHA256 is the expected tarball checksum; empty means "use the published checksum file".
	SHA256 string
	// Region and Zone feed --locality.
	Region, Zone string
	// PrivateIP is the node's own fixed address, used for --advertise-addr.
	PrivateIP string
	// JoinAddrs lists every node's address, this one included.
	JoinAddrs []string
	// DataVolumeID is the EBS volume that holds the store, for example vol-0123.
	DataVolumeID string
	// Params names the SSM parameters that hold this node's certificates and keys.
	Params CertParams
}

// CertParams names SSM parameters. Keys are SecureString; certificates are plain String.
type CertParams struct {
	CACert, NodeCert, NodeKey string
	// RootCert and RootKey are set for node 0 only, which runs `cockroach init`.
	RootCert, RootKey string
}

// StartArgs is the `cockroach start` command line of a node, one flag per element.
func (b NodeBoot) StartArgs() []string {
	join := make([]string, len(b.JoinAddrs))
	for i, a := range b.JoinAddrs {
		join[i] = fmt.Sprintf("%s:%d", a, SQLPort)
	}
	return []string{
		BinaryPath, "start",
		"--certs-dir=" + CertsDir,
		"--store=path=" + StoreDir,
		fmt.Sprintf("--listen-addr=:%d", SQLPort),
		fmt.Sprintf("--advertise-addr=%s:%d", b.PrivateIP, SQLPort),
		fmt.Sprintf("--http-addr=:%d", HTTPPort),
		"--join=" + strings.Join(join, ","),
		fmt.Sprintf("--locality=region=%s,zone=%s", b.Region, b.Zone),
		"--cache=.25",
		"--max-sql-memory=.25",
	}
}

//go:embed boot
var bootFiles embed.FS

var bootTemplates = template.Must(template.New("boot").Funcs(template.FuncMap{
	"join": strings.Join,
}).ParseFS(bootFiles, "boot/*"))

type writeFile struct {
	Path        string `json:"path"`
	Permissions string `json:"permissions"`
	Owner       string `json:"owner"`
	Content     string `json:"content"`
}

type cloudConfig struct {
	WriteFiles []writeFile `json:"write_files"`
	RunCmd     [][]string  `json:"runcmd"`
}

// bootView is what the templates see.
type bootView struct {
	NodeBoot
	StartCommand string
	User         string
	CertsDir     string
	DataDir      string
	StoreDir     string
	BinaryPath   string
	TimeSyncAddr string
	HTTPPort     int
	SQLPort      int
	DeviceID     string
}

// RenderCloudInit renders the node's cloud-init user data. It holds no secret: certificates
// and keys are read from SSM Parameter Store at boot, with the node's own instance role.
func RenderCloudInit(b NodeBoot) (string, error) {
	if err := b.validate(); err != nil {
		return "", err
	}
	view := bootView{
		NodeBoot:     b,
		StartCommand: strings.Join(b.StartArgs(), " "),
		User:         serviceUser,
		CertsDir:     CertsDir,
		DataDir:      DataDir,
		StoreDir:     StoreDir,
		BinaryPath:   BinaryPath,
		TimeSyncAddr: timeSyncAddr,
		HTTPPort:     HTTPPort,
		SQLPort:      SQLPort,
		// Nitro instances expose EBS volumes as NVMe devices whose serial is the volume ID
		// without its dash; udev links them under this name.
		DeviceID: "nvme-Amazon_Elastic_Block_Store_" + strings.ReplaceAll(b.DataVolumeID, "-", ""),
	}
	files := []struct{ tmpl, path, mode string }{
		{"chrony.conf", "/etc/chrony.conf", "0644"},
		{"install.sh", "/usr/local/sbin/cockroach-install", "0755"},
		{"data-volume.sh", "/usr/local/sbin/cockroach-data-volume", "0755"},
		{"fetch-certs.sh", "/usr/local/sbin/cockroach-fetch-certs", "0755"},
		{"cockroach.service", "/etc/systemd/system/cockroach.service", "0644"},
		{"cockroach-certs.service", "/etc/systemd/system/cockroach-certs.service", "0644"},
		{"cockroach-certs.timer", "/etc/systemd/system/cockroach-certs.timer", "0644"},
	}
	units := []string{"chronyd", "cockroach", "cockroach-certs.timer"}
	if b.Index == 0 {
		files = append(files,
			struct{ tmpl, path, mode string }{"init.sh", "/usr/local/sbin/cockroach-init", "0755"},
			struct{ tmpl, path, mode string }{
				"cockroach-init.service",
				"/etc/systemd/system/cockroach-init.service", "0644",
			})
		units = append(units, "cockroach-init")
	}
	cfg := cloudConfig{}
	for _, f := range files {
		content, err := execute(f.tmpl, view)
		if err != nil {
			return "", err
		}
		cfg.WriteFiles = append(cfg.WriteFiles, writeFile{
			Path: f.path, Permissions: f.mode, Owner: "root:root", Content: content,
		})
	}
	cfg.RunCmd = bootCommands(units)
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("encoding cloud-config: %w", err)
	}
	return "#cloud-config\n" + string(out), nil
}

// bootCommands runs the steps in order. Each step fails the boot loudly rather than starting a
// node on the root volume or without its certificates.
func bootCommands(units []string) [][]string {
	cmds := [][]string{
		{"useradd", "--system", "--home-dir", DataDir, "--shell", "/sbin/nologin", serviceUser},
		{"/usr/local/sbin/cockroach-install"},
		{"/usr/local/sbin/cockroach-data-volume"},
		{"systemctl", "daemon-reload"},
		{"systemctl", "restart", "chronyd"},
	}
	for _, u := range units[1:] {
		if !strings.Contains(u, ".") {
			u += ".service"
		}
		cmds = append(cmds, []string{"systemctl", "enable", "--now", u})
	}
	return cmds
}

func execute(name string, view bootView) (string, error) {
	var buf bytes.Buffer
	if err := bootTemplates.ExecuteTemplate(&buf, name, view); err != nil {
		return "", fmt.Errorf("rendering %s: %w", name, err)
	}
	return buf.String(), nil
}

func (b NodeBoot) validate() error {
	switch {
	case b.Version == "":
		return fmt.Errorf("node %d: no CockroachDB version", b.Index)
	case b.PrivateIP == "" || len(b.JoinAddrs) == 0:
		return fmt.Errorf("node %d: addresses are missing", b.Index)
	case !strings.HasPrefix(b.DataVolumeID, "vol-"):
		return fmt.Errorf("node %d: data volume ID %q is not a vol- ID", b.Index, b.DataVolumeID)
	case b.Params.CACert == "" || b.Params.NodeCert == "" || b.Params.NodeKey == "":
		return fmt.Errorf("node %d: certificate parameters are missing", b.Index)
	case b.Index == 0 && (b.Params.RootCert == "" || b.Params.RootKey == ""):
		return fmt.Errorf("node 0 initialises the cluster and needs the root client parameters")
	}
	return nil
}
