# Shared by start.sh, stop.sh and node.sh (sourced, not run).

BASE=${SLURM_CI_BASE:-/tmp/slurm-local/state}
# Multi-node mode: every slurmd in its own network namespace on a private bridge.
NODES=${SLURM_CI_NODES:-2}
SUBNET=${SLURM_CI_SUBNET:-10.213.57}          # a private /24: .1 = controller, .11.. = nodes
BRIDGE=${SLURM_CI_BRIDGE:-slurmci-br0}
PREFIX=${SLURM_CI_NODE_PREFIX:-ci-n}          # node names ci-n1, ci-n2, ...
CTL_NAME=${SLURM_CI_CTL_NAME:-ci-ctl}
HOSTS_MARK="# slurm-local-cluster $BASE"      # ends every /etc/hosts line the cluster adds

[[ "$NODES" =~ ^[1-9][0-9]?$ ]] || { echo "SLURM_CI_NODES must be 1..99, not '$NODES'" >&2; exit 2; }
[[ "$SUBNET" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "SLURM_CI_SUBNET must look like 10.213.57" >&2; exit 2; }

# node_name <i> / node_addr <i> / node_ns <i>  (i = 1..NODES)
node_name() { if [ "$NODES" = 1 ]; then echo localhost; else echo "$PREFIX$1"; fi; }
node_addr() { if [ "$NODES" = 1 ]; then echo 127.0.0.1; else echo "$SUBNET.$((10 + $1))"; fi; }
node_ns() { echo "slurmci-$PREFIX$1"; }
node_veth() { echo "sci-$PREFIX$1"; }         # host end; the namespace end is eth0 there

# alive <pidfile> <comm>: true if pidfile names a live (not zombie) process whose comm is <comm>
# (checking comm keeps a recycled PID of another program from being taken for ours).
alive() {
  local pf=$1 comm=$2 pid
  [ -s "$pf" ] || return 1
  pid=$(cat "$pf" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$comm" ] || return 1
  # a killed daemon stays a zombie until reaped: that is not alive
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}

# wait_for <timeout_s> <cmd...>: poll every 0.2 s, false after the timeout
wait_for() {
  local t=$1; shift
  local end=$(( $(date +%s) + t ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -ge "$end" ] && return 1
    sleep 0.2
  done
}

# stop_pid <pid> <what>: TERM, up to 10 s, then KILL
stop_pid() {
  local pid=$1 what=$2 i
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  if [ -d "/proc/$pid" ]; then echo "$what ($pid): still alive after 10 s, SIGKILL"; kill -KILL "$pid" 2>/dev/null; sleep 0.2; fi
  echo "$what ($pid): stopped"
}

# hosts_remove: drop the lines network.sh added to /etc/hosts, rewriting it in place (it may
# be a bind mount, which a rename would fail on)
hosts_remove() {
  grep -qF "$HOSTS_MARK" /etc/hosts 2>/dev/null || return 0
  local tmp
  tmp=$(mktemp)
  grep -vF "$HOSTS_MARK" /etc/hosts > "$tmp"
  cat "$tmp" > /etc/hosts
  rm -f "$tmp"
}

# cluster_env: the settings start.sh used, so that stop.sh and node.sh act on the same pieces
cluster_env() { [ -f "$BASE/cluster.env" ] && source "$BASE/cluster.env"; return 0; }

# start_slurmd <i>: node i's slurmd (in its namespace, with its own hostname, when NODES > 1)
start_slurmd() {
  local i=$1 name pf
  name=$(node_name "$i"); pf="$BASE/run/slurmd-$name.pid"
  if alive "$pf" slurmd; then echo "slurmd $name already running (pid $(cat "$pf"))"; return 0; fi
  rm -f "$pf"
  mkdir -p "$BASE/spool/d-$name"
  if [ "$NODES" = 1 ]; then
    slurmd -N "$name" || return 1
  else
    # nsenter, not `ip netns exec`: that also remounts /sys, hiding the cgroup mounts slurmd reads
    nsenter --net="/run/netns/$(node_ns "$i")" unshare --uts sh -c "hostname $name && exec slurmd -N $name" || return 1
  fi
  wait_for 10 test -s "$pf" || { echo "slurmd $name wrote no pid file"; return 1; }
  echo "slurmd $name started (pid $(cat "$pf"))"
}
