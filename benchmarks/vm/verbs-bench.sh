#!/usr/bin/env bash
# Bench 1 — the verbs tier in a Soft-RoCE guest (QEMU/TCG, benchmarks/vm/vm.sh):
#   1. the verbs conformance suite (VerbsTransportConformanceTest) under the JUnit console launcher,
#   2. a block-transfer fetch between two JVMs over the verbs tier, every byte checked, staged through a
#      verbs registration window (verbs.maxRegisteredBytes) eight times smaller than the blocks fetched,
#   3. RDMA READ throughput and latency per block size, ours next to ib_read_bw / ib_read_lat run in
#      the same guest on the same device, with the ratios.
#
#   VRDMA_LIBDISNI=/path/to/libdisni.so benchmarks/vm/verbs-bench.sh [--sizes 4k,64k,1m,4m] [--seconds 5]
#
# libdisni.so must be built from DiSNI's 2.1 release (the project does not ship it). Without
# VRDMA_LIBDISNI the bench says so and does not run (exit status 3, NOT RUN, as vm.sh's when the machine
# cannot run guests). Results go to benchmark-results/verbs-bench-*.txt.
# Needs root on the host (vm.sh builds the guest image with debootstrap on first use).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VM_SH="${VRDMA_VM_SH:-$HERE/vm.sh}"
SIZES=4k,64k,1m,4m
SECONDS_PER_SIZE=5

die() { echo "verbs-bench: error: $*" >&2; exit 2; }

# ---------------------------------------------------------------------------------------------
# Inside the guest: everything under test runs here; $1 is the host-built work directory.
guest() {
  local work=$1 sizes=$2 secs=$3
  local libdir; libdir=$(dirname "$VRDMA_LIBDISNI")
  local ip=${VRDMA_IP_ADDR:-10.0.2.15} dev=rxe0 status=0
  local jopts=(--add-exports java.base/sun.nio.ch=ALL-UNNAMED "-Djava.library.path=$libdir"
               -Dorg.slf4j.simpleLogger.log.com.ibm.disni=warn -Djava.io.tmpdir=/tmp)
  echo "== guest: $(uname -r), $(nproc) vCPUs, device:"
  ibv_devinfo -d "$dev" | grep -E 'hca_id|transport|state|active_mtu|link_layer' || die "no $dev in the guest"
  ibv_devinfo -v -d "$dev" | grep -E 'max_qp_rd_atom|max_qp_init_rd_atom'

  echo "== 1. verbs conformance suite"
  # inherited by the suite's peer JVMs: C1 only (under emulation C2 costs more than it saves), less logging
  export JAVA_TOOL_OPTIONS="-XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=warn"
  # the launcher on the JVM's own class path: the suite's peer JVMs inherit java.class.path
  if java "${jopts[@]}" -Xmx768m -Dvrdma.test.peerStartSeconds=300 -Dvrdma.test.readTimeoutMs=30000 \
       -cp "$(cat "$work/test-classpath"):$work/junit-platform-console-standalone.jar" \
       org.junit.platform.console.ConsoleLauncher execute --disable-banner --details=tree \
       --select-class io.vrdma.transport.conformance.VerbsTransportConformanceTest \
       --select-class io.vrdma.transport.verbs.VerbsProbeTest \
       --fail-if-no-tests; then
    echo "conformance: PASS"
  else
    echo "conformance: FAIL"; status=1
  fi

  unset JAVA_TOOL_OPTIONS
  echo "== 2. block fetch between two JVMs over verbs"
  local bench=/tmp/verbs-bench; mkdir -p "$bench"
  mkfifo "$bench/stdin"
  java "${jopts[@]}" -Xmx512m -cp "$work/vrdma-benchmarks.jar" io.vrdma.bench.VerbsBench serve "$bench" \
    < "$bench/stdin" > "$bench/serve.log" 2>&1 &
  local server=$!
  exec 7> "$bench/stdin"   # holding the fifo open keeps the serving JVM running
  if java "${jopts[@]}" -Xmx512m -cp "$work/vrdma-benchmarks.jar" io.vrdma.bench.VerbsBench blocks "$bench" \
       2> "$bench/blocks.log"; then
    echo "block fetch: PASS"
  else
    echo "block fetch: FAIL"; status=1
    tail -20 "$bench/blocks.log"
  fi
  grep -h 'VerbsBench serving' "$bench/serve.log" || true

  echo "== 3. per size, one after the other: our reads, ib_read_bw (device-max outstanding reads, then as"
  echo "      many as ours), ib_read_lat; all on $dev in this guest"
  local s bytes window
  window=$(sed -n 's/.* \([0-9]*\) reads in flight per queue pair.*/\1/p' "$bench/serve.log" | head -1)
  : > "$bench/ours.txt"; : > "$bench/perftest.txt"
  for s in ${sizes//,/ }; do
    bytes=$(to_bytes "$s")
    java "${jopts[@]}" -Xmx512m -Dvrdma.bench.lanes="${window:-32}" -cp "$work/vrdma-benchmarks.jar" \
      io.vrdma.bench.VerbsBench reads "$bench" "$bytes" "$secs" >> "$bench/ours.txt" 2> "$bench/reads.log" \
      || { echo "our reads of $bytes bytes: FAIL"; tail -20 "$bench/reads.log"; status=1; }
    local bw bwo lat iters
    bw=$(perf_bw "$bytes" "$secs" "" "$ip")
    bwo=$(perf_bw "$bytes" "$secs" "-o ${window:-32}" "$ip")
    # about as many one-at-a-time reads as ours get in their half of the time (each is slow under TCG)
    iters=$(( bytes >= 1048576 ? 50 : (bytes >= 65536 ? 300 : 1000) ))
    ib_read_lat -d "$dev" -F -s "$bytes" -n "$iters" -p 18516 > "$bench/lat-server.log" 2>&1 &
    local lat_server=$!
    sleep 1
    lat=$(ib_read_lat -d "$dev" -F -s "$bytes" -n "$iters" -p 18516 "$ip" 2>&1 \
      | awk -v b="$bytes" '$1 == b && NF >= 6 {print $5, $6}' | tail -1)
    wait "$lat_server" 2>/dev/null || true
    echo "$bytes ${bw:-nan} ${bwo:-nan} ${lat:-nan nan}" >> "$bench/perftest.txt"
  done
  exec 7>&-
  wait "$server" || { echo "serving JVM failed:"; tail -20 "$bench/serve.log"; status=1; }
  # the block fetch went through a verbs registration window an eighth of the blocks' size (issue 14)
  grep -h 'VerbsBench staging window' "$bench/serve.log" || true

  echo "== results (Gb/s = 10^9 bit/s; latency: microseconds per read, one read at a time)"
  echo "   ours: ${window:-32} reads in flight; ib_read_bw: device maximum outstanding reads, ib_read_bw -o: ${window:-32}"
  printf '%-9s %9s %11s %6s %14s %6s %11s %11s %6s\n' size ours_Gb/s ib_read_bw ratio "ib_read_bw_-o" ratio \
    ours_lat_us ib_read_lat ratio
  awk 'NR == FNR { t[$1] = $2 * 1048576 * 8 / 1e9; l[$1] = $3; next }
       { r = ($2 > 0) ? t[$1] / $2 : 0; ro = ($3 > 0) ? t[$1] / $3 : 0; q = (l[$1] > 0) ? $4 / l[$1] : 0;
         printf "%-9s %9.3f %11.3f %6.2f %14.3f %6.2f %11.1f %11.2f %6.2f\n", $1, t[$1], $2, r, $3, ro, l[$1], $4, q }' \
    "$bench/ours.txt" "$bench/perftest.txt"
  echo "(throughput ratio = ours / ib_read_bw; latency ratio = ib_read_lat typical / our median: >= 1 is as fast)"
  return $status
}

# Runs one ib_read_bw server and client pair; prints the client's average Gb/s.
perf_bw() {
  local bytes=$1 secs=$2 extra=$3 ip=$4
  # shellcheck disable=SC2086
  ib_read_bw -d rxe0 -F -s "$bytes" -D "$secs" --report_gbits $extra -p 18515 > /tmp/verbs-bench/bw-server.log 2>&1 &
  local server=$!
  sleep 1
  # shellcheck disable=SC2086
  ib_read_bw -d rxe0 -F -s "$bytes" -D "$secs" --report_gbits $extra -p 18515 "$ip" 2>&1 \
    | awk -v b="$bytes" '$1 == b && NF >= 4 {print $4}' | tail -1
  wait "$server" 2>/dev/null || true
}

to_bytes() {
  local v=${1,,}
  case "$v" in
    *k) echo $(( ${v%k} * 1024 )) ;;
    *m) echo $(( ${v%m} * 1048576 )) ;;
    *) echo "$v" ;;
  esac
}

if [ "${1:-}" = --in-guest ]; then
  shift
  guest "$@"
  exit $?
fi

# ---------------------------------------------------------------------------------------------
# On the host: build, hand the guest a class path, boot it, keep the output.
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) SIZES=$2; shift 2 ;;
    --seconds) SECONDS_PER_SIZE=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

if [ -z "${VRDMA_LIBDISNI:-}" ]; then
  echo "verbs-bench: NOT RUN: VRDMA_LIBDISNI is not set. Build libdisni.so from DiSNI's 2.1 release"
  echo "verbs-bench: (https://github.com/zrlio/disni, tag v2.1, libdisni/) and set VRDMA_LIBDISNI to its path."
  exit 3
fi
[ -f "$VRDMA_LIBDISNI" ] || die "VRDMA_LIBDISNI=$VRDMA_LIBDISNI names no file"
[ "$(basename "$VRDMA_LIBDISNI")" = libdisni.so ] || die "VRDMA_LIBDISNI must name a file called libdisni.so"
VRDMA_LIBDISNI=$(cd "$(dirname "$VRDMA_LIBDISNI")" && pwd)/libdisni.so
export VRDMA_LIBDISNI
[ -x "$VM_SH" ] || die "no VM bench at $VM_SH (set VRDMA_VM_SH)"

WORK="$REPO/target/verbs-bench"
mkdir -p "$WORK" "$REPO/benchmark-results"
echo "verbs-bench: building (mvn package, tests not run) ..." >&2
(cd "$REPO" && mvn -B -ntp -q -pl benchmarks -am -DskipTests package)
(cd "$REPO" && mvn -B -ntp -q -pl vrdma-transport dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$WORK/classpath.deps")
echo "$REPO/vrdma-transport/target/test-classes:$REPO/vrdma-transport/target/classes:$(cat "$WORK/classpath.deps")" \
  > "$WORK/test-classpath"
# JUnit Jupiter 5.x runs on JUnit Platform 1.x of the same minor and patch
JUNIT_PLATFORM=$(sed -n 's|.*<junit.version>5\.\(.*\)</junit.version>.*|1.\1|p' "$REPO/pom.xml")
(cd "$REPO" && mvn -B -ntp -q -N dependency:copy \
  -Dartifact="org.junit.platform:junit-platform-console-standalone:$JUNIT_PLATFORM" -DoutputDirectory="$WORK" \
  -Dmdep.stripVersion=true)
cp "$REPO/benchmarks/target/vrdma-benchmarks.jar" "$WORK/"

OUT="$REPO/benchmark-results/verbs-bench-$(date -u +%Y%m%dT%H%M%SZ).txt"
echo "verbs-bench: booting the Soft-RoCE guest; output also in $OUT" >&2
set +e
"$VM_SH" run --mem 3072 --smp 2 --timeout 2400 --share "$REPO" --share "$HOME/.m2:ro" \
  --share "$(dirname "$VRDMA_LIBDISNI"):ro" \
  -- bash "$HERE/verbs-bench.sh" --in-guest "$WORK" "$SIZES" "$SECONDS_PER_SIZE" 2>&1 | tee "$OUT"
status=${PIPESTATUS[0]}
set -e
echo "verbs-bench: exit status $status" | tee -a "$OUT"
exit "$status"
