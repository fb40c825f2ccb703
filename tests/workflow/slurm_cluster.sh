# Sourced by the Slurm tests: a one-node Slurm cluster on this machine, started and stopped by the
# test itself (munged with a generated key, slurmctld and slurmd on free ports, a generated
# slurm.conf whose node has this machine's CPUs and memory; no accounting). Needs root.
#   slurm_start DIR   -> exports SLURM_CONF; returns non-zero (with the logs) when it cannot start
#   slurm_stop        -> stops what slurm_start started
slurm_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
slurm_start() {
  SLURM_DIR=$1
  mkdir -p "$SLURM_DIR"/{state,spool,log}
  mungekey -c -k "$SLURM_DIR/munge.key" >/dev/null 2>&1 || { echo "mungekey failed"; return 1; }
  munged -f --key-file="$SLURM_DIR/munge.key" -S "$SLURM_DIR/munge.sock" --log-file="$SLURM_DIR/log/munged.log" \
    --pid-file="$SLURM_DIR/munged.pid" --seed-file="$SLURM_DIR/munged.seed" || { echo "munged did not start"; return 1; }
  local host mem
  host=$(hostname -s)
  mem=$(( $(free -m | awk '/Mem:/{print $2}') * 3 / 4 ))
  cat >"$SLURM_DIR/slurm.conf" <<CONF
ClusterName=cramjettest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$(slurm_free_port)
SlurmdPort=$(slurm_free_port)
AuthType=auth/munge
AuthInfo=socket=$SLURM_DIR/munge.sock
CredType=cred/munge
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool
SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/slurmd.pid
SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerParameters=sched_interval=1
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF=$SLURM_DIR/slurm.conf
  slurmctld -c -f "$SLURM_CONF" && slurmd -f "$SLURM_CONF" || { cat "$SLURM_DIR"/log/*.log; return 1; }
  for _ in $(seq 1 100); do
    sinfo -h -o '%t' 2>/dev/null | grep -q -E '^(idle|mix|alloc)' && return 0
    sleep 0.2
  done
  echo "the node did not come up:"; sinfo; cat "$SLURM_DIR"/log/*.log
  return 1
}
slurm_stop() {
  [ -n "${SLURM_DIR:-}" ] || return 0
  for f in slurmd slurmctld munged; do
    [ -f "$SLURM_DIR/$f.pid" ] && kill "$(cat "$SLURM_DIR/$f.pid")" 2>/dev/null
  done
  sleep 0.5
  for f in slurmd slurmctld munged; do
    [ -f "$SLURM_DIR/$f.pid" ] && kill -9 "$(cat "$SLURM_DIR/$f.pid")" 2>/dev/null
  done
  return 0
}
