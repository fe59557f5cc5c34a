#!/usr/bin/env bash
# The IVSHMEM bench: two QEMU guests share one ivshmem-plain device; in each, a JVM maps the device's
# BAR (/sys/bus/pci/devices/<bdf>/resource2) as the shm arena. Guest 1 publishes a region and blocks,
# guest 2 reads them through the shm tier (control messages over the guests' private link), next to
# memcpy in the same guest, and prints the table and PASS or FAIL. Exit status 0 only on PASS.
#
#   benchmarks/vm/ivshmem-bench.sh [rounds=7] [sizes=65536,1048576,16777216]
#
# Builds benchmarks/target/vrdma-benchmarks.jar first when it is missing (VRDMA_BENCH_JAR overrides).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
JAR="${VRDMA_BENCH_JAR:-$ROOT/benchmarks/target/vrdma-benchmarks.jar}"
if [ ! -f "$JAR" ]; then
  echo "ivshmem-bench: building $JAR" >&2
  (cd "$ROOT" && mvn -B -ntp -q -pl benchmarks -am package -DskipTests) >&2
fi
JAR="$(cd "$(dirname "$JAR")" && pwd)/$(basename "$JAR")"
ARGS=""
[ $# -gt 0 ] && ARGS=$(printf '%q ' "$@")

# A 256 MiB BAR holds the 64 MiB region and the 32 MiB of blocks, with room to spare.
exec "$ROOT/benchmarks/vm/vm.sh" run --guests 2 --ivshmem-mib 256 --mem 2048 --timeout "${VRDMA_BENCH_TIMEOUT:-900}" \
  --share "$(dirname "$JAR"):ro" -- bash -c '
    java_opts="-XX:MaxDirectMemorySize=1g -Dorg.slf4j.simpleLogger.defaultLogLevel=warn"
    common="arena=$VRDMA_IVSHMEM_BAR host=$VRDMA_IP_ADDR"
    echo "guest $VRDMA_GUEST: IVSHMEM BAR $VRDMA_IVSHMEM_BAR ($(stat -c %s "$VRDMA_IVSHMEM_BAR") bytes)"
    if [ "$VRDMA_GUEST" = 1 ]; then
      exec java $java_opts -cp '"$(printf %q "$JAR")"' io.vrdma.bench.IvshmemBench serve $common
    else
      exec java $java_opts -cp '"$(printf %q "$JAR")"' io.vrdma.bench.IvshmemBench read $common server=$VRDMA_PEER_IP '"$ARGS"'
    fi'
