#!/usr/bin/env bash
# slurm/local_cluster/stop.sh - stop what start.sh started, using only its PID files under
# $SLURM_CI_BASE (a PID is signalled only if /proc/PID/comm still names the expected daemon;
# nothing is killed by name). Running jobs are cancelled first so that no slurmstepd or job
# process outlives slurmd. In the multi-node mode it then removes what start.sh added, each
# by its name: the nodes' network namespaces (after killing any process left in them), the
# veth links, the bridge and the marked /etc/hosts lines.
#   SLURM_CI_PURGE=1  also delete $SLURM_CI_BASE afterwards
set -uo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=common.sh
source "$HERE/common.sh"
cluster_env   # the node count and names the cluster was started with
# shellcheck source=network.sh
source "$HERE/network.sh"
export SLURM_CONF=$BASE/etc/slurm.conf

stop_one() {  # stop_one <pidfile> <comm>
  local pf=$1 comm=$2
  if ! alive "$pf" "$comm"; then echo "$comm: not running"; rm -f "$pf"; return 0; fi
  stop_pid "$(cat "$pf")" "$comm"
  rm -f "$pf"
}

# 1. cancel all jobs while slurmctld/slurmd are still up, wait (bounded) for them to go
if alive "$BASE/run/slurmctld.pid" slurmctld; then
  jobs=$(timeout 20 squeue -h -o %i 2>/dev/null | tr '\n' ' ')
  if [ -n "${jobs// }" ]; then
    echo "cancelling jobs: $jobs"
    # shellcheck disable=SC2086
    timeout 20 scancel $jobs 2>/dev/null
    for _ in $(seq 1 60); do [ -z "$(timeout 10 squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.5; done
  fi
fi

# 2. daemons, reverse start order (slurmd-<node>.pid; a plain slurmd.pid too, if one is there)
for pf in "$BASE"/run/slurmd-*.pid "$BASE"/run/slurmd.pid; do [ -e "$pf" ] && stop_one "$pf" slurmd; done
stop_one "$BASE/run/slurmctld.pid"       slurmctld
stop_one "$BASE/run/slurmdbd.pid"        slurmdbd
stop_one "$BASE/mysql/run/mysqld.pid"    mariadbd
stop_one "$BASE/munge/run/munged.pid"    munged

# 3. the private network of the multi-node mode
if [ "$NODES" -gt 1 ]; then net_down; else hosts_remove; fi

# 4. symlink made by SLURM_CI_LINK_ETC=1, only if it points into $BASE
if [ -L /etc/slurm/slurm.conf ] && [ "$(readlink /etc/slurm/slurm.conf)" = "$BASE/etc/slurm.conf" ]; then
  rm -f /etc/slurm/slurm.conf; echo "removed /etc/slurm/slurm.conf symlink"
fi

if [ "${SLURM_CI_PURGE:-0}" = 1 ]; then rm -rf "$BASE"; echo "removed $BASE"; fi
