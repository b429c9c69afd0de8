package cockroach

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ebs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// dataDevice is where the store volume is attached. Nitro instances rename it to an NVMe device;
// boot finds it by volume ID instead.
const dataDevice = "/dev/sdf"

// nodeParams are one node's SSM parameters and the names boot reads them by.
type nodeParams struct {
	names     CertParams
	resources []pulumi.Resource
	arns      pulumi.StringArray
}

// parameters stores certificates (String) and keys (SecureString) in SSM Parameter Store.
func (b *clusterBuilder) parameters(p *pki) ([]nodeParams, error) {
	prefix := b.args.ParameterPrefix
	ca, err := b.parameter("ca-crt", prefix+"/ca.crt", "String", p.caCert)
	if err != nil {
		return nil, err
	}
	rootCert, err := b.parameter("client-root-crt", prefix+"/client.root.crt", "String", p.rootCert)
	if err != nil {
		return nil, err
	}
	rootKey, err := b.parameter("client-root-key", prefix+"/client.root.key", "SecureString",
		p.rootKey)
	if err != nil {
		return nil, err
	}
	out := make([]nodeParams, len(b.nodes))
	for i, n := range b.nodes {
		dir := fmt.Sprintf("%s/node-%d", prefix, n.index)
		cert, err := b.parameter(fmt.Sprintf("node-%d-crt", n.index), dir+"/node.crt", "String",
			p.nodeCerts[i])
		if err != nil {
			return nil, err
		}
		key, err := b.parameter(fmt.Sprintf("node-%d-key", n.index), dir+"/node.key",
			"SecureString", p.nodeKeys[i])
		if err != nil {
			return nil, err
		}
		np := nodeParams{
			names:     CertParams{CACert: prefix + "/ca.crt", NodeCert: dir + "/node.crt", NodeKey: dir + "/node.key"},
			resources: []pulumi.Resource{ca, cert, key},
			arns:      pulumi.StringArray{ca.Arn, cert.Arn, key.Arn},
		}
		// Only node 0 runs `cockroach init`, so only node 0 may read the root client key.
		if n.index == 0 {
			np.names.RootCert = prefix + "/client.root.crt"
			np.names.RootKey = prefix + "/client.root.key"
			np.resources = append(np.resources, rootCert, rootKey)
			np.arns = append(np.arns, rootCert.Arn, rootKey.Arn)
		}
		out[i] = np
	}
	return out, nil
}

func (b *clusterBuilder) parameter(suffix, path, kind string,
	value pulumi.StringOutput,
) (*ssm.Parameter, error) {
	name := b.name + "-" + suffix
	p, err := ssm.NewParameter(b.ctx, name, &ssm.ParameterArgs{
		Name:  pulumi.String(path),
		Type:  pulumi.String(kind),
		Value: pulumi.ToSecret(value).(pulumi.StringOutput),
		Tier:  pulumi.String("Standard"),
		Tags:  b.tags(name),
	}, b.parent)
	if err != nil {
		return nil, fmt.Errorf("storing %s: %w", path, err)
	}
	return p, nil
}

// instances creates the nodes and returns them with their store volume attachments.
func (b *clusterBuilder) instances(sg *ec2.SecurityGroup,
	params []nodeParams,
) ([]*ec2.Instance, []pulumi.Resource, error) {
	subnets := b.args.SubnetIDs.ToStringArrayOutput()
	var out []*ec2.Instance
	var attachments []pulumi.Resource
	for i, n := range b.nodes {
		inst, attachment, err := b.instance(n, sg, subnets.Index(pulumi.Int(n.subnet)), params[i])
		if err != nil {
			return nil, nil, fmt.Errorf("node %d: %w", n.index, err)
		}
		out = append(out, inst)
		attachments = append(attachments, attachment)
	}
	return out, attachments, nil
}

func (b *clusterBuilder) instance(n node, sg *ec2.SecurityGroup, subnetID pulumi.StringOutput,
	params nodeParams,
) (*ec2.Instance, *ec2.VolumeAttachment, error) {
	name := fmt.Sprintf("%s-node-%d", b.name, n.index)

	// The interface exists before the instance so that every node's address is fixed up front:
	// the --join list and the certificates need all of them, and no instance waits on another.
	eni, err := ec2.NewNetworkInterface(b.ctx, name, &ec2.NetworkInterfaceArgs{
		SubnetId:       subnetID,
		PrivateIps:     pulumi.StringArray{pulumi.String(n.ip.String())},
		SecurityGroups: pulumi.StringArray{sg.ID()},
		Description:    pulumi.String("CockroachDB node " + fmt.Sprint(n.index)),
		Tags:           b.tags(name),
	}, b.parent)
	if err != nil {
		return nil, nil, fmt.Errorf("creating network interface: %w", err)
	}
	volume, err := b.dataVolume(name, n.zone)
	if err != nil {
		return nil, nil, err
	}
	profile, policy, err := b.instanceProfile(name, params.arns)
	if err != nil {
		return nil, nil, err
	}
	userData := volume.ID().ApplyT(func(id pulumi.ID) (string, error) {
		return RenderCloudInit(b.boot(n, string(id), params.names))
	}).(pulumi.StringOutput)

	deps := append([]pulumi.Resource{policy}, params.resources...)
	inst, err := ec2.NewInstance(b.ctx, name, &ec2.InstanceArgs{
		Ami:                b.args.AmiID,
		InstanceType:       pulumi.String(b.args.InstanceType),
		IamInstanceProfile: profile.Name,
		NetworkInterfaces: ec2.InstanceNetworkInterfaceArray{&ec2.InstanceNetworkInterfaceArgs{
			DeviceIndex:        pulumi.Int(0),
			NetworkInterfaceId: eni.ID(),
		}},
		MetadataOptions: &ec2.InstanceMetadataOptionsArgs{
			HttpEndpoint:            pulumi.String("enabled"),
			HttpTokens:              pulumi.String("required"),
			HttpPutResponseHopLimit: pulumi.Int(1),
		},
		RootBlockDevice: &ec2.InstanceRootBlockDeviceArgs{
			VolumeType:          pulumi.String("gp3"),
			VolumeSize:          pulumi.Int(b.args.RootVolumeGiB),
			Encrypted:           pulumi.Bool(true),
			DeleteOnTermination: pulumi.Bool(true),
			Tags:                b.tags(name + "-root"),
		},
		EbsOptimized: pulumi.Bool(true),
		Monitoring:   pulumi.Bool(true),
		UserData:     userData,
		Tags:         b.tags(name),
	}, b.parent, pulumi.DependsOn(deps),
		// A replacement must release the fixed interface and the store volume before its
		// successor can take them, so the old instance goes first.
		pulumi.DeleteBeforeReplace(true),
		// A change to any of these would stop every node at once: Pulumi updates the nodes in
		// parallel, and a user-data or type change is a stop and start. A new version in user
		// data would not even install, since cloud-init runs once per instance. They apply
		// when a node is replaced, one at a time (see "Upgrading CockroachDB" in the README).
		pulumi.IgnoreChanges([]string{"ami", "userData", "instanceType"}))
	if err != nil {
		return nil, nil, fmt.Errorf("creating instance: %w", err)
	}
	attachment, err := ec2.NewVolumeAttachment(b.ctx, name+"-data", &ec2.VolumeAttachmentArgs{
		DeviceName:                  pulumi.String(dataDevice),
		VolumeId:                    volume.ID(),
		InstanceId:                  inst.ID(),
		StopInstanceBeforeDetaching: pulumi.Bool(true),
	}, b.parent)
	if err != nil {
		return nil, nil, fmt.Errorf("attaching data volume: %w", err)
	}
	return inst, attachment, nil
}

func (b *clusterBuilder) boot(n node, volumeID string, params CertParams) NodeBoot {
	return NodeBoot{
		Index:        n.index,
		Version:      b.args.Version,
		SHA256:       b.args.SHA256,
		Region:       b.args.Region,
		Zone:         n.zone,
		PrivateIP:    n.ip.String(),
		JoinAddrs:    b.nodeIPs(),
		DataVolumeID: volumeID,
		Params:       params,
	}
}

// dataVolume is the store. It is a resource of its own, not a block device of the instance, so
// it survives instance replacement, and RetainOnDelete keeps it even through `pulumi destroy`.
func (b *clusterBuilder) dataVolume(name, zone string) (*ebs.Volume, error) {
	vol, err := ebs.NewVolume(b.ctx, name+"-data", &ebs.VolumeArgs{
		AvailabilityZone: pulumi.String(zone),
		Type:             pulumi.String("gp3"),
		Size:             pulumi.Int(b.args.DataVolumeGiB),
		Iops:             pulumi.Int(b.args.DataVolumeIops),
		Throughput:       pulumi.Int(b.args.DataVolumeThroughput),
		Encrypted:        pulumi.Bool(true),
		Tags:             b.tags(name + "-data"),
	}, b.parent, pulumi.RetainOnDelete(true))
	if err != nil {
		return nil, fmt.Errorf("creating data volume: %w", err)
	}
	return vol, nil
}

// sessionManagerActions are what the SSM agent needs for Session Manager and no more. The AWS
// managed policy AmazonSSMManagedInstanceCore is not used because it also grants
// ssm:GetParameter on every parameter, which would let each node read the others' keys.
var sessionManagerActions = []string{
	"ssm:UpdateInstanceInformation",
	"ssmmessages:CreateControlChannel",
	"ssmmessages:CreateDataChannel",
	"ssmmessages:OpenControlChannel",
	"ssmmessages:OpenDataChannel",
	"ec2messages:AcknowledgeMessage",
	"ec2messages:DeleteMessage",
	"ec2messages:FailMessage",
	"ec2messages:GetEndpoint",
	"ec2messages:GetMessages",
	"ec2messages:SendReply",
}

type policyDocument struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Effect    string         `json:"Effect"`
	Action    []string       `json:"Action"`
	Resource  any            `json:"Resource,omitempty"`
	Principal map[string]any `json:"Principal,omitempty"`
}

// instanceProfile gives one node a role of its own: Session Manager, and read access to its own
// certificate parameters only.
func (b *clusterBuilder) instanceProfile(name string,
	paramARNs pulumi.StringArray,
) (*iam.InstanceProfile, *iam.RolePolicy, error) {
	trust, err := json.Marshal(policyDocument{Version: "2012-10-17", Statement: []policyStatement{{
		Effect:    "Allow",
		Action:    []string{"sts:AssumeRole"},
		Principal: map[string]any{"Service": "ec2.amazonaws.com"},
	}}})
	if err != nil {
		return nil, nil, fmt.Errorf("encoding trust policy: %w", err)
	}
	role, err := iam.NewRole(b.ctx, name, &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(trust),
		Description:      pulumi.String("CockroachDB node: Session Manager and its own certificates"),
		Tags:             b.tags(name),
	}, b.parent)
	if err != nil {
		return nil, nil, fmt.Errorf("creating role: %w", err)
	}
	policyJSON := paramARNs.ToStringArrayOutput().ApplyT(func(arns []string) (string, error) {
		doc, err := json.Marshal(policyDocument{Version: "2012-10-17", Statement: []policyStatement{
			{Effect: "Allow", Action: sessionManagerActions, Resource: "*"},
			{Effect: "Allow", Action: []string{"ssm:GetParameter"}, Resource: arns},
		}})
		return string(doc), err
	}).(pulumi.StringOutput)
	policy, err := iam.NewRolePolicy(b.ctx, name, &iam.RolePolicyArgs{
		Role:   role.Name,
		Policy: policyJSON,
	}, b.parent)
	if err != nil {
		return nil, nil, fmt.Errorf("attaching role policy: %w", err)
	}
	profile, err := iam.NewInstanceProfile(b.ctx, name, &iam.InstanceProfileArgs{
		Role: role.Name,
		Tags: b.tags(name),
	}, b.parent)
	if err != nil {
		return nil, nil, fmt.Errorf("creating instance profile: %w", err)
	}
	return profile, policy, nil
}
