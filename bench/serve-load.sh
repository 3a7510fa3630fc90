#!/usr/bin/env bash
# Load benchmark of `rex serve`: N trivial jobs (`40 + 2`) from C concurrent clients over
# loopback; prints jobs/s and p50/p99 latency (submit until the REX document is back).
#
# usage: bench/serve-load.sh [N] [C]      (defaults: N=500 C=8)
# env:   MAX_CONCURRENT  jobs the server runs at once (default: number of CPUs)
#        SANDBOX         off|auto|required for every job (default auto)
#        REX             a prebuilt rex binary (default: cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-500}
C=${2:-8}
SANDBOX=${SANDBOX:-auto}
MAX_CONCURRENT=${MAX_CONCURRENT:-$(nproc)}
if [ -z "${REX:-}" ]; then
  cargo build --release --locked -q --bin rex
  REX=${CARGO_TARGET_DIR:-$PWD/target}/release/rex
fi
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
TOKEN=$("$REX" serve new-token 2>/dev/null)
HASH=$(printf '%s' "$TOKEN" | "$REX" serve hash-token)
: > "$WORK/policy.cedar"
cat > "$WORK/rex-server.toml" <<TOML
listen = "127.0.0.1:0"
data_dir = "data"
sandbox = "$SANDBOX"
[limits]
max_concurrent = $MAX_CONCURRENT
max_queue = $((N + C))
[[token]]
$HASH
principal = "bench"
policy = "policy.cedar"
TOML
"$REX" serve --config "$WORK/rex-server.toml" 2> "$WORK/serve.log" &
SERVER_PID=$!
for _ in $(seq 100); do
  grep -q 'listening on' "$WORK/serve.log" 2>/dev/null && break
  sleep 0.1
done
ADDR=$(sed -n 's/^rex serve: listening on http:\/\///p' "$WORK/serve.log")
[ -n "$ADDR" ] || { cat "$WORK/serve.log"; exit 1; }
echo "rex serve on $ADDR: $N jobs, $C clients, max_concurrent $MAX_CONCURRENT, sandbox $SANDBOX, $(nproc) CPUs"
python3 - "$ADDR" "$TOKEN" "$N" "$C" <<'PY'
import http.client, json, sys, threading, time
addr, token, n, c = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
host, port = addr.rsplit(":", 1)
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
lat, errors, lock = [], [], threading.Lock()
counter = iter(range(n))
def client():
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    while True:
        with lock:
            i = next(counter, None)
        if i is None:
            return
        t0 = time.perf_counter()
        conn.request("POST", "/v1/jobs", json.dumps({"script": "40 + 2"}), headers)
        r = conn.getresponse(); body = json.loads(r.read())
        if r.status != 202:
            errors.append(r.status); continue
        conn.request("GET", f"/v1/jobs/{body['id']}?wait=60", headers=headers)
        r = conn.getresponse(); job = json.loads(r.read())
        dt = time.perf_counter() - t0
        with lock:
            if job["status"]["state"] == "succeeded" and job["document"]["output"] == "42":
                lat.append(dt)
            else:
                errors.append(job["status"])
start = time.perf_counter()
threads = [threading.Thread(target=client) for _ in range(c)]
for t in threads: t.start()
for t in threads: t.join()
wall = time.perf_counter() - start
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
print(f"completed {len(lat)}/{n} (errors {len(errors)}) in {wall:.2f}s: "
      f"{len(lat) / wall:.1f} jobs/s, latency p50 {pct(0.50):.1f} ms, p99 {pct(0.99):.1f} ms")
sys.exit(1 if errors else 0)
PY
