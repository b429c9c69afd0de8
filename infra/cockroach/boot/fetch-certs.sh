#!/bin/bash
# Reads this node's certificates and keys from SSM Parameter Store with the instance role, so no
# key ever sits in user data. Runs before every start, which also picks up rotated certificates.
set -euo pipefail
token=$(curl --fail --silent -X PUT http://169.254.169.254/latest/api/token \
  -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
region=$(curl --fail --silent -H "X-aws-ec2-metadata-token: $token" \
  http://169.254.169.254/latest/meta-data/placement/region)
dir={{.CertsDir}}
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT

fetch() {
  aws ssm get-parameter --region "$region" --name "$1" --with-decryption \
    --query Parameter.Value --output text > "$staging/$2"
}
fetch {{.Params.CACert}} ca.crt
fetch {{.Params.NodeCert}} node.crt
fetch {{.Params.NodeKey}} node.key
{{- if .Params.RootCert}}
fetch {{.Params.RootCert}} client.root.crt
fetch {{.Params.RootKey}} client.root.key
{{- end}}

install -d -m 0700 -o {{.User}} -g {{.User}} "$dir"
for f in "$staging"/*; do
  mode=0644
  case "$f" in *.key) mode=0600 ;; esac
  install -m "$mode" -o {{.User}} -g {{.User}} "$f" "$dir/"
done
