#!/usr/bin/env bash
# slurm/local_cluster/node.sh - act on one node of the multi-node local cluster (tests use it)
#
#   node.sh kill <i>    SIGKILL every process in node i's namespace: its slurmd, slurmstepds
#                       and job tasks (the node loses power; its network stays)
#   node.sh start <i>   start node i's slurmd again (the node is back)
#   node.sh pids <i>    the PIDs in node i's namespace
set -uo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=common.sh
source "$HERE/common.sh"
cluster_env
# shellcheck source=network.sh
source "$HERE/network.sh"
export SLURM_CONF=$BASE/etc/slurm.conf

[ $# = 2 ] && [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge 1 ] && [ "$2" -le "$NODES" ] \
  || { echo "usage: node.sh kill|start|pids <1..$NODES>" >&2; exit 2; }
[ "$NODES" -gt 1 ] || { echo "node.sh needs the multi-node mode (SLURM_CI_NODES > 1)" >&2; exit 2; }
case $1 in
  kill) kill_ns "$(node_ns "$2")" && echo "node $(node_name "$2"): every process killed" ;;
  start) start_slurmd "$2" ;;
  pids) ip netns pids "$(node_ns "$2")" ;;
  *) echo "usage: node.sh kill|start|pids <i>" >&2; exit 2 ;;
esac
