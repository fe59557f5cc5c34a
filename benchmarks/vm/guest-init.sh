#!/bin/bash
# Runs as PID 1 inside a vm.sh guest (started by /sbin/vrdma-init from the per-run control share
# mounted at /vrdma). Brings up the NIC and Soft-RoCE, mounts the host's shares at their host paths,
# runs the command, leaves its output and exit status in /vrdma, and powers the guest off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
ctl=/vrdma
say() { echo "guest-init: $*" > /dev/console; echo "guest-init: $*" >> "$ctl/stderr"; }
finish() {
  echo "$1" > "$ctl/status"
  sync
  echo o > /proc/sysrq-trigger
  sleep 60
}
# shellcheck disable=SC1091
. "$ctl/env"
export VRDMA_GUEST VRDMA_GUESTS VRDMA_PEER_IP
export VRDMA_IP_ADDR="${VRDMA_IP%/*}"

mountpoint -q /dev || mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
echo 1 > /proc/sys/kernel/sysrq
hostname "vrdma-g$VRDMA_GUEST"

for m in virtio_net rdma_rxe rdma_ucm ib_uverbs; do
  modprobe "$m" || say "modprobe $m failed"
done
ip link set lo up
nic=""
for n in /sys/class/net/*; do
  n=${n##*/}; [ "$n" = lo ] && continue; nic=$n; break
done
if [ -z "$nic" ]; then say "no network interface"; finish 125; fi
ip link set "$nic" up
ip addr add "$VRDMA_IP" dev "$nic"
[ "$VRDMA_GUESTS" = 1 ] && ip route add default via 10.0.2.2 2>/dev/null
if ! rdma link add rxe0 type rxe netdev "$nic"; then say "rdma link add rxe0 failed"; fi
export VRDMA_NIC="$nic"

# The IVSHMEM device (Red Hat 1af4:1110), if the guest has one: its BAR 2 is the shared memory.
for d in /sys/bus/pci/devices/*; do
  if [ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1110 ]; then
    export VRDMA_IVSHMEM_BAR="$d/resource2"
    # Memory decoding must be on for the BAR to be mapped; no driver has done it.
    setpci -s "${d##*/}" COMMAND=0x2:0x2 2>/dev/null || true
    break
  fi
done

# Host directories at the same paths as on the host, so host-built classpaths work verbatim.
while read -r tag mode path; do
  [ -n "$tag" ] || continue
  mkdir -p "$path"
  opts=trans=virtio,version=9p2000.L,msize=524288
  [ "$mode" = ro ] && opts="$opts,ro"
  mount -t 9p -o "$opts" "$tag" "$path" || say "cannot mount $path"
done < "$ctl/shares"

# Guests boot at different speeds: tell the host this one is ready and wait until it says all are, so
# that a server in one guest and a client in the other start together and need no retry loops.
touch "$ctl/ready"
for _ in $(seq 1 3000); do [ -e "$ctl/go" ] && break; sleep 0.1; done
[ -e "$ctl/go" ] || say "the other guest never became ready; running the command anyway"

# Verbs registers memory: no memlock limit inside the bench guests.
ulimit -l unlimited
# shellcheck disable=SC1091
. "$ctl/userenv"
cd "$VRDMA_CWD" 2>/dev/null || cd /
bash "$ctl/cmd" < /dev/null >> "$ctl/stdout" 2>> "$ctl/stderr"
finish $?
