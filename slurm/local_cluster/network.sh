# The private network of the multi-node mode (sourced by start.sh, stop.sh and node.sh).
#
#   root namespace: bridge $BRIDGE with $SUBNET.1/24 (slurmctld, slurmdbd, clients)
#   namespace slurmci-<node i>: eth0 = $SUBNET.(10+i)/24, the peer of veth sci-<node i>
#                               on the bridge; lo up
#   /etc/hosts: "$SUBNET.1 $CTL_NAME" and one line per node, each ending in $HOSTS_MARK
#
# Only addresses on that bridge are used; net_down removes every piece by its name.

ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

# the subnet must be the bridge's alone: no address or route of another link inside it
subnet_free() {
  local other
  other=$(ip -4 -o addr show | awk -v b="$BRIDGE" '$2 != b {print $2, $4}' | grep -F " $SUBNET." || true)
  other+=$(ip -4 route show | grep -v " dev $BRIDGE " | grep "^$SUBNET\." || true)
  [ -z "$other" ] || { echo "subnet $SUBNET.0/24 is already in use: $other (set SLURM_CI_SUBNET)"; return 1; }
}

net_up() {
  local i ns veth
  command -v ip >/dev/null || { echo "the multi-node mode needs iproute2 (ip)"; return 1; }
  subnet_free || return 1
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge || return 1
  ip addr replace "$SUBNET.1/24" dev "$BRIDGE" && ip link set "$BRIDGE" up || return 1
  for i in $(seq 1 "$NODES"); do
    ns=$(node_ns "$i"); veth=$(node_veth "$i")
    ns_exists "$ns" || ip netns add "$ns" || return 1
    if ! ip link show "$veth" >/dev/null 2>&1; then
      ip -n "$ns" link del eth0 >/dev/null 2>&1 || true
      ip link add "$veth" type veth peer name eth0 netns "$ns" || return 1
    fi
    ip link set "$veth" master "$BRIDGE" up || return 1
    ip -n "$ns" addr replace "$(node_addr "$i")/24" dev eth0 || return 1
    ip -n "$ns" link set eth0 up && ip -n "$ns" link set lo up || return 1
  done
  hosts_remove
  { echo "$SUBNET.1 $CTL_NAME $HOSTS_MARK"
    for i in $(seq 1 "$NODES"); do echo "$(node_addr "$i") $(node_name "$i") $HOSTS_MARK"; done
  } >> /etc/hosts
}

# kill_ns <ns>: SIGKILL every process in a namespace (a node losing power), bounded wait
kill_ns() {
  local ns=$1 pids i
  for i in $(seq 1 50); do
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
    [ -z "${pids// }" ] && return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    sleep 0.1
  done
  echo "processes left in $ns: $pids"; return 1
}

net_down() {
  local i ns veth
  for i in $(seq 1 "$NODES"); do
    ns=$(node_ns "$i"); veth=$(node_veth "$i")
    if ns_exists "$ns"; then kill_ns "$ns"; ip netns del "$ns" && echo "removed namespace $ns"; fi
    ip link show "$veth" >/dev/null 2>&1 && ip link del "$veth" && echo "removed link $veth"
  done
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE" && echo "removed bridge $BRIDGE"; fi
  hosts_remove
}
