#!/usr/bin/env bash
# A Spark standalone cluster of separate "hosts" on this machine, made of Linux network namespaces, and the shuffle
# benchmark (or the CI smoke check) run on it. Every host is a namespace with its own address, its own NIC (a veth
# pair to a bridge), its own local dirs and its own /dev/shm:
#
#   vh<id>sw    the switch: a bridge and nothing else (its own namespace, so the root namespace's firewall,
#               br_netfilter and addresses are never involved)
#   vh<id>ctl   198.18.0.2   the standalone master(s) and the driver (the benchmark runner)
#   vh<id>w1    198.18.0.11  worker 1 (one executor)        } "co-resident VMs": their /dev/shm is one directory,
#   vh<id>w2    198.18.0.12  worker 2 (one executor)        } so both map the same arena /dev/shm/vrdma-arena
#   vh<id>b     198.18.0.21  two workers sharing local dirs, for the bound (stock-hostlocal: host-local disk reads,
#                            nothing crosses a link); registered with a master of their own (port 7078)
#
# Addresses come from 198.18.0.0/15 (RFC 2544, benchmarking) only, and live only inside our namespaces: two runs
# at once do not collide, and the root namespace gets no address, route or bridge. --link shapes every veth at
# both ends (tc tbf, or netem when --delay is given), so stock's Netty transfer pays a NIC's bandwidth.
#
# Spark is the Maven-resolved Spark 3.5.9 of benchmarks/tpcds (no distribution): SPARK_HOME/jars is a folder of
# links to those jars, the master and workers start with `java -cp`, as docker/entrypoint.sh does, and the workers
# start the executors. The plugin jar (and the job's classes) are on spark.executor.extraClassPath.
#
#   benchmarks/hosts/run-hosts.sh [flags]            the link-speed benchmark; report in --out
#   benchmarks/hosts/run-hosts.sh --smoke            the CI check: stock vs vrdma-shm, 50 MB, unshaped links
# Flags: --link LIST (unshaped,25gbit,10gbit,1gbit; default all), --delay D (netem delay per veth, e.g. 0.1ms),
#   --compress LIST (on,off; default on,off), --variants LIST (default stock,vrdma-shm,vrdma-tcp,stock-hostlocal),
#   --records N (default 500000 x 1 KiB), --partitions N (8), --rounds N (2), --warmup N (untimed full-size jobs
#   per variant before its rounds, default 1; synthetic job only), --executor-mb N (2048),
#   --out DIR (benchmark-results/hosts), --help;
#   --job tpcds: the TPC-DS main job instead (one run per link, reports in <out>/tpcds-<link>/), with --scale SF
#   (default 0.1) and --queries LIST (the runner's default set); --rounds, --variants, --executor-mb apply.
# Environment: SKIP_MVN=1 uses the jars already built; START_TIMEOUT_S (default 240) for master and workers.
# Exit: 0 when the jobs ran (missed targets are MISSED lines), 1 when a job failed or results differ, 2 for bad
# flags, 3 with "NOT RUN: <why>" when namespaces cannot be made here (not root, no iproute2, ...).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
started=$(date +%s)

say() { echo "hosts [$(( $(date +%s) - started )) s]: $*" >&2; }
not_run() { echo "hosts: NOT RUN: $*"; exit 3; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
bad_flag() { echo "hosts: $*" >&2; echo "(--help lists the flags)" >&2; exit 2; }

# set_link <unshaped|25gbit|...>: the same qdisc on both ends of every host's veth ($p, $bound, $delay say which
# hosts and what delay). Also run by the benchmark's driver between jobs: run-hosts.sh --internal-set-link.
set_link() {
  local link="$1" ns dev q h
  for h in ctl w1 w2 $([ "$bound" = 1 ] && echo b); do
    for end in "${p}sw:${p}${h}a" "${p}${h}:eth0"; do
      ns="${end%%:*}"; dev="${end#*:}"
      tc -n "$ns" qdisc del dev "$dev" root 2>/dev/null || true
      [ "$link" = unshaped ] && [ -z "$delay" ] && continue
      if [ -n "$delay" ]; then
        # netem: rate and delay in one qdisc; a long queue so that a window of a fast link is not dropped
        q=(netem delay "$delay" limit 100000)
        [ "$link" != unshaped ] && q+=(rate "$link")
      else
        # tbf: burst of 4 ms at the rate (at least 256 KiB, above one 64 KiB GSO packet), 50 ms of queue
        local bps=$(( ${link%gbit} * 1000000000 / 8 ))
        local burst=$(( bps / 250 > 262144 ? bps / 250 : 262144 ))
        q=(tbf rate "$link" burst "$burst" latency 50ms)
      fi
      tc -n "$ns" qdisc add dev "$dev" root "${q[@]}"
    done
  done
}

if [ "${1:-}" = --internal-set-link ]; then
  # --internal-set-link <prefix> <bound 0|1> <delay or -> <link>
  p="$2"; bound="$3"; delay="$4"; [ "$delay" = - ] && delay=""
  set_link "$5"
  echo "tc on every veth: $5${delay:+, delay $delay}"
  exit 0
fi

# --- flags -----------------------------------------------------------------------------------------------------
links="unshaped,25gbit,10gbit,1gbit"
delay=""
compress="on,off"
variants="stock,vrdma-shm,vrdma-tcp,stock-hostlocal"
records=500000
partitions=8
rounds=2
warmup=1
executor_mb=2048
out="$root/benchmark-results/hosts"
smoke=0
job=synthetic
scale=0.1
queries=""
start_timeout="${START_TIMEOUT_S:-240}"
need() { [ $# -ge 2 ] && [ -n "$2" ] || bad_flag "$1 needs a value"; }
posint() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || bad_flag "$1 must be a positive integer, not '$2'"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --link) need "$@"; links="$2"; shift 2 ;;
    --delay) need "$@"; [[ "$2" =~ ^[0-9.]+(us|ms)$ ]] || bad_flag "--delay must be like 0.1ms or 50us, not '$2'"
      delay="$2"; shift 2 ;;
    --compress) need "$@"; compress="$2"; shift 2 ;;
    --variants) need "$@"; variants="$2"; shift 2 ;;
    --records) need "$@"; posint "$@"; records="$2"; shift 2 ;;
    --partitions) need "$@"; posint "$@"; partitions="$2"; shift 2 ;;
    --rounds) need "$@"; posint "$@"; rounds="$2"; shift 2 ;;
    --warmup) need "$@"; [[ "$2" =~ ^[0-9]+$ ]] || bad_flag "--warmup must be a count (0 or more), not '$2'"
      warmup="$2"; shift 2 ;;
    --executor-mb) need "$@"; posint "$@"; executor_mb="$2"; shift 2 ;;
    --out) need "$@"; out="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    --smoke) smoke=1; shift ;;
    --job) need "$@"; case "$2" in synthetic|tpcds) job="$2" ;; *) bad_flag "--job must be synthetic or tpcds, not '$2'" ;; esac
      shift 2 ;;
    --scale) need "$@"; [[ "$2" =~ ^[0-9]*\.?[0-9]+$ ]] || bad_flag "--scale must be a number, not '$2'"; scale="$2"; shift 2 ;;
    --queries) need "$@"; queries="$2"; shift 2 ;;
    --help|-h) usage; exit 0 ;;
    *) bad_flag "unknown flag $1" ;;
  esac
done
IFS=, read -r -a link_list <<< "$links"
for l in "${link_list[@]}"; do
  case "$l" in unshaped|25gbit|10gbit|1gbit) ;; *) bad_flag "--link: '$l' is not one of unshaped,25gbit,10gbit,1gbit" ;; esac
done
IFS=, read -r -a compress_list <<< "$compress"
for c in "${compress_list[@]}"; do
  case "$c" in on|off) ;; *) bad_flag "--compress: '$c' is not on or off" ;; esac
done
IFS=, read -r -a variant_list <<< "$variants"
for v in "${variant_list[@]}"; do
  case "$v" in stock|vrdma-shm|vrdma-tcp|stock-hostlocal) ;;
    *) bad_flag "--variants: '$v' is not one of stock,vrdma-shm,vrdma-tcp,stock-hostlocal" ;; esac
done
bound=0
for v in "${variant_list[@]}"; do [ "$v" = stock-hostlocal ] && bound=1; done
if [ "$smoke" = 1 ]; then
  links=unshaped; link_list=(unshaped); bound=0
fi

# --- can we make namespaces here? ------------------------------------------------------------------------------
[ "$(uname -s)" = Linux ] || not_run "needs Linux network namespaces, not $(uname -s)"
[ "$(id -u)" = 0 ] || not_run "needs root for ip netns, veth and tc; running as $(id -un)"
for tool in ip tc unshare mount java; do
  command -v "$tool" >/dev/null 2>&1 || not_run "$tool is missing (iproute2 gives ip and tc, util-linux unshare and mount)"
done

# --- jars ------------------------------------------------------------------------------------------------------
args_file="$root/benchmarks/tpcds/target/tpcds.args"
plugin="$root/shuffle-manager/target/vrdma-shuffle-manager-plugin.jar"
if [ "${SKIP_MVN:-0}" != 1 ]; then
  say "building the plugin and the runner (mvn package, no tests)"
  (cd "$root" && mvn -B -ntp -q -Dstyle.color=never -DskipTests package -pl shuffle-manager,benchmarks/tpcds -am) >&2
fi
job_jar="$(ls "$root"/benchmarks/spark-shuffle/target/vrdma-spark-shuffle-bench-*-job.jar 2>/dev/null | head -1 || true)"
for f in "$args_file" "$plugin" "$job_jar"; do
  [ -n "$f" ] && [ -f "$f" ] || { echo "hosts: ${f:-the spark-shuffle -job jar} is missing: build without SKIP_MVN=1" >&2; exit 1; }
done

# --- the run's names and folders --------------------------------------------------------------------------------
id="$(printf '%04x' $(( ($$ + RANDOM) % 65536 )))"
p="vh$id"
work="$(mktemp -d "/tmp/vrdma-hosts-$id.XXXXXX")"
shm_base="/dev/shm/vrdma-hosts-$id"     # each "physical host"'s /dev/shm, bind-mounted over /dev/shm in its hosts
logs="$out/logs"
mkdir -p "$logs" "$shm_base"
namespaces=("${p}sw" "${p}ctl" "${p}w1" "${p}w2")
[ "$bound" = 1 ] && namespaces+=("${p}b")
made_ns=()

cleanup() {
  local rc=$? ns pids
  trap - EXIT INT TERM
  # best effort from here on: one step that finds nothing to remove must not skip the others
  set +e +o pipefail
  # every process in our namespaces is one we started (master, workers, executors, driver)
  for ns in "${made_ns[@]}"; do
    pids="$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
    # shellcheck disable=SC2086
    [ -n "${pids// /}" ] && kill -TERM $pids 2>/dev/null || true
  done
  sleep 2
  for ns in "${made_ns[@]}"; do
    pids="$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
    # shellcheck disable=SC2086
    [ -n "${pids// /}" ] && kill -KILL $pids 2>/dev/null || true
  done
  # deleting a namespace deletes its veth ends (and so their peers) and their qdiscs
  for ns in "${made_ns[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  for ns in "${namespaces[@]}"; do ip link del "${ns#"$p"}" 2>/dev/null || true; done
  ip -o link show 2>/dev/null | grep -o "${p}[a-z0-9]*" | sort -u | while read -r l; do ip link del "$l" 2>/dev/null || true; done
  # executors' logs (stderr) before the work folders go
  if [ -d "$work" ]; then
    find "$work" -path '*/work/app-*/*/stderr' 2>/dev/null | while read -r f; do
      cp "$f" "$logs/executor-$(echo "$f" | sed "s#$work/##; s#/work/#-#; s#/#-#g")" 2>/dev/null || true
    done
  fi
  rm -rf "$work" "$shm_base"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "hosts: FAIL: interrupted (cleaning up)" >&2; exit 1' INT TERM

# --- namespaces, veths, bridge ------------------------------------------------------------------------------------
# ns_exec <ns> <host's shm dir or -> <command...>: in the namespace, with that folder as /dev/shm (a mount
# namespace of its own, so nothing shows outside)
ns_exec() {
  local ns="$1" shm="$2"; shift 2
  if [ "$shm" = - ]; then
    ip netns exec "$ns" "$@"
  else
    ip netns exec "$ns" unshare --mount --propagation private sh -c 'mount --bind "$0" /dev/shm && exec "$@"' "$shm" "$@"
  fi
}
if ! err="$(ip netns add "${p}sw" 2>&1)"; then
  not_run "cannot make a network namespace: $err"
fi
made_ns+=("${p}sw")
ip -n "${p}sw" link set lo up
ip -n "${p}sw" link add br0 type bridge
ip -n "${p}sw" link set br0 up
# add_host <name> <address>: a namespace with eth0 on the bridge
add_host() {
  local ns="$p$1" addr="$2"
  ip netns add "$ns"
  made_ns+=("$ns")
  ip link add "${p}$1a" type veth peer name "${p}$1b"
  ip link set "${p}$1a" netns "${p}sw"
  ip -n "${p}sw" link set "${p}$1a" master br0 up
  ip link set "${p}$1b" netns "$ns"
  ip -n "$ns" link set "${p}$1b" name eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
}
add_host ctl 198.18.0.2
add_host w1 198.18.0.11
add_host w2 198.18.0.12
[ "$bound" = 1 ] && add_host b 198.18.0.21
# the bridge must not wait out STP's listening/learning before forwarding
ip -n "${p}sw" link set br0 type bridge stp_state 0 forward_delay 0 2>/dev/null || true
if [ -n "$delay" ] && ! err="$(tc -n "${p}ctl" qdisc add dev eth0 root netem delay "$delay" 2>&1)"; then
  not_run "--delay needs tc's netem qdisc, which this kernel does not offer ($err; module sch_netem)"
fi
tc -n "${p}ctl" qdisc del dev eth0 root 2>/dev/null || true
say "namespaces ${namespaces[*]} up (bridge in ${p}sw; 198.18.0.0/24)"

# --- Spark: SPARK_HOME of links to the Maven-resolved jars ----------------------------------------------------------
spark_home="$work/spark-home"
mkdir -p "$spark_home/jars" "$spark_home/conf"
cp_line="$(grep -A1 -x -- '-cp' "$args_file" | tail -1)"
opens="$(grep -- '--add-opens' "$args_file" | head -1)"
IFS=: read -r -a cp_entries <<< "$cp_line"
for e in "${cp_entries[@]}"; do
  # Spark and its dependencies only; our modules reach the executors as the shaded plugin jar
  case "$e" in "$root"/*|*/io/vrdma/*) continue ;; esac
  [ -f "$e" ] && ln -sf "$e" "$spark_home/jars/$(basename "$e")"
done
say "SPARK_HOME $spark_home: $(ls "$spark_home/jars" | wc -l) jars (Spark $(ls "$spark_home/jars" | grep -o 'spark-core_2.12-[0-9.]*' | head -1 | sed 's/spark-core_2.12-//; s/\.$//'))"
cat > "$spark_home/conf/log4j2.properties" <<'EOF'
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n
logger.master.name = org.apache.spark.deploy
logger.master.level = info
logger.vrdma.name = io.vrdma
logger.vrdma.level = info
EOF
daemon_cp="$spark_home/conf:$spark_home/jars/*"
# shellcheck disable=SC2206 # the opens are one word each
opens_words=($opens)

pids=()
# start_daemon <ns> <shm dir> <log> <env...> -- <java main and args...>: master and workers get light JVMs (C1 only,
# serial GC): they do little work and share the two cores with the executors they serve
start_daemon() {
  local ns="$1" shm="$2" log="$3"; shift 3
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  ns_exec "$ns" "$shm" env SPARK_HOME="$spark_home" SPARK_SCALA_VERSION=2.12 "${envs[@]}" \
    java -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "${opens_words[@]}" -cp "$daemon_cp" "$@" > "$log" 2>&1 &
  pids+=($!)
}
# wait_for <log> <pattern> <what>
wait_for() {
  local log="$1" pattern="$2" what="$3" deadline=$(( $(date +%s) + start_timeout ))
  until grep -q "$pattern" "$log" 2>/dev/null; do
    if [ "$(date +%s)" -gt "$deadline" ]; then
      tail -20 "$log" >&2
      echo "hosts: FAIL: $what did not start within $start_timeout s (log: $log)" >&2
      exit 1
    fi
    sleep 1
  done
}

mkdir -p "$shm_base/hostA" "$shm_base/hostB" "$shm_base/ctl"
chmod 1777 "$shm_base"/*
rm -f "$logs"/*.log "$logs"/executor-*
master_url="spark://198.18.0.2:7077"
bound_url="spark://198.18.0.2:7078"
start_daemon "${p}ctl" "$shm_base/ctl" "$logs/master.log" SPARK_LOCAL_IP=198.18.0.2 -- \
  org.apache.spark.deploy.master.Master --host 198.18.0.2 --port 7077 --webui-port 8080
[ "$bound" = 1 ] && start_daemon "${p}ctl" "$shm_base/ctl" "$logs/master-bound.log" SPARK_LOCAL_IP=198.18.0.2 -- \
  org.apache.spark.deploy.master.Master --host 198.18.0.2 --port 7078 --webui-port 8081
wait_for "$logs/master.log" "I have been elected leader" "the master"
[ "$bound" = 1 ] && wait_for "$logs/master-bound.log" "I have been elected leader" "the bound's master"
# one executor per application on each worker; TPC-DS keeps one application per variant alive for the whole run,
# so the two worker hosts then hold one executor of each (the bound's workers only the bound's)
slots=1
if [ "$job" = tpcds ] && [ "$smoke" = 0 ]; then
  slots=0
  for v in "${variant_list[@]}"; do [ "$v" != stock-hostlocal ] && slots=$(( slots + 1 )); done
  [ "$slots" -ge 1 ] || slots=1
fi
worker_mb=$(( (executor_mb + 512) * slots ))
# worker <ns> <name> <address> <host's shm> <local dir> <master> <cores: one per executor it will hold>
worker() {
  local ns="$p$1" name="$2" addr="$3" shm="$4" local_dir="$5" master="$6"
  mkdir -p "$local_dir" "$work/$name/work"
  start_daemon "$ns" "$shm" "$logs/$name.log" SPARK_LOCAL_IP="$addr" SPARK_LOCAL_DIRS="$local_dir" -- \
    org.apache.spark.deploy.worker.Worker --host "$addr" --work-dir "$work/$name/work" --cores "$7" \
    --memory "$(( (executor_mb + 512) * $7 ))m" "$master"
}
# w1 and w2: separate hosts (own local dirs), co-resident VMs (one /dev/shm, hostA)
worker w1 worker1 198.18.0.11 "$shm_base/hostA" "$work/worker1/local" "$master_url" "$slots"
worker w2 worker2 198.18.0.12 "$shm_base/hostA" "$work/worker2/local" "$master_url" "$slots"
if [ "$bound" = 1 ]; then
  # the bound: one host, two workers, one local dir, so each reducer reads the other's files from disk
  worker b bound1 198.18.0.21 "$shm_base/hostB" "$work/bound/local" "$bound_url" 1
  worker b bound2 198.18.0.21 "$shm_base/hostB" "$work/bound/local" "$bound_url" 1
fi
for w in worker1 worker2 $([ "$bound" = 1 ] && echo bound1 bound2); do
  wait_for "$logs/$w.log" "Successfully registered with master" "$w"
done
say "master and workers up: $master_url (worker1 198.18.0.11, worker2 198.18.0.12)$([ "$bound" = 1 ] && echo "; bound $bound_url (two workers at 198.18.0.21)")"

exec_cp="$plugin:$job_jar"
# run_driver <log> <java args...>: a JVM in the ctl namespace with the runner's class path and opens. It keeps
# the machine's /dev/shm, where it backs the co-resident hosts' arena (--arena-dir) before the first round; the
# driver itself maps no arena (only executors start the transport).
run_driver() {
  local log="$1"; shift
  ns_exec "${p}ctl" - env SPARK_LOCAL_IP=198.18.0.2 java @"$args_file" "$@" 2> >(tee "$log" >&2) &
  wait_child $!
}
# wait_child <pid>: its exit status. In the background and waited for, because bash runs a trap (INT, TERM: the
# clean-up) only once a foreground command has ended, and a driver can run for many minutes.
wait_child() {
  local rc=0
  wait "$1" || rc=$?
  return "$rc"
}

if [ "$smoke" = 1 ]; then
  # ClusterShuffleCheck: stock then ours (system properties are its SparkConf, as spark-submit would set them)
  say "smoke: ClusterShuffleCheck, ${records} x 1 KiB records, stock vs vrdma-shm, unshaped links"
  rc=0
  ns_exec "${p}ctl" "$shm_base/ctl" env SPARK_LOCAL_IP=198.18.0.2 java -Xmx1g "${opens_words[@]}" \
    -Dspark.master="$master_url" -Dspark.driver.host=198.18.0.2 -Dspark.driver.bindAddress=198.18.0.2 \
    -Dspark.executor.memory="${executor_mb}m" -Dspark.executor.cores=1 -Dspark.cores.max=2 \
    -Dspark.ui.enabled=false -Dspark.executor.extraClassPath="$exec_cp" \
    -Dspark.shuffle.manager=io.vrdma.spark.VrdmaShuffleManager -Dspark.shuffle.readHostLocalDisk=false \
    -Dspark.shuffle.vrdma.transport.tiers=shm,tcp -Dspark.shuffle.vrdma.transport.shm.arenaPath=/dev/shm/vrdma-arena \
    -Dspark.shuffle.vrdma.transport.shm.arenaBytes=256m \
    -cp "$plugin:$job_jar:$spark_home/conf:$spark_home/jars/*" io.vrdma.bench.spark.ClusterShuffleCheck \
    --records "$records" --partitions "$partitions" --expect-tier shm --wait-s "$start_timeout" \
    > "$logs/smoke-driver.out" 2> "$logs/smoke-driver.log" &
  wait_child $! || rc=$?
  grep -E '^(stock|vrdma|CHECK|RESULT)' "$logs/smoke-driver.out" | sed 's/^/  /' >&2 || true
  if [ "$rc" != 0 ] || ! grep -q '^RESULT PASS' "$logs/smoke-driver.out"; then
    tail -30 "$logs/smoke-driver.log" >&2
    echo "FAIL: separate-hosts smoke test (exit $rc; logs in $logs)"
    exit 1
  fi
  # both executors mapped one arena, through the /dev/shm their hosts share, and nothing else did
  if [ ! -e "$shm_base/hostA/vrdma-arena" ] || [ -n "$(ls -A "$shm_base/ctl")" ]; then
    echo "FAIL: the arena is not where the co-resident hosts share it ($(ls -A "$shm_base"/*))"
    exit 1
  fi
  echo "PASS: Spark standalone, two worker namespaces at 198.18.0.11/12: stock and vrdma-shm agree; every remote" \
    "byte over shm, none over tcp ($(( $(date +%s) - started )) s)"
  exit 0
fi

# --- the benchmark: each link speed, each compression setting -----------------------------------------------------
# What each link emulation gives: one TCP stream from worker 1 to worker 2 (LinkProbe.java, single-file launch)
probe_link() {
  local link="$1" mb=500 result
  [ "$link" = 1gbit ] && mb=125
  ip netns exec "${p}w2" java "$here/LinkProbe.java" receive 198.18.0.12 7999 > "$logs/probe-receive.log" 2>&1 &
  local receiver=$!
  if result="$(ip netns exec "${p}w1" java "$here/LinkProbe.java" send 198.18.0.12 7999 "$mb" 2>&1)"; then
    echo "$link: $result"
  else
    echo "$link: probe failed: $(echo "$result" | tail -1)"
  fi
  wait "$receiver" 2>/dev/null || true
}
: > "$out/link-probe.txt"
for link in "${link_list[@]}"; do
  set_link "$link"
  probe_link "$link" | tee -a "$out/link-probe.txt" >&2
done

if [ "$job" = tpcds ]; then
  # the main job's runner, once per link (its applications live for the whole run; the links change between runs)
  for link in "${link_list[@]}"; do
    set_link "$link"
    say "TPC-DS sf$scale at link $link${delay:+ (delay $delay)}: ${variant_list[*]}; $rounds round(s)"
    rc=0
    run_driver "$logs/driver-tpcds-$link.log" --cluster hosts --master "$master_url" --bound-master "$bound_url" \
      --driver-host 198.18.0.2 --executor-class-path "$exec_cp" --variants "$variants" --scale "$scale" \
      ${queries:+--queries "$queries"} --rounds "$rounds" --executor-mb "$executor_mb" --driver-mb 1024 \
      --out "$out/tpcds-$link" || rc=$?
    [ "$rc" = 0 ] || { echo "hosts: FAIL: TPC-DS failed at link $link (exit $rc)" >&2; exit 1; }
  done
  set_link unshaped
  say "done: $out/tpcds-<link>/tpcds-report.md"
  exit 0
fi

# One driver run per compression setting (spark.shuffle.compress is fixed when an executor starts); inside it one
# application per variant times every link in turn, calling back here to change the qdiscs between jobs.
rc=0
set_link "${link_list[0]}"
for c in "${compress_list[@]}"; do
  cmp=$([ "$c" = on ] && echo true || echo false)
  dir="$out/compress-$c"
  say "spark.shuffle.compress=$cmp: links $links${delay:+ (delay $delay)}; ${variant_list[*]}; $rounds round(s)"
  run_driver "$logs/driver-compress-$c.log" --job synthetic --cluster hosts --master "$master_url" \
    --bound-master "$bound_url" --driver-host 198.18.0.2 --executor-class-path "$exec_cp" \
    --arena-dir "$shm_base/hostA" --compress "$cmp" --links "$links" \
    --link-command "$here/run-hosts.sh --internal-set-link $p $bound ${delay:--}" \
    --configs "$variants" --records "$records" --partitions "$partitions" --rounds "$rounds" --warmup "$warmup" \
    --executor-mb "$executor_mb" --out "$dir" || rc=$?
  [ "$rc" = 0 ] || { echo "hosts: FAIL: the job failed with compress $c (exit $rc)" >&2; exit 1; }
done
set_link unshaped
say "report"
java @"$args_file" --job hosts-report --in "$out" --out "$out" || exit 1
say "done: $out"
