#!/usr/bin/env bash
# Creates the fixture the maintenance examples run against, under /tmp/rex-examples.
set -euo pipefail
root=/tmp/rex-examples
rm -rf "$root"
mkdir -p "$root/app" "$root/cache"
printf 'listen = 8080\nworkers = 4\n' > "$root/app/app.conf"
for i in $(seq 1 50); do
  if [ $((i % 10)) -eq 0 ]; then echo "2026-11-21T10:00:$i ERROR request $i failed"; else echo "2026-11-21T10:00:$i INFO request $i ok"; fi
done > "$root/app/app.log"
for f in old-a.bin old-b.bin; do printf 'stale' > "$root/cache/$f"; touch -d '30 days ago' "$root/cache/$f"; done
printf 'fresh' > "$root/cache/new.bin"
