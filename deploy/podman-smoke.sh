#!/usr/bin/env bash
# The three-node smoke test of the image, by hand (deploy/README.md, "Tried here"): the command
# lines of compose.yaml with `podman run` on a podman network, a write on one node read on the
# others, the health checks, the leader killed (SIGKILL) and the two others still serving.
# Not a meson test: it needs the image (podman build, minutes) and root podman.
#
#   deploy/podman-smoke.sh [IMAGE]        # default localhost/strata:latest
# Environment: PODMAN_RUNTIME (passed as --runtime), HOST_PORT_BASE (default 18000: node N is
# published on 127.0.0.1:BASE+N), KEEP=1 keeps the containers, volumes and network afterwards.
# Prints what it sees; exits 1 when a step fails.
set -euo pipefail
image=${1:-localhost/strata:latest}
base=${HOST_PORT_BASE:-18000}
runtime=(); [[ -n ${PODMAN_RUNTIME:-} ]] && runtime=(--runtime "$PODMAN_RUNTIME")
net=strata-smoke
work=$(mktemp -d)
peers=1=strata-1:9000,2=strata-2:9000,3=strata-3:9000
fail() { echo "FAIL: $*"; exit 1; }
cleanup() {
  if [[ ${KEEP:-} != 1 ]]; then
    for n in 1 2 3; do podman rm -f strata-$n >/dev/null 2>&1 || true; podman volume rm strata-$n-data >/dev/null 2>&1 || true; done
    podman network rm $net >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

openssl rand -hex 32 > "$work/peer_secret"
chown 10001:10001 "$work/peer_secret" && chmod 0400 "$work/peer_secret"   # the image's user reads it
podman network create $net >/dev/null
for n in 1 2 3; do
  podman run -d "${runtime[@]}" --name strata-$n --hostname strata-$n --network $net \
    -p 127.0.0.1:$((base + n)):8000 -v strata-$n-data:/var/lib/strata \
    -v "$work/peer_secret:/run/secrets/peer_secret:ro" -e STRATA_ALLOWED_HOSTS=strata-1,strata-2,strata-3 \
    "$image" --node-id $n --peers $peers --listen 0.0.0.0:8000 --peer-listen 0.0.0.0:9000 \
    --peer-secret-file /run/secrets/peer_secret >/dev/null
done
c() { podman exec "$1" curl -s --max-time 3 "${@:2}"; }   # curl inside container $1
put() { c "$1" -X PUT -H 'Content-Type: application/octet-stream' --data-binary "$3" -w ' %{http_code}' \
          "http://127.0.0.1:8000/v1/kv/$2" || true; }
status() { c "$1" http://127.0.0.1:8000/status | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"; }

start=$(date +%s)
for _ in $(seq 1 60); do
  ready=0
  for n in 1 2 3; do [[ $(c strata-$n http://127.0.0.1:8000/readyz || true) == '{"ready":true}' ]] && ready=$((ready + 1)); done
  ((ready == 3)) && break
  sleep 1
done
((ready == 3)) || fail "only $ready of 3 nodes ready (GET /readyz) after 60 s"
echo "ready: 3 of 3 nodes after $(($(date +%s) - start)) s"
out=$(put strata-1 k v1); [[ $out == *' 200' ]] || fail "PUT on strata-1: $out"
echo "write on strata-1: $out"
[[ $(c strata-2 http://127.0.0.1:8000/v1/kv/k) == v1 ]] || fail "strata-2 does not read k"
# By name: podman's DNS server (aardvark-dns 1.4) stops answering for a while whenever a container
# starts or stops elsewhere (README.md, "Tried here"), so this read may need a few tries.
for tries in $(seq 1 20); do
  [[ $(c strata-1 http://strata-3:8000/v1/kv/k || true) == v1 ]] && break
  sleep 1
done
[[ $(c strata-1 http://strata-3:8000/v1/kv/k) == v1 ]] || fail "strata-3 (by its name, from strata-1) does not read k"
((tries == 1)) || echo "(the read by name took $tries tries: no DNS answer in the container before)"
[[ $(curl -s --max-time 3 http://127.0.0.1:$((base + 2))/v1/kv/k) == v1 ]] || fail "no read through the published port $((base + 2))"
echo "read k=v1 on strata-2, on strata-3 by its service name, and from the host through 127.0.0.1:$((base + 2))"
for n in 1 2 3; do podman healthcheck run strata-$n >/dev/null 2>&1 || fail "strata-$n: the image's HEALTHCHECK failed"; done
echo "health checks (the image's HEALTHCHECK): 3 of 3 healthy"
leader=$(status strata-1 'd["leader"]["id"]')
live=(); for n in 1 2 3; do [[ $n != "$leader" ]] && live+=("$n"); done
killed=$(date +%s%N)
podman kill "strata-$leader" >/dev/null
echo "killed the leader, strata-$leader (SIGKILL)"
for _ in $(seq 1 60); do
  out=$(put "strata-${live[0]}" k2 v2); [[ $out == *' 200' ]] && break
  sleep 0.5
done
[[ $out == *' 200' ]] || fail "no write accepted on strata-${live[0]} within 30 s of the kill: $out"
echo "write on strata-${live[0]} accepted $(( ($(date +%s%N) - killed) / 1000000 )) ms after the kill: $out"
[[ $(c "strata-${live[1]}" http://127.0.0.1:8000/v1/kv/k2) == v2 && $(c "strata-${live[1]}" http://127.0.0.1:8000/v1/kv/k) == v1 ]] ||
  fail "strata-${live[1]} does not read k2 and k"
echo "read k2=v2 and k=v1 on strata-${live[1]}; leader now: $(status "strata-${live[1]}" 'd["leader"]')"
echo "smoke: ok"
