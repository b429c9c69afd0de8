// Package ory renders the configuration files of Ory Hydra, Kratos and Keto from typed settings.
//
// The same functions feed the Helm releases of the cloud stack and the throwaway local stack
// (internal/localstack), so both run the servers with the same configuration. Each settings type
// documents its fields (required or not, default, units, allowed values) and has a Validate method
// whose errors name the configuration key at fault, such as kratos.secrets.cipher, and what it
// accepts.
//
// The package imports no Pulumi code: callers resolve Pulumi outputs first and pass plain values.
package ory
