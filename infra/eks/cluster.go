// Package eks builds the Kubernetes cluster that runs Ory: an EKS control plane, one managed
// node group of Amazon Linux 2023 nodes in private subnets, and a Kubernetes provider bound to
// that cluster.
package eks

import (
	"encoding/json"
	"fmt"

	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-eks/sdk/v2/go/eks"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ClusterArgs configures a Cluster.
type ClusterArgs struct {
	// KubernetesVersion is the control plane version, such as 1.33. Required.
	KubernetesVersion string
	// VpcID, PrivateSubnetIDs and PublicSubnetIDs place the cluster. Nodes use the private
	// subnets; internet-facing load balancers use the public ones. Required.
	VpcID            pulumi.StringInput
	PrivateSubnetIDs pulumi.StringArrayInput
	PublicSubnetIDs  pulumi.StringArrayInput
	// NodeInstanceType and the sizes shape the managed node group. Required; min <= desired <=
	// max.
	NodeInstanceType                          string
	NodeDesiredSize, NodeMinSize, NodeMaxSize int
	// PublicAccessCidrs may reach the public API endpoint. Required, non-empty.
	PublicAccessCidrs []string
	// Tags go on every AWS resource. Optional.
	Tags map[string]string
}

// Cluster is an EKS cluster with its nodes and a provider for deploying into it.
type Cluster struct {
	pulumi.ResourceState

	// Name is the EKS cluster name.
	Name pulumi.StringOutput `pulumi:"clusterName"`
	// Kubeconfig is a kubeconfig for the cluster, as JSON. Secret: pulumi-eks does not mark it.
	Kubeconfig pulumi.StringOutput `pulumi:"kubeconfig"`
	// Provider deploys into the cluster once the nodes exist.
	Provider *kubernetes.Provider
}

// nodePolicies are the AWS managed policies every EKS worker node needs.
var nodePolicies = []string{
	"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
	"arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
	"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
}

// NewCluster builds the cluster.
func NewCluster(ctx *pulumi.Context, name string, args *ClusterArgs,
	opts ...pulumi.ResourceOption,
) (*Cluster, error) {
	if args.NodeMinSize < 1 || args.NodeMinSize > args.NodeDesiredSize ||
		args.NodeDesiredSize > args.NodeMaxSize {
		return nil, fmt.Errorf("eks cluster %s: node sizes min %d, desired %d, max %d are out of order",
			name, args.NodeMinSize, args.NodeDesiredSize, args.NodeMaxSize)
	}
	c := &Cluster{}
	if err := ctx.RegisterComponentResource("identity:eks:Cluster", name, c, opts...); err != nil {
		return nil, fmt.Errorf("registering eks cluster %s: %w", name, err)
	}
	parent := pulumi.Parent(c)
	tags := pulumi.ToStringMap(args.Tags)

	role, err := nodeRole(ctx, name+"-nodes", tags, parent)
	if err != nil {
		return nil, fmt.Errorf("eks cluster %s: %w", name, err)
	}
	skip := true
	noPublicIP := false
	authMode := eks.AuthenticationModeApi
	cluster, err := eks.NewCluster(ctx, name, &eks.ClusterArgs{
		Name:                         pulumi.String(name),
		Version:                      pulumi.String(args.KubernetesVersion),
		VpcId:                        args.VpcID,
		PrivateSubnetIds:             args.PrivateSubnetIDs,
		PublicSubnetIds:              args.PublicSubnetIDs,
		EndpointPrivateAccess:        pulumi.Bool(true),
		EndpointPublicAccess:         pulumi.Bool(true),
		PublicAccessCidrs:            pulumi.ToStringArray(args.PublicAccessCidrs),
		NodeAssociatePublicIpAddress: &noPublicIP,
		// The v2 default node group uses launch configurations, which new AWS accounts can no
		// longer create; the managed node group below replaces it.
		SkipDefaultNodeGroup: &skip,
		AuthenticationMode:   &authMode,
		InstanceRoles:        iam.RoleArray{role},
		CreateOidcProvider:   pulumi.Bool(true),
		EnabledClusterLogTypes: pulumi.ToStringArray([]string{
			"api", "audit", "authenticator",
		}),
		Tags: tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("eks cluster %s: creating control plane: %w", name, err)
	}
	nodes, err := eks.NewManagedNodeGroup(ctx, name+"-nodes", &eks.ManagedNodeGroupArgs{
		Cluster:       cluster,
		AmiType:       pulumi.String("AL2023_x86_64_STANDARD"),
		InstanceTypes: pulumi.ToStringArray([]string{args.NodeInstanceType}),
		NodeRole:      role,
		SubnetIds:     args.PrivateSubnetIDs,
		ScalingConfig: &awseks.NodeGroupScalingConfigArgs{
			DesiredSize: pulumi.Int(args.NodeDesiredSize),
			MinSize:     pulumi.Int(args.NodeMinSize),
			MaxSize:     pulumi.Int(args.NodeMaxSize),
		},
		Tags: tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("eks cluster %s: creating node group: %w", name, err)
	}

	// An explicit provider, never the ambient kubeconfig: releases must land in this cluster,
	// and only once nodes exist to run their pods.
	provider, err := kubernetes.NewProvider(ctx, name, &kubernetes.ProviderArgs{
		Kubeconfig: cluster.KubeconfigJson,
	}, parent, pulumi.DependsOn([]pulumi.Resource{nodes}))
	if err != nil {
		return nil, fmt.Errorf("eks cluster %s: creating kubernetes provider: %w", name, err)
	}

	c.Name = pulumi.String(name).ToStringOutput()
	c.Kubeconfig = pulumi.ToSecret(cluster.KubeconfigJson).(pulumi.StringOutput)
	c.Provider = provider
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"clusterName": c.Name,
		"kubeconfig":  c.Kubeconfig,
	}); err != nil {
		return nil, fmt.Errorf("registering eks cluster %s outputs: %w", name, err)
	}
	return c, nil
}

func nodeRole(ctx *pulumi.Context, name string, tags pulumi.StringMap,
	parent pulumi.ResourceOption,
) (*iam.Role, error) {
	trust, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect":    "Allow",
			"Action":    "sts:AssumeRole",
			"Principal": map[string]string{"Service": "ec2.amazonaws.com"},
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("encoding node trust policy: %w", err)
	}
	role, err := iam.NewRole(ctx, name, &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(trust),
		Tags:             tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating node role: %w", err)
	}
	for i, arn := range nodePolicies {
		if _, err := iam.NewRolePolicyAttachment(ctx, fmt.Sprintf("%s-%d", name, i),
			&iam.RolePolicyAttachmentArgs{Role: role.Name, PolicyArn: pulumi.String(arn)},
			parent); err != nil {
			return nil, fmt.Errorf("attaching %s: %w", arn, err)
		}
	}
	return role, nil
}
