#!/bin/bash
# Mounts the store volume at {{.DataDir}}. The volume outlives the instance, so it is formatted
# only when it holds no file system yet: a replaced node finds its data where it left it.
set -euo pipefail
device=/dev/disk/by-id/{{.DeviceID}}
for _ in $(seq 1 120); do
  [ -e "$device" ] && break
  sleep 5
done
if [ ! -e "$device" ]; then
  echo "data volume {{.DataVolumeID}} never appeared at $device" >&2
  exit 1
fi
if ! blkid "$device" >/dev/null 2>&1; then
  mkfs.ext4 -L cockroach-data "$device"
fi
uuid=$(blkid -s UUID -o value "$device")
mkdir -p {{.DataDir}}
if ! grep -q "$uuid" /etc/fstab; then
  echo "UUID=$uuid {{.DataDir}} ext4 defaults,noatime,nofail 0 2" >> /etc/fstab
fi
mountpoint -q {{.DataDir}} || mount {{.DataDir}}
mkdir -p {{.StoreDir}}
chown -R {{.User}}:{{.User}} {{.DataDir}}
chmod 0700 {{.DataDir}}
