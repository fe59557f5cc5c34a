#!/usr/bin/env bash
# QEMU test bench for the verbs (Soft-RoCE) and IVSHMEM tiers.
#
#   vm.sh image                 build (or find in the cache) the Debian guest image; prints its directory
#   vm.sh run [options] -- CMD  boot guest(s), run CMD in each, print its output, exit with its status
#   vm.sh clean                 delete the image cache
#
# Exit status of run: the command's; 124 on timeout; 125 when a guest stopped without finishing it; 2 on bad
# usage; 3 when this machine cannot run guests at all (not root, no apt-get).
#
# See benchmarks/vm/README.md for the options and examples. Everything runs as root (debootstrap,
# apt-get); the guests run under QEMU TCG because KVM guests hang on this kind of host.
set -euo pipefail
# debootstrap and mkfs live in sbin, which a non-login root shell may not have on its PATH.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${VRDMA_VM_CACHE:-$HOME/.cache/vrdma-vm}"
SUITE=bookworm
# The guest's packages. The image's cache key is derived from this list and the boot stub below, so
# changing either builds a new image.
PACKAGES=(linux-image-amd64 initramfs-tools kmod udev iproute2 pciutils procps
          rdma-core ibverbs-providers ibverbs-utils rdmacm-utils perftest
          openjdk-17-jre-headless iputils-ping)
# The image's own init: only mounts the per-run control share and hands over to guest-init.sh from
# that share, so the real start-up logic can change without rebuilding the image.
STUB='#!/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sys /sys
modprobe -q 9pnet_virtio; modprobe -q 9p
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 vrdmactl /vrdma; then
  exec /bin/bash /vrdma/guest-init.sh
fi
echo "vrdma-init: control share missing" >&2
echo o > /proc/sysrq-trigger
sleep 30'

log() { echo "vm.sh: $*" >&2; }
die() { echo "vm.sh: error: $*" >&2; exit 2; }
# Exit 3: this machine cannot run the bench at all (as opposed to a bench that ran and failed).
not_run() { echo "vm.sh: NOT RUN: $*" >&2; exit 3; }

# --- host packages -----------------------------------------------------------------------------
ensure_host_tools() {
  local missing=()
  command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || not_run "missing ${missing[*]} and not root: install them with apt-get"
  command -v apt-get >/dev/null || not_run "missing ${missing[*]} and no apt-get to install them"
  log "installing host packages: ${missing[*]}"
  # Wait for another apt/dpkg run instead of failing on its lock.
  apt-get -o DPkg::Lock::Timeout=900 update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q \
    --no-install-recommends "${missing[@]}" >&2
}

# The Debian mirror the host's apt already uses (VRDMA_VM_MIRROR overrides), so the image comes from
# the same place as the host's packages.
debian_mirror() {
  if [ -n "${VRDMA_VM_MIRROR:-}" ]; then echo "$VRDMA_VM_MIRROR"; return; fi
  local m=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk '/^URIs:/ {u=$2} /^Suites:/ && / '"$SUITE"'( |$)/ {print u; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(awk '$1=="deb" && $3=="'"$SUITE"'" {print $2; exit}' /etc/apt/sources.list)
  fi
  [ -n "$m" ] || die "no Debian $SUITE mirror in /etc/apt; set VRDMA_VM_MIRROR"
  echo "$m"
}

image_key() {
  { printf '%s\n' "$SUITE" "${PACKAGES[@]}"; printf '%s' "$STUB"; echo v1; } | sha256sum | cut -c1-16
}

# Builds the image into $CACHE/<key>/ unless it is there: rootfs.img (ext4), vmlinuz, initrd.img.
build_image() {
  ensure_host_tools
  local key dir
  key=$(image_key); dir="$CACHE/$key"
  mkdir -p "$CACHE" 2>/dev/null || not_run "cannot create the image cache $CACHE (set VRDMA_VM_CACHE)"
  exec 9>"$CACHE/.lock"
  flock 9   # one builder at a time; the others wait and then find the image
  if [ -f "$dir/ready" ]; then echo "$dir"; return 0; fi
  [ "$(id -u)" = 0 ] || not_run "building the guest image needs root (debootstrap)"
  local mirror root
  mirror=$(debian_mirror)
  root="$CACHE/rootfs.$key"
  rm -rf "$root" "$dir"; mkdir -p "$CACHE/debs"
  log "building guest image $key from $SUITE packages (debootstrap, a few minutes)"
  local t0=$SECONDS
  local incl; incl=$(IFS=,; echo "${PACKAGES[*]}")
  if ! debootstrap --variant=minbase --cache-dir="$CACHE/debs" --include="$incl" \
       "$SUITE" "$root" "$mirror" > "$CACHE/debootstrap.log" 2>&1; then
    tail -20 "$CACHE/debootstrap.log" >&2
    die "debootstrap failed (full log: $CACHE/debootstrap.log)"
  fi
  mkdir -p "$dir"
  cp "$(ls "$root"/boot/vmlinuz-* | sort -V | tail -1)" "$dir/vmlinuz"
  cp "$(ls "$root"/boot/initrd.img-* | sort -V | tail -1)" "$dir/initrd.img"
  printf '%s\n' "$STUB" > "$root/sbin/vrdma-init"; chmod 755 "$root/sbin/vrdma-init"
  mkdir -p "$root/vrdma"
  echo vrdma-guest > "$root/etc/hostname"
  # Smaller image: no docs, no apt lists, no kernel drivers a QEMU guest never loads.
  rm -rf "$root"/usr/share/{doc,man,info,locale} "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/boot/*
  local kmods; kmods=$(ls -d "$root"/lib/modules/*/kernel)
  rm -rf "$kmods"/drivers/{gpu,media,net/wireless,staging,infiniband/hw,iio,bluetooth,isdn,usb,hid,input/joystick} \
         "$kmods"/sound "$kmods"/net/{bluetooth,wireless,mac80211}
  local mib; mib=$(( $(du -sm "$root" | cut -f1) * 5 / 4 + 256 ))
  mkfs.ext4 -q -F -L vrdma-root -d "$root" "$dir/rootfs.img" "${mib}M" >&2
  rm -rf "$root"
  touch "$dir/ready"
  log "guest image ready in $((SECONDS - t0)) s: $dir"
  echo "$dir"
}

# --- run ---------------------------------------------------------------------------------------
usage() {
  cat >&2 <<'U'
usage: vm.sh run [--guests 1|2] [--ivshmem-mib N] [--share DIR[:ro]]... [--env NAME=VALUE]...
                 [--mem MIB] [--smp N] [--timeout SECONDS] [--keep-logs] -- COMMAND [ARG...]
       vm.sh image | vm.sh clean          (options and examples: benchmarks/vm/README.md)
U
  exit 2
}

run() {
  local guests=1 ivshmem_mib=0 mem=2048 smp=2 timeout=900 keep=0 accel=${VRDMA_VM_ACCEL:-tcg}
  local shares=() envs=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --guests) guests=$2; shift 2 ;;
      --ivshmem-mib) ivshmem_mib=$2; shift 2 ;;
      --share) shares+=("$2"); shift 2 ;;
      --env) envs+=("$2"); shift 2 ;;
      --mem) mem=$2; shift 2 ;;
      --smp) smp=$2; shift 2 ;;
      --timeout) timeout=$2; shift 2 ;;
      --keep-logs) keep=1; shift ;;
      --accel) accel=$2; shift 2 ;;
      --) shift; break ;;
      -h|--help) usage ;;
      *) echo "vm.sh: unknown option '$1'" >&2; usage ;;
    esac
  done
  [ $# -gt 0 ] || { echo "vm.sh: no command after --" >&2; usage; }
  case "$guests" in 1|2) ;; *) die "--guests must be 1 or 2, not '$guests'" ;; esac
  [[ "$ivshmem_mib" =~ ^[0-9]+$ ]] || die "--ivshmem-mib must be a number of MiB, not '$ivshmem_mib'"
  if [ "$ivshmem_mib" -gt 0 ] && [ $((ivshmem_mib & (ivshmem_mib - 1))) -ne 0 ]; then
    die "--ivshmem-mib must be a power of two (an ivshmem BAR is), not $ivshmem_mib"
  fi
  [[ "$timeout" =~ ^[0-9]+$ ]] || die "--timeout must be seconds, not '$timeout'"
  local accel_args
  case "$accel" in
    tcg) accel_args=(-accel tcg,thread=multi -cpu max) ;;
    kvm) [ -w /dev/kvm ] || die "--accel kvm: /dev/kvm is missing or not writable"
         accel_args=(-accel kvm -cpu "${VRDMA_VM_KVM_CPU:-host,-arch-capabilities}") ;;
    *) die "--accel must be tcg or kvm, not '$accel'" ;;
  esac
  local e; for e in "${envs[@]}"; do [[ "$e" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--env wants NAME=VALUE, not '$e'"; done
  # Handed through unasked: where the verbs tier finds libdisni (on a shared path).
  [ -n "${VRDMA_LIBDISNI:-}" ] && envs+=("VRDMA_LIBDISNI=$VRDMA_LIBDISNI")

  local img; img=$(build_image)
  RUN_DIR=$(mktemp -d /tmp/vrdma-vm.XXXXXX)
  QEMU_PIDS=(); TAIL_PIDS=(); IVSHMEM_FILE=""; KEEP_LOGS=$keep
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  # When whoever reads our output is killed together with us, bash's own notices ("Terminated") would
  # hit a closed pipe and SIGPIPE would end this shell before its cleanup: ignore it (writes just fail).
  trap '' PIPE

  if [ "$ivshmem_mib" -gt 0 ]; then
    IVSHMEM_FILE="/dev/shm/vrdma-ivshmem.$$"
    rm -f "$IVSHMEM_FILE"
  fi
  # Two guests share one L2 link through a pair of UDP sockets on the host; one guest alone gets
  # QEMU's user-mode network. Either way the guest NIC carries Soft-RoCE (rxe0).
  local p1 p2
  p1=$(( 20000 + RANDOM % 20000 )); p2=$(( p1 + 1 ))

  local g
  for g in $(seq 1 "$guests"); do
    local ctl="$RUN_DIR/g$g"; mkdir -p "$ctl"
    cp "$HERE/guest-init.sh" "$ctl/guest-init.sh"
    {
      echo "VRDMA_GUEST=$g"
      echo "VRDMA_GUESTS=$guests"
      if [ "$guests" = 1 ]; then echo "VRDMA_IP=10.0.2.15/24"; echo "VRDMA_PEER_IP="
      else echo "VRDMA_IP=10.0.3.$g/24"; echo "VRDMA_PEER_IP=10.0.3.$((3 - g))"; fi
      echo "VRDMA_CWD=$(printf %q "$PWD")"
    } > "$ctl/env"
    : > "$ctl/shares"
    local i=0 s path mode
    for s in "${shares[@]}"; do
      path=${s%:ro}; mode=rw; [ "$path" != "$s" ] && mode=ro
      path=$(cd "$path" && pwd) || die "--share: no directory '$s'"
      echo "share$i $mode $path" >> "$ctl/shares"; i=$((i + 1))
    done
    : > "$ctl/userenv"
    for e in "${envs[@]}"; do printf 'export %q\n' "$e" >> "$ctl/userenv"; done
    printf '%q ' "$@" > "$ctl/cmd"; echo >> "$ctl/cmd"
    : > "$ctl/stdout"; : > "$ctl/stderr"

    local args=(qemu-system-x86_64 -name "vrdma-g$g" "${accel_args[@]}" -m "$mem" -smp "$smp"
      -nodefaults -display none -no-reboot -serial "file:$RUN_DIR/g$g.console" -monitor none
      -kernel "$img/vmlinuz" -initrd "$img/initrd.img"
      -append "console=ttyS0 root=/dev/vda rw init=/sbin/vrdma-init panic=-1 loglevel=4 mitigations=off no_timer_check"
      -drive "file=$img/rootfs.img,format=raw,if=virtio,snapshot=on"
      -virtfs "local,path=$ctl,mount_tag=vrdmactl,security_model=none,id=ctl")
    i=0
    for s in "${shares[@]}"; do
      path=${s%:ro}; path=$(cd "$path" && pwd)
      local ro=""; [ "${s%:ro}" != "$s" ] && ro=",readonly=on"
      args+=(-virtfs "local,path=$path,mount_tag=share$i,security_model=none,multidevs=remap,id=share$i$ro")
      i=$((i + 1))
    done
    if [ "$guests" = 1 ]; then
      args+=(-netdev user,id=n0 -device "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:01")
    else
      local mine=$p1 other=$p2; [ "$g" = 2 ] && { mine=$p2; other=$p1; }
      args+=(-netdev "socket,id=n0,udp=127.0.0.1:$other,localaddr=127.0.0.1:$mine"
             -device "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:0$g")
    fi
    if [ -n "$IVSHMEM_FILE" ]; then
      args+=(-object "memory-backend-file,id=ivshm,share=on,mem-path=$IVSHMEM_FILE,size=${ivshmem_mib}M"
             -device "ivshmem-plain,memdev=ivshm")
    fi
    "${args[@]}" > "$RUN_DIR/g$g.qemu.log" 2>&1 &
    QEMU_PIDS+=($!)
    # Stream the command's output while it runs; with two guests each line says which one.
    local prefix=""; [ "$guests" = 2 ] && prefix="[g$g] "
    (tail -n +1 -F --pid="${QEMU_PIDS[-1]}" "$ctl/stdout" 2>/dev/null | sed -u "s/^/$prefix/") &
    TAIL_PIDS+=($!)
    (tail -n +1 -F --pid="${QEMU_PIDS[-1]}" "$ctl/stderr" 2>/dev/null | sed -u "s/^/$prefix/" >&2) &
    TAIL_PIDS+=($!)
  done

  # Wait for every guest, or the timeout.
  local deadline=$((SECONDS + timeout)) alive released=0
  while :; do
    alive=0
    local n=1 p crashed="" failed=""
    for p in "${QEMU_PIDS[@]}"; do
      if kill -0 "$p" 2>/dev/null; then alive=1
      elif [ ! -s "$RUN_DIR/g$n/status" ]; then crashed=$n
      elif [ "$(cat "$RUN_DIR/g$n/status")" != 0 ]; then failed=$n; fi
      n=$((n + 1))
    done
    [ "$alive" = 0 ] && break
    if [ -n "$failed" ]; then
      # Its peer (a server waiting for a client, say) would wait until the timeout.
      log "guest $failed: command failed with status $(cat "$RUN_DIR/g$failed/status"): stopping the others"
      STOPPED_EARLY=1
      kill_guests
      break
    fi
    if [ "$released" = 0 ]; then
      # The start barrier: every guest waits for "go" until all of them are up.
      local ready=1
      for n in $(seq 1 "$guests"); do [ -e "$RUN_DIR/g$n/ready" ] || ready=0; done
      if [ "$ready" = 1 ]; then
        for n in $(seq 1 "$guests"); do touch "$RUN_DIR/g$n/go"; done
        released=1
      fi
    fi
    if [ -n "$crashed" ]; then
      # A guest that died without a status (kernel panic, QEMU error) leaves its peer waiting forever.
      log "guest $crashed stopped without finishing its command: stopping the others"
      kill_guests
      break
    fi
    if [ $SECONDS -ge $deadline ]; then
      log "timeout after ${timeout}s: stopping the guests"
      kill_guests
      wait_tails
      return 124
    fi
    sleep 0.2
  done
  wait_tails

  local rc=0 st
  for g in $(seq 1 "$guests"); do
    st=$(cat "$RUN_DIR/g$g/status" 2>/dev/null || true)
    if ! [[ "$st" =~ ^[0-9]+$ ]] && [ "${STOPPED_EARLY:-0}" = 1 ]; then
      continue   # stopped because another guest failed; that one's status is the result
    elif ! [[ "$st" =~ ^[0-9]+$ ]]; then
      log "guest $g ended without the command's exit status; its console (last lines):"
      tail -25 "$RUN_DIR/g$g.console" >&2 || true
      sed 's/^/qemu: /' "$RUN_DIR/g$g.qemu.log" >&2 || true
      st=125
    elif [ "$st" != 0 ] && [ "$guests" = 2 ]; then
      log "guest $g: command exited with status $st"
    fi
    [ "$rc" = 0 ] && rc=$st
  done
  return "$rc"
}

kill_guests() {
  local p
  for p in "${QEMU_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${QEMU_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}

wait_tails() {
  local p
  for p in "${TAIL_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  TAIL_PIDS=()
}

cleanup() {
  local rc=$?
  kill_guests
  local p; for p in "${TAIL_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${IVSHMEM_FILE:-}" ] && rm -f "$IVSHMEM_FILE"
  if [ -n "${RUN_DIR:-}" ]; then
    if [ "${KEEP_LOGS:-0}" = 1 ]; then
      log "logs (consoles, outputs) kept in $RUN_DIR"
    else
      rm -rf "$RUN_DIR"
    fi
  fi
  exit "$rc"
}

case "${1:-}" in
  image) shift; build_image ;;
  run) shift; run "$@" ;;
  clean) rm -rf "$CACHE" ;;
  *) echo "usage: vm.sh image | vm.sh run [options] -- COMMAND | vm.sh clean" >&2; exit 2 ;;
esac
