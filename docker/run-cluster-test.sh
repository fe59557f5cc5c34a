#!/usr/bin/env bash
# The cluster test, from scratch, with rootful podman: installs podman, podman-compose, runc and debootstrap when
# missing (apt-get), makes the debian:bookworm-slim base locally (debootstrap; no registry is needed), builds the
# vrdma-spark image (docker/build-image.sh), then runs docker/compose.yaml twice:
#   shared-shm     both workers mount one tmpfs volume as /dev/shm: ClusterShuffleCheck must find the same
#                  records and checksum as stock shuffle with every remote byte over the shm tier, and both
#                  workers' executors must have attached to the same arena;
#   no-shared-shm  worker2 has a /dev/shm of its own, 64 MiB like a container's default: the job must still pass,
#                  every remote byte over tcp, with worker2's executor saying in one line why shm is off and
#                  worker1's in one line why it uses tcp with worker2.
# Every container, volume and network it creates is removed at the end, whatever happens (images are kept, so
# that the next run builds from cache: `podman rmi localhost/vrdma-spark:latest` removes the image).
#
#   docker/run-cluster-test.sh        prints PASS or FAIL last; exit 0 (PASS), 1 (FAIL), 3 (cannot run here)
# Environment: SKIP_MVN=1 reuses the jars in */target; DEBIAN_MIRROR (default: the host's apt mirror, else
# http://deb.debian.org/debian);
# VRDMA_RECORDS (default 100000 records of 1 KiB); CLIENT_TIMEOUT_S (default 600). Logs: docker/target/cluster-test/.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
project=vrdma-test
image=localhost/vrdma-spark:latest
base=docker.io/library/debian:bookworm-slim
logs="$here/target/cluster-test"
# the Debian mirror this host's apt uses (the one reachable here), unless DEBIAN_MIRROR says otherwise
host_mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
  | grep -oE 'https?://[^ ]*/debian/?( |$)' | grep -v security | head -1 | tr -d ' ' || true)"
mirror="${DEBIAN_MIRROR:-${host_mirror:-http://deb.debian.org/debian}}"
client_timeout="${CLIENT_TIMEOUT_S:-600}"
started=$(date +%s)

say() { echo "cluster-test [$(( $(date +%s) - started )) s]: $*"; }
not_run() { echo "cluster-test: NOT RUN: $*"; exit 3; }
fail() { echo "FAIL: $*"; exit 1; }

if [ "$(id -u)" != 0 ]; then
  not_run "needs root (rootful podman; apt-get for podman, podman-compose, runc, debootstrap); running as $(id -un)"
fi
if [ "$(uname -s)" != Linux ]; then
  not_run "needs Linux, not $(uname -s)"
fi

# --- tools -------------------------------------------------------------------------------------------------------
missing=()
for tool in podman podman-compose runc debootstrap; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || not_run "${missing[*]} missing and no apt-get to install them"
  say "installing ${missing[*]} (apt-get)"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman podman-compose runc \
      debootstrap >/dev/null; }; then
    not_run "apt-get could not install podman podman-compose runc debootstrap"
  fi
fi
for tool in mvn java; do
  command -v "$tool" >/dev/null 2>&1 || not_run "$tool is missing (Java 17 and Maven build the plugin)"
done

# podman's settings for this run only (the host's containers.conf is left alone): runc, because crun refuses
# cgroups in hybrid mode; limits that an unprivileged host kernel accepts; events to a file, not syslog.
work="$(mktemp -d /tmp/vrdma-cluster-test.XXXXXX)"
cat > "$work/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
events_logger = "file"
EOF
export CONTAINERS_CONF="$work/containers.conf"
compose=(podman-compose -p "$project" -f "$here/compose.yaml")

teardown() {
  # everything the compose project made, even if podman-compose failed half-way
  "${compose[@]}" down >/dev/null 2>&1
  local ids
  ids="$(podman ps -aq --filter "label=io.podman.compose.project=$project" 2>/dev/null)"
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086 # one id per word
    podman rm -f $ids >/dev/null 2>&1
  fi
  podman network rm -f "${project}_default" >/dev/null 2>&1
  podman volume rm -f vrdma-shm vrdma-shm-private >/dev/null 2>&1
}
cleanup() {
  teardown
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "FAIL: interrupted"; exit 1' INT TERM
mkdir -p "$logs"
rm -f "$logs"/*.log
teardown # what a killed earlier run may have left

# --- base image and the vrdma-spark image ------------------------------------------------------------------------
podman info >/dev/null 2>&1 || not_run "podman does not work here: $(podman info 2>&1 | tail -1)"
if ! podman image exists "$base"; then
  say "making $base with debootstrap --variant=minbase bookworm ($mirror)"
  if ! debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" > "$logs/debootstrap.log" 2>&1; then
    tail -5 "$logs/debootstrap.log"
    fail "debootstrap failed (log: $logs/debootstrap.log)"
  fi
  tar -C "$work/rootfs" -c . | podman import - localhost/debian:bookworm > "$logs/import.log" 2>&1 \
    || fail "podman import failed: $(tail -1 "$logs/import.log")"
  podman tag localhost/debian:bookworm "$base" || fail "podman tag failed"
  rm -rf "$work/rootfs"
fi
# A host that cannot start containers at all (no overlay, no cgroups, a container without privileges) is not a
# failure of the project: say so and stop.
if ! err="$(podman run --rm --pull=never "$base" true 2>&1)"; then
  not_run "podman cannot start a container here: $(echo "$err" | tail -1)"
fi
say "building $image"
if ! "$here/build-image.sh" "$image" > "$logs/build-image.log" 2>&1; then
  tail -20 "$logs/build-image.log"
  fail "image build failed (log: $logs/build-image.log)"
fi
podman image prune -f >/dev/null 2>&1 # the untagged images that earlier builds of the same tag left behind

# --- one cluster run ---------------------------------------------------------------------------------------------
# run_case <name> <worker2's /dev/shm volume> <tier expected between the workers>
run_case() {
  local name="$1" worker2_shm="$2" tier="$3"
  teardown
  # 2 GiB shared (the arena is 1 GiB, conf/spark-defaults.conf); 64 MiB private, a container's default /dev/shm.
  # tmpfs pages are taken only when written. podman-compose ignores driver_opts: the volumes are made here.
  podman volume create --opt type=tmpfs --opt device=tmpfs --opt o=nr_blocks=524288,mode=1777 vrdma-shm \
    >/dev/null || return 1
  podman volume create --opt type=tmpfs --opt device=tmpfs --opt o=nr_blocks=16384,mode=1777 vrdma-shm-private \
    >/dev/null || return 1
  say "$name: cluster up (worker2's /dev/shm: $worker2_shm; expecting $tier between the workers)"
  if ! VRDMA_IMAGE="$image" VRDMA_WORKER2_SHM="$worker2_shm" VRDMA_EXPECT_TIER="$tier" \
      VRDMA_RECORDS="${VRDMA_RECORDS:-100000}" "${compose[@]}" up -d > "$logs/$name-compose-up.log" 2>&1; then
    tail -5 "$logs/$name-compose-up.log"
    echo "$name: podman-compose up failed"
    return 1
  fi
  local client="${project}_client_1" rc
  rc="$(timeout "$client_timeout" podman wait "$client" 2>&1)" || rc="timeout after $client_timeout s"
  for svc in master worker1 worker2 client; do
    podman logs "${project}_${svc}_1" > "$logs/$name-$svc.log" 2>&1
  done
  for w in worker1 worker2; do
    podman exec "${project}_${w}_1" sh -c 'cat /opt/spark/work/*/*/stderr' > "$logs/$name-$w-executors.log" 2>&1
  done
  grep -E '^(stock|vrdma|CHECK|RESULT)' "$logs/$name-client.log" | sed "s/^/  $name client: /"
  teardown
  if [ "$rc" != 0 ]; then
    tail -30 "$logs/$name-client.log"
    echo "$name: client exit status $rc"
    return 1
  fi
  grep -q '^RESULT PASS' "$logs/$name-client.log" || { echo "$name: no RESULT PASS from the client"; return 1; }
  say "$name: job passed; executors' logs:"
  local w1="$logs/$name-worker1-executors.log" w2="$logs/$name-worker2-executors.log" line
  for f in "$w1" "$w2"; do
    line="$(grep -m1 'vRDMA shuffle on executor' "$f")" || { echo "$name: no start-up line in $f"; return 1; }
    echo "  ${line#*INFO }"
  done
  if [ "$tier" = shm ]; then
    # both executors attached to one arena, through the volume the two containers share
    local a1 a2
    a1="$(grep -m1 -o 'attached to shm arena /dev/shm/vrdma-arena ([0-9a-f-]*)' "$w1")"
    a2="$(grep -m1 -o 'attached to shm arena /dev/shm/vrdma-arena ([0-9a-f-]*)' "$w2")"
    echo "  worker1: $a1"
    echo "  worker2: $a2"
    if [ -z "$a1" ] || [ "$a1" != "$a2" ]; then
      echo "$name: the workers' executors did not attach to the same arena"
      return 1
    fi
  else
    # the one line on each side that says why tcp carried the blocks
    local off peer
    off="$(grep -m1 -o 'shm off: cannot create shm arena .*bytes free[^;]*' "$w2")" \
      || { echo "$name: worker2's executor does not say why shm is off"; return 1; }
    peer="$(grep -m1 -o 'vRDMA transport: tcp with .*preferred tiers not usable with it: shm: .*' "$w1")" \
      || { echo "$name: worker1's executor does not say why it uses tcp with worker2"; return 1; }
    echo "  worker2: $off"
    echo "  worker1: $peer"
  fi
  say "$name: passed"
}

failed=()
run_case shared-shm vrdma-shm shm || failed+=(shared-shm)
run_case no-shared-shm vrdma-shm-private tcp || failed+=(no-shared-shm)
total=$(( $(date +%s) - started ))
if [ ${#failed[@]} -gt 0 ]; then
  fail "${failed[*]} (in $total s; logs in $logs)"
fi
echo "PASS: Spark standalone cluster in podman: stock and vRDMA shuffle agree; shm carried the remote bytes between" \
  "workers sharing /dev/shm, tcp (with the reason logged) when they do not ($total s)"
