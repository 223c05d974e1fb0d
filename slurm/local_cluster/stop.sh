#!/usr/bin/env bash
# slurm/local_cluster/stop.sh - stop the daemons started by start.sh, using only their PID
# files under $SLURM_CI_BASE (a PID is signalled only if /proc/PID/comm still names the
# expected daemon; nothing is killed by name). Running jobs are cancelled first so that no
# slurmstepd or job process outlives slurmd.
#   SLURM_CI_PURGE=1  also delete $SLURM_CI_BASE afterwards
set -uo pipefail
BASE=${SLURM_CI_BASE:-/tmp/slurm-local/state}
export SLURM_CONF=$BASE/etc/slurm.conf

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

stop_one() {  # stop_one <pidfile> <comm>
  local pf=$1 comm=$2 pid i
  if ! alive "$pf" "$comm"; then echo "$comm: not running"; rm -f "$pf"; return 0; fi
  pid=$(cat "$pf")
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  if [ -d "/proc/$pid" ]; then echo "$comm ($pid): still alive after 10 s, SIGKILL"; kill -KILL "$pid" 2>/dev/null; sleep 0.2; fi
  echo "$comm ($pid): stopped"
  rm -f "$pf"
}

# 1. cancel all jobs while slurmctld/slurmd are still up, wait (bounded) for them to go
if alive "$BASE/run/slurmctld.pid" slurmctld; then
  jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
  if [ -n "${jobs// }" ]; then
    echo "cancelling jobs: $jobs"
    scancel $jobs 2>/dev/null
    for i in $(seq 1 60); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.5; done
  fi
fi

# 2. daemons, reverse start order
stop_one "$BASE/run/slurmd.pid"          slurmd
stop_one "$BASE/run/slurmctld.pid"       slurmctld
stop_one "$BASE/run/slurmdbd.pid"        slurmdbd
stop_one "$BASE/mysql/run/mysqld.pid"    mariadbd
stop_one "$BASE/munge/run/munged.pid"    munged

# 3. symlink made by SLURM_CI_LINK_ETC=1, only if it points into $BASE
if [ -L /etc/slurm/slurm.conf ] && [ "$(readlink /etc/slurm/slurm.conf)" = "$BASE/etc/slurm.conf" ]; then
  rm -f /etc/slurm/slurm.conf; echo "removed /etc/slurm/slurm.conf symlink"
fi

if [ "${SLURM_CI_PURGE:-0}" = 1 ]; then rm -rf "$BASE"; echo "removed $BASE"; fi
