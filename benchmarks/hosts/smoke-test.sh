#!/usr/bin/env bash
# CI smoke test of the separate-hosts cluster (benchmarks/hosts/run-hosts.sh --smoke): a Spark standalone master
# and two workers, each worker in its own network namespace with its own local dirs, the two workers "co-resident"
# (one /dev/shm between them), unshaped links; the synthetic job shuffles 50 MB (50000 x 1 KiB records) once on
# stock shuffle and once on ours (tiers shm,tcp). PASS when both read the same records back (count and checksum),
# the executors ran on the two worker hosts, and every remote byte of ours went over shm (the block clients'
# counters equal Spark's remote-bytes-read metric), none over tcp, none through Spark's fallback.
#
#   benchmarks/hosts/smoke-test.sh       last line PASS or FAIL; exit 0, 1, or 3 with "NOT RUN: <why>"
# Environment: SKIP_MVN=1 reuses the jars in */target (as .ci/run does after mvn verify); START_TIMEOUT_S (240).
# Takes about 2 minutes on a busy 2-core machine; everything it makes (namespaces, veths, bridge, processes,
# /dev/shm and /tmp folders) is removed at the end, also on failure or interrupt.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/run-hosts.sh" --smoke --records 50000 --partitions 8 --executor-mb 1024 \
  --out "$here/target/smoke" "$@"
