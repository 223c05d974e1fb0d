# Shared by start.sh and stop.sh (sourced, not run).

# alive <pidfile> <comm>: true if pidfile names a live process whose comm is <comm>
# (checking comm keeps a recycled PID of another program from being taken for ours).
alive() {
  local pf=$1 comm=$2 pid
  [ -s "$pf" ] || return 1
  pid=$(cat "$pf" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$comm" ]
}
