#!/bin/bash
# Initialises the cluster once. Retries until the nodes answer, with a growing pause, and treats
# "already initialized" as success, so reboots and replacements of node 0 are harmless.
set -uo pipefail
delay=2
for attempt in $(seq 1 60); do
  out=$({{.BinaryPath}} init --certs-dir={{.CertsDir}} --host={{.PrivateIP}}:{{.SQLPort}} 2>&1)
  status=$?
  if [ $status -eq 0 ]; then
    echo "cluster initialised"
    exit 0
  fi
  if echo "$out" | grep -qi "already been initialized"; then
    echo "cluster was already initialised"
    exit 0
  fi
  echo "attempt $attempt: $out" >&2
  sleep "$delay"
  delay=$(( delay < 30 ? delay * 2 : 30 ))
done
echo "the cluster did not answer cockroach init" >&2
exit 1
