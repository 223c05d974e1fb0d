#!/usr/bin/env bash
# slurm/local_cluster/start.sh - a real SLURM cluster on the local machine, for tests: one node,
# or several, each in its own network namespace (see network.sh).
#
# Installs the Debian packages if needed (slurm-wlm 22.05, munge, slurmdbd + MariaDB so that
# `sacct` works), writes the configs under $SLURM_CI_BASE and starts, without systemd,
#
#   munged -> [mariadbd -> slurmdbd] -> slurmctld -> slurmd
#
# with every daemon on 127.0.0.1 (one node) or on a private bridge (several nodes). Needs root
# and apt (Debian 12). Idempotent: a daemon whose PID file names a live process of the right
# name is left running. Stop it with stop.sh.
# Clients (sbatch, squeue, submitit) need SLURM_CONF:  source "$SLURM_CI_BASE/env.sh"
#
# Two settings make requeue fast enough for tests (a requeued job is eligible again after
# cred_expire + 1 s, 121 s by default; the backfill scheduler then waits up to bf_interval):
# AuthInfo=...,cred_expire=10 and SchedulerParameters=bf_interval=1,sched_interval=2.
#
# Environment knobs (defaults in brackets):
#   SLURM_CI_BASE   [/tmp/slurm-local/state]  where configs, state, logs and PID files live
#   SLURM_CI_NODES  [2]  number of nodes (1 = the single loopback node "localhost")
#   SLURM_CI_SUBNET [10.213.57]  the private /24 of the bridge (N > 1)
#   SLURM_CI_BRIDGE [slurmci-br0]  SLURM_CI_NODE_PREFIX [ci-n]  SLURM_CI_CTL_NAME [ci-ctl]
#   SLURM_CI_DBD    [1]  1 = also run mariadb + slurmdbd so that `sacct` works (submitit
#                        reads job states with sacct: without it a job that dies without a
#                        result, e.g. cancelled, is never seen as finished). 0 = lighter.
#   SLURM_CI_FRESH  [0]  1 = wipe state (job ids, DB, logs) before starting
#   SLURM_CI_PORT_BASE [6817]  slurmctld=BASE, slurmd=BASE+1, slurmdbd=BASE+2
#   SLURM_CI_DB_PORT   [3307]  mariadb TCP port (bound to 127.0.0.1)
#   SLURM_CI_CRED_EXPIRE [10]  AuthInfo cred_expire (also = requeue delay - 1 s)
#   SLURM_CI_LINK_ETC  [0]  1 = symlink /etc/slurm/slurm.conf -> our config, so
#                        clients work without SLURM_CONF
#   SLURM_CI_CPUS      [hw]  advertise this many CPUs (may exceed the real count;
#                        SlurmdParameters=config_overrides keeps the node valid)
#   SLURM_CI_MEM_MB    [80% of hw / N]  RealMemory of each node
#   SLURM_CI_FAKE_GPUS [0]  G>0 = each node gets Gres=gpu:G backed by fake char devices
#                        (aliases of /dev/null) so --gpus-per-node jobs schedule
# Changing knobs needs stop.sh + start.sh (not just a re-run).
set -euo pipefail

HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=common.sh
source "$HERE/common.sh"
# shellcheck source=network.sh
source "$HERE/network.sh"
WITH_DBD=${SLURM_CI_DBD:-1}
FRESH=${SLURM_CI_FRESH:-0}
PORT_BASE=${SLURM_CI_PORT_BASE:-6817}
DB_PORT=${SLURM_CI_DB_PORT:-3307}
CRED_EXPIRE=${SLURM_CI_CRED_EXPIRE:-10}
LINK_ETC=${SLURM_CI_LINK_ETC:-0}
CTLD_PORT=$PORT_BASE
SLURMD_PORT=$((PORT_BASE + 1))
DBD_PORT=$((PORT_BASE + 2))

T_START=$(date +%s.%N)
log() { printf '[local-slurm %6.2fs] %s\n' "$(echo "$(date +%s.%N) - $T_START" | bc)" "$*"; }
die() { log "ERROR: $*"; for f in "$BASE"/log/*.log; do [ -f "$f" ] && { echo "--- tail $f"; tail -n 15 "$f"; }; done; exit 1; }

[ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }

port_listening() { ss -Hltn "sport = :$1" | grep -q LISTEN; }

# ---------------------------------------------------------------- 1. packages
PKGS=(slurmctld slurmd slurm-client munge iproute2 bc)   # ss, ip; bc for the log times
[ "$NODES" -gt 1 ] && PKGS+=(util-linux)   # unshare, nsenter
[ "$WITH_DBD" = 1 ] && PKGS+=(slurmdbd mariadb-server)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  # never let the maintainer scripts start services (they would use /run/munge,
  # /var/lib/mysql, ...; the cluster runs its own instances). Docker-style images
  # already ship a policy-rc.d that exits 101; add a temporary one otherwise.
  tmp_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; tmp_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ $tmp_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  log "packages installed"
else
  log "packages already installed"
fi

# ---------------------------------------------------------------- 2. layout
if [ "$FRESH" = 1 ]; then
  for pf in "$BASE"/run/slurm*.pid; do
    comm=$(basename "$pf" .pid); comm=${comm%%-*}
    alive "$pf" "$comm" && die "$comm running; run stop.sh before SLURM_CI_FRESH=1"
  done
  alive "$BASE/mysql/run/mysqld.pid" mariadbd && die "mariadbd running; run stop.sh before SLURM_CI_FRESH=1"
  rm -rf "$BASE/spool" "$BASE/log" "$BASE/mysql/data"
fi
if [ -f "$BASE/cluster.env" ] && alive "$BASE/run/slurmctld.pid" slurmctld; then
  # shellcheck disable=SC1091
  running=$(source "$BASE/cluster.env"; echo "$NODES $SUBNET")
  [ "$running" = "$NODES $SUBNET" ] || die "a cluster with (nodes subnet) = ($running) is running; stop.sh first"
fi
mkdir -p "$BASE"/{etc,run,log,spool/ctld,munge/etc,munge/run,munge/lib,munge/log}
chmod 700 "$BASE/munge/etc" "$BASE/munge/lib" "$BASE/munge/log"
chmod 755 "$BASE/munge/run"
MUNGE_SOCK=$BASE/munge/run/munge.socket.2

# node description from the hardware (every node gets the same)
HW=$(slurmd -C | head -1)
hw() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$HW"; }
CPUS=$(hw CPUs); SOCK=$(hw SocketsPerBoard); CORES=$(hw CoresPerSocket); THREADS=$(hw ThreadsPerCore); MEM=$(hw RealMemory)
MEM=${SLURM_CI_MEM_MB:-$(( MEM * 80 / 100 / NODES ))}
if [ -n "${SLURM_CI_CPUS:-}" ]; then CPUS=$SLURM_CI_CPUS; SOCK=1; CORES=$CPUS; THREADS=1; fi
FAKE_GPUS=${SLURM_CI_FAKE_GPUS:-0}
NODE_LIST=$(for i in $(seq 1 "$NODES"); do node_name "$i"; done | paste -sd,)
if [ "$NODES" = 1 ]; then CTL_HOST=localhost; else CTL_HOST="$CTL_NAME($SUBNET.1)"; fi
GRES_NODE=""
rm -f "$BASE/etc/gres.conf"
if [ "$FAKE_GPUS" -gt 0 ]; then
  mkdir -p "$BASE/dev"
  for i in $(seq 0 $((FAKE_GPUS - 1))); do
    # the gpu plugin drops file-less GPUs and wants char/block devices: alias /dev/null
    [ -c "$BASE/dev/fakegpu$i" ] || { rm -f "$BASE/dev/fakegpu$i"; mknod "$BASE/dev/fakegpu$i" c 1 3 2>/dev/null; }
    if [ ! -c "$BASE/dev/fakegpu$i" ]; then
      log "WARNING: cannot create device files (mknod): no fake GPUs"; FAKE_GPUS=0; break
    fi
  done
fi
if [ "$FAKE_GPUS" -gt 0 ]; then
  echo "NodeName=$NODE_LIST Name=gpu File=$BASE/dev/fakegpu[0-$((FAKE_GPUS - 1))]" > "$BASE/etc/gres.conf"
  GRES_NODE=" Gres=gpu:$FAKE_GPUS"
fi

cat > "$BASE/etc/slurm.conf" <<EOF
# generated by start.sh
ClusterName=ci
SlurmctldHost=$CTL_HOST
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire also sets how long a requeued job waits before it is eligible (default 120 s)
AuthInfo=socket=$MUNGE_SOCK,cred_expire=$CRED_EXPIRE
# bind to the address the hostname resolves to (127.0.0.1 for one node) instead of 0.0.0.0
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
StateSaveLocation=$BASE/spool/ctld
# %n: each node's slurmd has its own files
SlurmdSpoolDir=$BASE/spool/d-%n
SlurmctldPidFile=$BASE/run/slurmctld.pid
SlurmdPidFile=$BASE/run/slurmd-%n.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_interval=2
ReturnToService=2
SlurmdParameters=config_overrides
MinJobAge=300
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
# a node that stops answering is DOWN after this long (its jobs: NODE_FAIL, requeued)
SlurmdTimeout=${SLURM_CI_SLURMD_TIMEOUT:-20}
JobCompType=jobcomp/filetxt
JobCompLoc=$BASE/log/jobcomp.txt
EOF
if [ "$WITH_DBD" = 1 ]; then
  cat >> "$BASE/etc/slurm.conf" <<EOF
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
# for slurmdbd+munge this is the munge socket used towards slurmdbd
AccountingStoragePass=$MUNGE_SOCK
EOF
else
  cat >> "$BASE/etc/slurm.conf" <<EOF
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
EOF
fi
[ "$FAKE_GPUS" -gt 0 ] && echo "GresTypes=gpu" >> "$BASE/etc/slurm.conf"
cat >> "$BASE/etc/slurm.conf" <<EOF
EOF
for i in $(seq 1 "$NODES"); do
  echo "NodeName=$(node_name "$i") NodeAddr=$(node_addr "$i") CPUs=$CPUS Sockets=$SOCK CoresPerSocket=$CORES ThreadsPerCore=$THREADS RealMemory=$MEM$GRES_NODE State=UNKNOWN"
done >> "$BASE/etc/slurm.conf"
echo "PartitionName=debug Nodes=$NODE_LIST Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO" >> "$BASE/etc/slurm.conf"

export SLURM_CONF=$BASE/etc/slurm.conf
echo "export SLURM_CONF=$SLURM_CONF" > "$BASE/env.sh"
if [ "$LINK_ETC" = 1 ]; then mkdir -p /etc/slurm; ln -sfn "$SLURM_CONF" /etc/slurm/slurm.conf; fi

printf 'NODES=%s\nSUBNET=%s\nBRIDGE=%s\nPREFIX=%s\nCTL_NAME=%s\n' "$NODES" "$SUBNET" "$BRIDGE" "$PREFIX" "$CTL_NAME" > "$BASE/cluster.env"

if [ "$NODES" = 1 ]; then
  # NoInAddrAny binds to gethostname()'s address: warn if that is not loopback
  hip=$(getent ahostsv4 "$(hostname)" | awk 'NR==1{print $1}')
  case "$hip" in 127.*) ;; *) log "WARNING: $(hostname) resolves to '$hip', daemons will bind there, not to 127.0.0.1";; esac
else
  net_up || die "could not set up the private network (see above)"
  log "network: bridge $BRIDGE $SUBNET.1/24, nodes $NODE_LIST on $SUBNET.11-$((10 + NODES)) (namespaces slurmci-$PREFIX*)"
fi

# ---------------------------------------------------------------- 3. munged
[ -s "$BASE/munge/etc/munge.key" ] || mungekey --create --keyfile="$BASE/munge/etc/munge.key"
chmod 600 "$BASE/munge/etc/munge.key"
if alive "$BASE/munge/run/munged.pid" munged; then
  log "munged already running (pid $(cat "$BASE/munge/run/munged.pid"))"
else
  munged --key-file="$BASE/munge/etc/munge.key" --socket="$MUNGE_SOCK" \
         --pid-file="$BASE/munge/run/munged.pid" --log-file="$BASE/munge/log/munged.log" \
         --seed-file="$BASE/munge/lib/munged.seed" --num-threads=4
  wait_for 10 bash -c "munge -S '$MUNGE_SOCK' -n | unmunge -S '$MUNGE_SOCK'" || die "munged not answering"
  log "munged started (pid $(cat "$BASE/munge/run/munged.pid"))"
fi

# ---------------------------------------------------------------- 4. mariadb + slurmdbd
if [ "$WITH_DBD" = 1 ]; then
  DB=$BASE/mysql
  mkdir -p "$DB/run"
  if [ ! -d "$DB/data/mysql" ]; then
    mariadb-install-db --no-defaults --datadir="$DB/data" --user=root \
      --auth-root-authentication-method=socket --skip-test-db > "$BASE/log/mariadb-install.log" 2>&1 \
      || die "mariadb-install-db failed"
  fi
  if alive "$DB/run/mysqld.pid" mariadbd; then
    log "mariadbd already running (pid $(cat "$DB/run/mysqld.pid"))"
  else
    setsid nohup mariadbd --no-defaults --datadir="$DB/data" --user=root \
      --bind-address=127.0.0.1 --port="$DB_PORT" --socket="$DB/run/mysqld.sock" \
      --pid-file="$DB/run/mysqld.pid" --log-error="$BASE/log/mariadb.log" \
      --innodb-buffer-pool-size=64M --innodb-lock-wait-timeout=900 --skip-name-resolve \
      </dev/null >/dev/null 2>&1 &
    wait_for 60 mariadb --no-defaults -S "$DB/run/mysqld.sock" -uroot -e 'select 1' || die "mariadbd did not start"
    log "mariadbd started (pid $(cat "$DB/run/mysqld.pid"))"
  fi
  mariadb --no-defaults -S "$DB/run/mysqld.sock" -uroot -e "
    CREATE OR REPLACE USER 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;"

  cat > "$BASE/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCK
CommunicationParameters=NoInAddrAny
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
DebugLevel=info
LogFile=$BASE/log/slurmdbd.log
PidFile=$BASE/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
EOF
  chmod 600 "$BASE/etc/slurmdbd.conf"   # slurmdbd refuses a world-readable conf
  if alive "$BASE/run/slurmdbd.pid" slurmdbd; then
    log "slurmdbd already running (pid $(cat "$BASE/run/slurmdbd.pid"))"
  else
    slurmdbd || die "slurmdbd failed"      # finds slurmdbd.conf next to \$SLURM_CONF
    wait_for 30 port_listening "$DBD_PORT" || die "slurmdbd not listening"
    wait_for 10 test -s "$BASE/run/slurmdbd.pid" || die "slurmdbd wrote no pid file"
    log "slurmdbd started (pid $(cat "$BASE/run/slurmdbd.pid"))"
  fi
fi

# ---------------------------------------------------------------- 5. slurmctld + slurmd
if alive "$BASE/run/slurmctld.pid" slurmctld; then
  log "slurmctld already running, reconfiguring"
  scontrol reconfigure || true
else
  if [ "$NODES" = 1 ]; then slurmctld || die "slurmctld failed"
  else unshare --uts sh -c "hostname $CTL_NAME && exec slurmctld" || die "slurmctld failed"; fi
  wait_for 30 scontrol ping || die "slurmctld not answering"
  log "slurmctld started (pid $(cat "$BASE/run/slurmctld.pid"))"
fi
for i in $(seq 1 "$NODES"); do
  msg=$(start_slurmd "$i") || die "$msg"
  log "$msg"
done
# every node idle (or busy): no down/drain/unknown line left
nodes_ready() { [ "$(sinfo -h -N -n "$NODE_LIST" -o %t | grep -cE '^(idle|mix|alloc)$')" = "$NODES" ]; }
if ! wait_for 30 nodes_ready; then
  # nodes left DOWN/DRAIN by an earlier run: bring them back
  scontrol update NodeName="$NODE_LIST" State=RESUME >/dev/null 2>&1 || true
  wait_for 15 nodes_ready || die "nodes not ready: $(sinfo -h -N -o '%N %t %E' | tr '\n' ';')"
fi
if [ "$WITH_DBD" = 1 ]; then
  wait_for 30 bash -c "sacctmgr -n -P list cluster format=cluster | grep -qx ci" || die "cluster not registered in slurmdbd"
fi
GRES_FMT=""; [ "$FAKE_GPUS" -gt 0 ] && GRES_FMT=" %G"
log "cluster ready: $(sinfo -h -o "%P %a %D %t %c cpus$GRES_FMT %N")   (source $BASE/env.sh)"
