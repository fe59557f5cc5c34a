#!/usr/bin/env bash
# Bench 1 — the verbs and rsocket tiers in a Soft-RoCE guest (QEMU, benchmarks/vm/vm.sh):
#   1. the verbs conformance suite (VerbsTransportConformanceTest) under the JUnit console launcher,
#   2. a block-transfer fetch between two JVMs over the verbs tier, every byte checked, staged through a
#      verbs registration window (verbs.maxRegisteredBytes) eight times smaller than the blocks fetched,
#   3. the rsocket conformance suite (RsocketTransportConformanceTest) with every JVM under librdmacm's
#      preload, and a block fetch between two such JVMs over the rsocket tier, every byte checked, with the
#      wire proof: the RDMA device's packet counters rise and the kernel's TCP segment counters do not,
#   4. per block size, one at a time: our reads over verbs, rsocket and kernel TCP, and the baselines
#      ib_read_bw / ib_read_lat (RDMA READ) and rstream (rsockets, and rstream -T s on kernel TCP), all in
#      the same guest on the same device, with the ratios. A baseline that fails (no number, or 0) is run
#      once more, then reported as "baseline failed: <why>" instead of a ratio.
#
#   [VRDMA_LIBDISNI=/path/to/libdisni.so] [VRDMA_LIBRDMACM_DIR=/path/to/dir] benchmarks/vm/verbs-bench.sh
#       [--sizes 4k,64k,1m,4m] [--seconds 5] [--skip-verbs-suite]
#
# libdisni.so must be built from DiSNI's 2.1 release (the project does not ship it). Without
# VRDMA_LIBDISNI the verbs parts (1, 2 and our verbs reads) print NOT RUN with the reason and the rest runs.
# VRDMA_LIBRDMACM_DIR names a librdmacm with rpoll's time-out fix (rdma-core 44.12; the guest's Debian 12 has
# 44.0), built outside the project: a directory with librdmacm.so.1 and rsocket/librspreload.so (README.md).
# VRDMA_VM_ACCEL=kvm tries KVM instead of TCG (see README.md). Results go to benchmark-results/verbs-bench-*.txt.
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
# VRDMA_LIBRDMACM_DIR: a librdmacm built outside the project (a directory with librdmacm.so.1 and
# rsocket/librspreload.so), used by everything in the guest instead of the image's; see README.md
RSPRELOAD=${VRDMA_LIBRDMACM_DIR:+$VRDMA_LIBRDMACM_DIR/rsocket/librspreload.so}
RSPRELOAD=${RSPRELOAD:-/usr/lib/x86_64-linux-gnu/rsocket/librspreload.so}
# What a JVM needs under the preload: the poll selector (the preload does not intercept epoll) and IPv4
# sockets (the preload configuration below intercepts AF_INET stream sockets of programs called java).
RS_JOPTS="-Djava.nio.channels.spi.SelectorProvider=sun.nio.ch.PollSelectorProvider -Djava.net.preferIPv4Stack=true"

guest() {
  local work=$1 sizes=$2 secs=$3
  local ip=${VRDMA_IP_ADDR:-10.0.2.15} dev=rxe0 status=0 verbs=1
  [ -n "${VRDMA_LIBDISNI:-}" ] || verbs=0
  local jopts=(--add-exports java.base/sun.nio.ch=ALL-UNNAMED -Dorg.slf4j.simpleLogger.log.com.ibm.disni=warn
               -Djava.io.tmpdir=/tmp)
  [ "$verbs" = 1 ] && jopts+=("-Djava.library.path=$(dirname "$VRDMA_LIBDISNI")")
  local bench=/tmp/verbs-bench; mkdir -p "$bench"
  declare -gA R=()   # R[size,key] = a number, or "failed: why" for a baseline
  if [ -n "${VRDMA_LIBRDMACM_DIR:-}" ]; then
    export LD_LIBRARY_PATH=$VRDMA_LIBRDMACM_DIR
  fi
  echo "== guest: $(uname -r), $(nproc) vCPUs, librdmacm $(readlink -f "${VRDMA_LIBRDMACM_DIR:-/usr/lib/x86_64-linux-gnu}/librdmacm.so.1"), device:"
  ibv_devinfo -d "$dev" | grep -E 'hca_id|transport|state|active_mtu|link_layer' || die "no $dev in the guest"
  ibv_devinfo -v -d "$dev" | grep -E 'max_qp_rd_atom|max_qp_init_rd_atom'
  local cp_tests; cp_tests="$(cat "$work/test-classpath"):$work/junit-platform-console-standalone.jar"

  if [ "$verbs" = 1 ] && [ "${VRDMA_BENCH_VERBS_SUITE:-1}" = 0 ]; then
    echo "== 1, 2. verbs conformance suite and block fetch: NOT RUN (--skip-verbs-suite)"
    mkdir -p "$bench/verbs"
    serve_start verbs "$bench/verbs" "" "${jopts[@]}"
    for _ in $(seq 300); do grep -q 'VerbsBench serving' "$bench/verbs/serve.log" && break; sleep 1; done
    grep -h 'VerbsBench serving' "$bench/verbs/serve.log" || { echo "verbs serving JVM:"; tail -5 "$bench/verbs/serve.log"; }
    R[window]=$(sed -n 's/.* \([0-9]*\) reads in flight per queue pair.*/\1/p' "$bench/verbs/serve.log" | head -1)
    echo "== our verbs reads per size"
    ours_reads verbs "$bench/verbs" "$sizes" "$secs" "" "-Dvrdma.bench.lanes=${R[window]:-32}" "${jopts[@]}" || status=1
    serve_stop verbs "$bench/verbs" || status=1
  elif [ "$verbs" = 1 ]; then
    echo "== 1. verbs conformance suite"
    # inherited by the suite's peer JVMs: C1 only (under emulation C2 costs more than it saves), less logging
    # the launcher on the JVM's own class path: the suite's peer JVMs inherit java.class.path
    if JAVA_TOOL_OPTIONS="-XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=warn" \
         java "${jopts[@]}" -Xmx768m -Dvrdma.test.peerStartSeconds=300 -Dvrdma.test.readTimeoutMs=30000 \
         -Dvrdma.test.connectTimeoutMs=60000 \
         -cp "$cp_tests" org.junit.platform.console.ConsoleLauncher execute --disable-banner --details=tree \
         --select-class io.vrdma.transport.conformance.VerbsTransportConformanceTest \
         --select-class io.vrdma.transport.verbs.VerbsProbeTest --fail-if-no-tests; then
      echo "verbs conformance: PASS"
    else
      echo "verbs conformance: FAIL"; status=1
    fi
    echo "== 2. block fetch between two JVMs over verbs"
    serve_start verbs "$bench/verbs" "" "${jopts[@]}"
    if java "${jopts[@]}" -Xmx512m -cp "$work/vrdma-benchmarks.jar" io.vrdma.bench.VerbsBench blocks "$bench/verbs" \
         2> "$bench/verbs/blocks.log"; then
      echo "verbs block fetch: PASS"
    else
      echo "verbs block fetch: FAIL"; status=1; tail -20 "$bench/verbs/blocks.log"
    fi
    grep -h 'VerbsBench serving' "$bench/verbs/serve.log" || true
    R[window]=$(sed -n 's/.* \([0-9]*\) reads in flight per queue pair.*/\1/p' "$bench/verbs/serve.log" | head -1)
    echo "== our verbs reads per size"
    ours_reads verbs "$bench/verbs" "$sizes" "$secs" "" "-Dvrdma.bench.lanes=${R[window]:-32}" "${jopts[@]}" || status=1
    serve_stop verbs "$bench/verbs" || status=1
    grep -h 'VerbsBench staging window' "$bench/verbs/serve.log" || true
  else
    echo "== 1, 2 and our verbs reads: NOT RUN: VRDMA_LIBDISNI is not set (build libdisni.so from DiSNI 2.1, see README.md)"
  fi

  echo "== 3. rsocket: every JVM under $RSPRELOAD"
  # Intercept only what rsockets carry: AF_INET stream sockets of programs called java (rsocket(7)).
  mkdir -p /etc/rdma/rsocket
  echo "java INET STREAM TCP" > /etc/rdma/rsocket/preload_config
  local before after
  before=$(counters)
  if LD_PRELOAD=$RSPRELOAD \
       JAVA_TOOL_OPTIONS="-XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=warn $RS_JOPTS -Dvrdma.test.host=$ip" \
       java "${jopts[@]}" -Xmx768m -Dvrdma.test.peerStartSeconds=300 -Dvrdma.test.readTimeoutMs=30000 \
       -Dvrdma.test.connectTimeoutMs=60000 \
       -cp "$cp_tests" org.junit.platform.console.ConsoleLauncher execute --disable-banner --details=tree \
       --select-class io.vrdma.transport.conformance.RsocketTransportConformanceTest \
       --select-class io.vrdma.transport.rsocket.RsocketProbeTest --fail-if-no-tests; then
    echo "rsocket conformance: PASS"
  else
    echo "rsocket conformance: FAIL"; status=1
  fi
  echo "== 3b. block fetch between two JVMs over rsocket"
  # shellcheck disable=SC2086
  serve_start rsocket "$bench/rsocket" "$RSPRELOAD" "${jopts[@]}" $RS_JOPTS "-Dvrdma.bench.host=$ip"
  # shellcheck disable=SC2086
  if LD_PRELOAD=$RSPRELOAD java "${jopts[@]}" $RS_JOPTS -Dvrdma.bench.tier=rsocket "-Dvrdma.bench.host=$ip" -Xmx512m \
       -cp "$work/vrdma-benchmarks.jar" io.vrdma.bench.VerbsBench blocks "$bench/rsocket" 2> "$bench/rsocket/blocks.log"; then
    echo "rsocket block fetch: PASS"
  else
    echo "rsocket block fetch: FAIL"; status=1; tail -20 "$bench/rsocket/blocks.log"
  fi
  grep -h 'VerbsBench serving' "$bench/rsocket/serve.log" || true
  after=$(counters)
  wire_proof "rsocket conformance suite and block fetch" "$before" "$after" rdma || status=1

  echo "== 3c. the engines' own socket paths under the preload (reported, not part of the verdict)"
  local mode
  # timedSelect: what every NIO event loop does (selects with a time-out, wake-ups from other threads); the
  # librdmacm of Debian 12 (44.0) fails it, see README.md
  for mode in timedSelect http transferTo; do
    before=$(counters)
    # shellcheck disable=SC2086
    LD_PRELOAD=$RSPRELOAD timeout 120 java $RS_JOPTS -Xmx512m -cp "$WORK_DIR/vrdma-benchmarks.jar" \
      io.vrdma.bench.PreloadSocketCheck "$mode" "$ip" "$([ $mode = timedSelect ] && echo 4 || echo 32)" 2>&1 \
      | tail -3 || true
    after=$(counters)
    # timedSelect moves no data: nothing to prove on the wire
    [ "$mode" = timedSelect ] || wire_proof "PreloadSocketCheck $mode" "$before" "$after" rdma || true
  done

  echo "== 4. per size, one at a time: ours over rsocket, then kernel TCP; rstream on rsockets and on kernel TCP;"
  echo "      ib_read_bw and ib_read_lat; all on $dev / $ip in this guest"
  # shellcheck disable=SC2086
  ours_reads rsocket "$bench/rsocket" "$sizes" "$secs" "$RSPRELOAD" "${jopts[@]}" $RS_JOPTS \
    -Dvrdma.bench.tier=rsocket "-Dvrdma.bench.host=$ip" || status=1
  serve_stop rsocket "$bench/rsocket" || status=1
  before=$(counters)
  serve_start tcp "$bench/tcp" "" "${jopts[@]}" "-Dvrdma.bench.host=$ip"
  ours_reads tcp "$bench/tcp" "$sizes" "$secs" "" "${jopts[@]}" -Dvrdma.bench.tier=tcp "-Dvrdma.bench.host=$ip" || status=1
  serve_stop tcp "$bench/tcp" || status=1
  after=$(counters)
  wire_proof "our kernel-TCP reads (the control: the other way round)" "$before" "$after" tcp || status=1
  local s bytes
  for s in ${sizes//,/ }; do
    bytes=$(to_bytes "$s")
    R[$bytes,rstream]=$(baseline rstream_run "$bytes" "$secs" "" "$ip")
    R[$bytes,rstream_tcp]=$(baseline rstream_run "$bytes" "$secs" "-T s" "$ip")
    R[$bytes,ib_read_bw]=$(baseline perf_bw "$bytes" "$secs" "" "$ip")
    # as many reads outstanding as ours keep in flight over verbs
    [ "$verbs" = 1 ] && R[$bytes,ib_read_bw_o]=$(baseline perf_bw "$bytes" "$secs" "-o ${R[window]:-32}" "$ip")
    R[$bytes,ib_read_lat]=$(baseline perf_lat "$bytes" "$ip")
  done
  table "$sizes"
  return $status
}

# Starts VerbsBench serve for a tier in DIR (optionally under a preload); holds its stdin open on fd 7/8/9.
serve_start() {
  local tier=$1 dir=$2 preload=$3; shift 3
  mkdir -p "$dir"; rm -f "$dir/handoff" "$dir/stdin"; mkfifo "$dir/stdin"
  LD_PRELOAD=$preload java "$@" -Dvrdma.bench.tier="$tier" -Xmx512m -cp "$WORK_DIR/vrdma-benchmarks.jar" \
    io.vrdma.bench.VerbsBench serve "$dir" < "$dir/stdin" > "$dir/serve.log" 2>&1 &
  echo $! > "$dir/serve.pid"
  # holding the fifo open keeps the serving JVM running
  case "$tier" in verbs) exec 7> "$dir/stdin" ;; rsocket) exec 8> "$dir/stdin" ;; tcp) exec 9> "$dir/stdin" ;; esac
}

serve_stop() {
  local tier=$1 dir=$2
  case "$tier" in verbs) exec 7>&- ;; rsocket) exec 8>&- ;; tcp) exec 9>&- ;; esac
  local pid; pid=$(cat "$dir/serve.pid")
  # a JVM whose rsocket connection stalled never finishes closing it (rclose waits for its sends): 60 s, then kill
  for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "serving JVM ($tier) still running 60 s after its stdin closed: killed; its threads:"
    kill -3 "$pid" 2>/dev/null; sleep 2
    grep -A6 -E '"vrdma-tcp|"main"' "$dir/serve.log" | head -40
    kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    return 1
  fi
  wait "$pid" || { echo "serving JVM ($tier) failed:"; tail -20 "$dir/serve.log"; return 1; }
}

# Our reads of every size over one tier, in one JVM: R[size,<tier>_gbps] and R[size,<tier>_us] (median).
ours_reads() {
  local tier=$1 dir=$2 sizes=$3 secs=$4 preload=$5; shift 5
  local csv="" s
  for s in ${sizes//,/ }; do csv+="${csv:+,}$(to_bytes "$s")"; done
  local try
  for try in 1 2; do
    # -XX:ErrorFile: a JVM that crashes (seen once under TCG: SIGSEGV in C1-compiled JDK code, as in the IVSHMEM
    # bench) leaves its report here rather than in the host's working directory
    if LD_PRELOAD=$preload java "$@" -XX:ErrorFile="$dir/hs_err_%p.log" -Xmx512m -cp "$WORK_DIR/vrdma-benchmarks.jar" \
         io.vrdma.bench.VerbsBench reads "$dir" "$csv" "$secs" > "$dir/reads.txt" 2> "$dir/reads.log"; then
      break
    fi
    echo "our $tier reads, try $try: FAIL"; tail -20 "$dir/reads.log"
    grep -h -m1 -A1 'Problematic frame' "$dir"/hs_err_*.log 2>/dev/null || true
    [ "$try" = 2 ] && return 1
  done
  local size mibs med mean
  while read -r size mibs med mean; do
    R[$size,${tier}_gbps]=$(awk -v m="$mibs" 'BEGIN { printf "%.3f", m * 1048576 * 8 / 1e9 }')
    R[$size,${tier}_us]=$med
  done < "$dir/reads.txt"
}

# The RDMA device's packets and the kernel's TCP segments, as "rxe_sent rxe_rcvd tcp_out tcp_in".
counters() {
  local hw=/sys/class/infiniband/rxe0/ports/1/hw_counters
  echo "$(cat $hw/sent_pkts) $(cat $hw/rcvd_pkts) $(awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) n[$i] = i; h = 1 }
    else print $n["OutSegs"], $n["InSegs"] }' /proc/net/snmp)"
}

# Prints the counters' rise over a step; with "rdma" the RDMA packets must dominate (TCP segments below 1% of
# them), with "tcp" the other way round.
wire_proof() {
  local what=$1 expect=$4
  read -r s0 r0 o0 i0 <<< "$2"; read -r s1 r1 o1 i1 <<< "$3"
  local rdma=$(( s1 - s0 + r1 - r0 )) tcp=$(( o1 - o0 + i1 - i0 ))
  echo "wire: $what: rxe0 packets +$rdma (sent +$((s1 - s0)), received +$((r1 - r0))); kernel TCP segments +$tcp (out +$((o1 - o0)), in +$((i1 - i0)))"
  if [ "$expect" = rdma ] && { [ "$rdma" -lt 1000 ] || [ $(( tcp * 100 )) -ge "$rdma" ]; }; then
    echo "wire proof: FAIL (expected RDMA packets and next to no TCP segments)"; return 1
  elif [ "$expect" = tcp ] && { [ "$tcp" -lt 1000 ] || [ $(( rdma * 100 )) -ge "$tcp" ]; }; then
    echo "wire proof: FAIL (expected TCP segments and next to no RDMA packets)"; return 1
  fi
  echo "wire proof ($expect): PASS"
}

# Runs a baseline (a function printing one positive number, or the reason it has none); once more when it
# fails; prints the number or "failed: <why>".
baseline() {
  local out try
  for try in 1 2; do
    out=$("$@" 2>&1 | tail -1)
    if [[ "$out" =~ ^[0-9]+(\.[0-9]+)?( [0-9]+(\.[0-9]+)?)*$ ]] && awk -v v="${out%% *}" 'BEGIN { exit !(v > 0) }'; then
      echo "$out"; return 0
    fi
    echo "baseline $1 ($2 bytes), try $try: ${out:-no output}" >&2
  done
  echo "failed: ${out:-no output}"
}

# ib_read_bw server and client on rxe0; prints the client's average Gb/s, or why there is none.
perf_bw() {
  local bytes=$1 secs=$2 extra=$3 ip=$4 out
  # shellcheck disable=SC2086
  timeout $((secs + 60)) ib_read_bw -d rxe0 -F -s "$bytes" -D "$secs" --report_gbits $extra -p 18515 > /tmp/verbs-bench/bw-server.log 2>&1 &
  local server=$!
  sleep 1
  # shellcheck disable=SC2086
  out=$(timeout $((secs + 60)) ib_read_bw -d rxe0 -F -s "$bytes" -D "$secs" --report_gbits $extra -p 18515 "$ip" 2>&1) || true
  wait "$server" 2>/dev/null || true
  local v; v=$(awk -v b="$bytes" '$1 == b && NF >= 4 {print $4}' <<< "$out" | tail -1)
  if [ -z "$v" ]; then echo "ib_read_bw printed no result: $(grep -v '^ *$' <<< "$out" | tail -1)"
  elif awk -v v="$v" 'BEGIN { exit !(v > 0) }'; then echo "$v"
  else echo "ib_read_bw reported $v Gb/s"; fi
}

# ib_read_lat: prints "typical_us" or why there is none.
perf_lat() {
  local bytes=$1 ip=$2 out iters
  # about as many one-at-a-time reads as ours get in their half of the time (each is slow under emulation)
  iters=$(( bytes >= 1048576 ? 50 : (bytes >= 65536 ? 300 : 1000) ))
  timeout 120 ib_read_lat -d rxe0 -F -s "$bytes" -n "$iters" -p 18516 > /tmp/verbs-bench/lat-server.log 2>&1 &
  local server=$!
  sleep 1
  out=$(timeout 120 ib_read_lat -d rxe0 -F -s "$bytes" -n "$iters" -p 18516 "$ip" 2>&1) || true
  wait "$server" 2>/dev/null || true
  local v; v=$(awk -v b="$bytes" '$1 == b && NF >= 6 {print $6}' <<< "$out" | tail -1)
  if [ -z "$v" ]; then echo "ib_read_lat printed no result: $(grep -v '^ *$' <<< "$out" | tail -1)"
  else echo "$v"; fi
}

# rstream (librdmacm's rsocket ping-pong; "-T s" on kernel TCP sockets): prints "Gb/s usec_per_transfer".
rstream_run() {
  local bytes=$1 secs=$2 extra=$3 ip=$4 count out
  # about secs seconds under emulation (~3.5 ms per 64 KiB transfer in a TCG guest)
  count=$(( bytes >= 4194304 ? 20 : (bytes >= 1048576 ? 60 : (bytes >= 65536 ? 400 : 2000)) ))
  # shellcheck disable=SC2086
  timeout $((secs + 120)) rstream -S "$bytes" -C "$count" -p 7471 $extra > /tmp/verbs-bench/rstream-server.log 2>&1 &
  local server=$!
  sleep 1
  # shellcheck disable=SC2086
  out=$(timeout $((secs + 120)) rstream -s "$ip" -S "$bytes" -C "$count" -p 7471 $extra 2>&1) || true
  wait "$server" 2>/dev/null || true
  local v; v=$(awk '$1 == "custom" && NF >= 8 {print $7, $8}' <<< "$out" | tail -1)
  if [ -z "$v" ]; then echo "rstream printed no result: $(grep -v '^ *$' <<< "$out" | tail -1)"
  else echo "$v"; fi
}

# A ratio of two table cells, or "-" when either is not a positive number.
ratio() {
  awk -v a="${1%% *}" -v b="${2%% *}" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && a > 0 && b > 0) printf "%.2f", a / b; else printf "-" }'
}

cell() { local v=${1:-}; case "$v" in "") echo "n/a" ;; failed:*) echo "failed" ;; *) echo "${v%% *}" ;; esac; }

table() {
  local sizes=$1 s b notes=()
  echo "== results (Gb/s = 10^9 bit/s; ours: ${R[window]:-32} reads in flight over verbs, 32 over rsocket and tcp)"
  printf '%-6s %9s %9s %9s %10s %8s %9s %9s %8s %8s %8s %8s\n' size tcp_ours rs_ours verbs_ours ib_read_bw ib_bw_-o \
    rstream rstream_s rs/tcp rs/rstr verbs/ib vrb/ib-o
  for s in ${sizes//,/ }; do
    b=$(to_bytes "$s")
    printf '%-6s %9s %9s %9s %10s %8s %9s %9s %8s %8s %8s %8s\n' "$s" "$(cell "${R[$b,tcp_gbps]:-}")" \
      "$(cell "${R[$b,rsocket_gbps]:-}")" "$(cell "${R[$b,verbs_gbps]:-}")" "$(cell "${R[$b,ib_read_bw]:-}")" \
      "$(cell "${R[$b,ib_read_bw_o]:-}")" "$(cell "${R[$b,rstream]:-}")" "$(cell "${R[$b,rstream_tcp]:-}")" \
      "$(ratio "${R[$b,rsocket_gbps]:-}" "${R[$b,tcp_gbps]:-}")" "$(ratio "${R[$b,rsocket_gbps]:-}" "${R[$b,rstream]:-}")" \
      "$(ratio "${R[$b,verbs_gbps]:-}" "${R[$b,ib_read_bw]:-}")" "$(ratio "${R[$b,verbs_gbps]:-}" "${R[$b,ib_read_bw_o]:-}")"
    local k
    for k in ib_read_bw ib_read_bw_o ib_read_lat rstream rstream_tcp; do
      case "${R[$b,$k]:-}" in failed:*) notes+=("$s $k: baseline failed: ${R[$b,$k]#failed: }") ;; esac
    done
  done
  echo "latency: microseconds; ours: median of one read at a time; ib_read_lat: typical; rstream: usec per transfer"
  echo "(one way of its ping-pong)"
  printf '%-6s %9s %9s %9s %11s %9s %9s\n' size tcp_ours rs_ours verbs_ours ib_read_lat rstream rstream_s
  for s in ${sizes//,/ }; do
    b=$(to_bytes "$s")
    printf '%-6s %9s %9s %9s %11s %9s %9s\n' "$s" "$(cell "${R[$b,tcp_us]:-}")" "$(cell "${R[$b,rsocket_us]:-}")" \
      "$(cell "${R[$b,verbs_us]:-}")" "$(cell "${R[$b,ib_read_lat]:-}")" "$(v2 "${R[$b,rstream]:-}")" "$(v2 "${R[$b,rstream_tcp]:-}")"
  done
  local n; for n in "${notes[@]}"; do echo "$n"; done
  echo "(rs = our reads over rsocket, rstream = librdmacm's rstream on rsockets, rstream_s = rstream -T s on kernel"
  echo " TCP; ratios are ours / theirs, '-' where a side has no number; failed baselines were run twice)"
}

# The second number of a "Gb/s usec" baseline cell.
v2() { case "${1:-}" in "") echo "n/a" ;; failed:*) echo "failed" ;; *\ *) echo "${1#* }" ;; *) echo "n/a" ;; esac; }

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
  WORK_DIR=$1
  guest "$@"
  exit $?
fi

# ---------------------------------------------------------------------------------------------
# On the host: build, hand the guest a class path, boot it, keep the output.
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) SIZES=$2; shift 2 ;;
    --seconds) SECONDS_PER_SIZE=$2; shift 2 ;;
    --skip-verbs-suite) export VRDMA_BENCH_VERBS_SUITE=0; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

# the Maven repository the build resolves from (VRDMA_MAVEN_REPO; ~/.m2/repository by default), shared read-only
M2=$(mkdir -p "${VRDMA_MAVEN_REPO:-$HOME/.m2/repository}" && cd "${VRDMA_MAVEN_REPO:-$HOME/.m2/repository}" && pwd)
SHARES=(--share "$REPO" --share "$M2:ro")
if [ -z "${VRDMA_LIBDISNI:-}" ]; then
  echo "verbs-bench: the verbs parts will print NOT RUN: VRDMA_LIBDISNI is not set. Build libdisni.so from DiSNI's"
  echo "verbs-bench: 2.1 release (https://github.com/zrlio/disni, tag v2.1, libdisni/) and set VRDMA_LIBDISNI to its path."
else
  [ -f "$VRDMA_LIBDISNI" ] || die "VRDMA_LIBDISNI=$VRDMA_LIBDISNI names no file"
  [ "$(basename "$VRDMA_LIBDISNI")" = libdisni.so ] || die "VRDMA_LIBDISNI must name a file called libdisni.so"
  VRDMA_LIBDISNI=$(cd "$(dirname "$VRDMA_LIBDISNI")" && pwd)/libdisni.so
  export VRDMA_LIBDISNI
  SHARES+=(--share "$(dirname "$VRDMA_LIBDISNI"):ro")
fi
ENVS=(--env "VRDMA_BENCH_VERBS_SUITE=${VRDMA_BENCH_VERBS_SUITE:-1}")
if [ -n "${VRDMA_LIBRDMACM_DIR:-}" ]; then
  [ -e "$VRDMA_LIBRDMACM_DIR/librdmacm.so.1" ] && [ -f "$VRDMA_LIBRDMACM_DIR/rsocket/librspreload.so" ] \
    || die "VRDMA_LIBRDMACM_DIR=$VRDMA_LIBRDMACM_DIR has no librdmacm.so.1 and rsocket/librspreload.so"
  VRDMA_LIBRDMACM_DIR=$(cd "$VRDMA_LIBRDMACM_DIR" && pwd)
  SHARES+=(--share "$VRDMA_LIBRDMACM_DIR:ro")
  ENVS+=(--env "VRDMA_LIBRDMACM_DIR=$VRDMA_LIBRDMACM_DIR")
else
  echo "verbs-bench: the rsocket parts use the guest's librdmacm (Debian 12: 44.0, whose rpoll loses wake-ups: the"
  echo "verbs-bench: rsocket tier refuses it); VRDMA_LIBRDMACM_DIR names a fixed build (README.md)"
fi
[ -x "$VM_SH" ] || die "no VM bench at $VM_SH (set VRDMA_VM_SH)"

WORK="$REPO/target/verbs-bench"
mkdir -p "$WORK" "$REPO/benchmark-results"
echo "verbs-bench: building (mvn package, tests not run) ..." >&2
(cd "$REPO" && mvn -B -ntp -q -Dmaven.repo.local="$M2" -pl benchmarks -am -DskipTests package)
# the test classes (the conformance suites) are compiled by package's test-compile even with -DskipTests
(cd "$REPO" && mvn -B -ntp -q -Dmaven.repo.local="$M2" -pl vrdma-transport dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$WORK/classpath.deps")
echo "$REPO/vrdma-transport/target/test-classes:$REPO/vrdma-transport/target/classes:$(cat "$WORK/classpath.deps")" \
  > "$WORK/test-classpath"
# JUnit Jupiter 5.x runs on JUnit Platform 1.x of the same minor and patch
JUNIT_PLATFORM=$(sed -n 's|.*<junit.version>5\.\(.*\)</junit.version>.*|1.\1|p' "$REPO/pom.xml")
(cd "$REPO" && mvn -B -ntp -q -Dmaven.repo.local="$M2" -N dependency:copy \
  -Dartifact="org.junit.platform:junit-platform-console-standalone:$JUNIT_PLATFORM" -DoutputDirectory="$WORK" \
  -Dmdep.stripVersion=true)
cp "$REPO/benchmarks/target/vrdma-benchmarks.jar" "$WORK/"

OUT="$REPO/benchmark-results/verbs-bench-$(date -u +%Y%m%dT%H%M%SZ).txt"
echo "verbs-bench: booting the Soft-RoCE guest; output also in $OUT" >&2
set +e
"$VM_SH" run --mem 3072 --smp 2 --timeout 3000 "${SHARES[@]}" \
  "${ENVS[@]}" -- bash "$HERE/verbs-bench.sh" --in-guest "$WORK" "$SIZES" "$SECONDS_PER_SIZE" 2>&1 | tee "$OUT"
status=${PIPESTATUS[0]}
set -e
echo "verbs-bench: exit status $status" | tee -a "$OUT"
exit "$status"
