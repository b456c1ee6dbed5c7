#!/usr/bin/env bash
# slurm-test-cluster.sh -- the single-node Slurm cluster the Slurm executor's tests run
# against: munged + slurmctld + slurmd from Debian packages, no systemd, two fake GPUs
# (character devices, so Slurm sets CUDA_VISIBLE_DEVICES), no accounting (squeue and
# scontrol carry the job states; MinJobAge keeps finished jobs visible for an hour).
# Written from docs/../shared/reference/slurm-single-node.md's facts.
#
# Usage (as root):
#   slurm-test-cluster.sh start    (re)start a fresh cluster: wipes its state, job ids restart at 1
#   slurm-test-cluster.sh ensure   start unless a cluster this script started is up with an idle node
#   slurm-test-cluster.sh stop     cancel every job, stop the daemons this script started
#   slurm-test-cluster.sh status   daemons and sinfo
#
# Packages come from scripts/setup.sh (SYNTHSET_SETUP_TESTS=1); this script installs
# them itself only when they are missing. A munged it did not start is reused, never
# stopped. Knobs: SLURM_FAKE_GPUS (default 2), SLURM_WAIT_S (default 60).
set -euo pipefail

FAKE_GPUS=${SLURM_FAKE_GPUS:-2}
WAIT_S=${SLURM_WAIT_S:-60}
CONF_DIR=/etc/slurm
STATE_DIR=/var/spool/slurmctld
SPOOL_DIR=/var/spool/slurmd
LOG_DIR=/var/log/slurm
GPU_DIR=/var/spool/slurm-fakegpu
MARK_DIR=/run/synthset-slurm-test
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
MUNGE_PID=/run/munge/munged.pid
NODE=$(hostname -s)

log() { printf 'slurm-test-cluster: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it starts slurmctld, slurmd and munged)"

# The pid in pidfile $1 when that process is alive and named $2.
live_pid() {
    local p
    [ -s "$1" ] || return 1
    p=$(cat "$1" 2>/dev/null) || return 1
    [ -n "$p" ] && [ "$(cat /proc/"$p"/comm 2>/dev/null)" = "$2" ] || return 1
    echo "$p"
}

# Stops the one verified pid of pidfile $1 (named $2): TERM, KILL after 15 s.
stop_daemon() {
    local p i
    p=$(live_pid "$1" "$2") || { rm -f "$1"; return 0; }
    kill -TERM "$p"
    for i in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
    rm -f "$1"
    log "stopped $2 (pid $p)"
}

ensure_packages() {
    local missing=() p
    for p in slurmctld slurmd slurm-client munge; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

start_munge() {
    if [ ! -s /etc/munge/munge.key ]; then
        install -d -o munge -g munge -m 0700 /etc/munge
        mungekey --create --keyfile=/etc/munge/munge.key
    fi
    chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/log/munge
    install -d -o munge -g munge -m 0711 /var/lib/munge
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return; fi
    rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock "$MUNGE_PID"
    runuser -u munge -- /usr/sbin/munged --force
    touch "$MARK_DIR/munged"
    munge -n | unmunge >/dev/null || die "munged does not answer; see /var/log/munge/munged.log"
}

write_config() {
    local topo mem gres_node="" gres_types="" i
    # The node as slurmd sees it; RealMemory above what it detects drains the node.
    topo=$(slurmd -C | head -1 | tr ' ' '\n' | grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=' | tr '\n' ' ')
    mem=$(awk '/^MemAvailable:/ {print int($2/1024*0.9)}' /proc/meminfo)
    mkdir -p "$CONF_DIR" "$LOG_DIR"
    if [ "$FAKE_GPUS" -gt 0 ]; then
        gres_node="Gres=gpu:$FAKE_GPUS"; gres_types="GresTypes=gpu"
        # gres/gpu binds only character or block devices; with plain files the GPUs are
        # scheduled but CUDA_VISIBLE_DEVICES is never set. /dev/null's 1:3 will do.
        mkdir -p "$GPU_DIR"
        for i in $(seq 0 $((FAKE_GPUS - 1))); do
            [ -c "$GPU_DIR/nvidia$i" ] || mknod -m 0666 "$GPU_DIR/nvidia$i" c 1 3 \
                || die "mknod $GPU_DIR/nvidia$i failed: the fake GPUs need character devices"
        done
        printf 'AutoDetect=off\nNodeName=%s Name=gpu File=%s/nvidia[0-%d]\n' "$NODE" "$GPU_DIR" $((FAKE_GPUS - 1)) > "$CONF_DIR/gres.conf"
    else
        rm -f "$CONF_DIR/gres.conf"
    fi
    cat > "$CONF_DIR/slurm.conf" <<EOF
# single-node test cluster, written by synthset's scripts/slurm-test-cluster.sh
ClusterName=synthset-test
SlurmctldHost=$NODE(127.0.0.1)
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$STATE_DIR
SlurmdSpoolDir=$SPOOL_DIR
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
MpiDefault=none
MailProg=/bin/true
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG_DIR/jobcomp.log
ReturnToService=2
MinJobAge=3600
KillWait=5
$gres_types
NodeName=$NODE NodeAddr=127.0.0.1 ${topo}RealMemory=$mem $gres_node State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

node_state() { sinfo -h -n "$NODE" -o '%T' 2>/dev/null || true; }

start() {
    ensure_packages
    mkdir -p "$MARK_DIR"
    start_munge
    write_config
    stop_daemon "$SLURMD_PID" slurmd
    stop_daemon "$CTLD_PID" slurmctld
    rm -rf "$STATE_DIR" "$SPOOL_DIR"
    install -d -m 0755 "$STATE_DIR" "$SPOOL_DIR" "$LOG_DIR"
    : > "$LOG_DIR/slurmctld.log"; : > "$LOG_DIR/slurmd.log"; : > "$LOG_DIR/jobcomp.log"
    slurmctld -i
    slurmd
    touch "$MARK_DIR/slurm"
    local i s=""
    for i in $(seq 1 $((WAIT_S * 10))); do
        s=$(node_state)
        case "$s" in
            idle) break ;;
            down*|drain*) scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true ;;
        esac
        sleep 0.1
    done
    [ "$s" = idle ] || { tail -20 "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" >&2; die "node $NODE is '$s' after ${WAIT_S}s"; }
    log "up: node $NODE idle ($(sinfo -h -o '%c CPUs, %m MB, %G'))"
}

stop() {
    if live_pid "$CTLD_PID" slurmctld >/dev/null; then
        scancel --full --quiet $(squeue -h -o %i 2>/dev/null) 2>/dev/null || true
        local i; for i in $(seq 1 50); do [ -z "$(squeue -h -t R,CG 2>/dev/null)" ] && break; sleep 0.2; done
    fi
    stop_daemon "$SLURMD_PID" slurmd
    stop_daemon "$CTLD_PID" slurmctld
    rm -f "$MARK_DIR/slurm"
    if [ -f "$MARK_DIR/munged" ]; then stop_daemon "$MUNGE_PID" munged; rm -f "$MARK_DIR/munged"; fi
}

case "${1:-}" in
    start) start ;;
    ensure)
        if [ -f "$MARK_DIR/slurm" ] && live_pid "$CTLD_PID" slurmctld >/dev/null && live_pid "$SLURMD_PID" slurmd >/dev/null \
            && [ "$(node_state)" != "" ] && [[ "$(node_state)" != down* ]] && [[ "$(node_state)" != drain* ]]; then
            log "already up: node $NODE $(node_state)"
        else
            start
        fi ;;
    stop) stop ;;
    status)
        for n in munged:$MUNGE_PID slurmctld:$CTLD_PID slurmd:$SLURMD_PID; do
            if p=$(live_pid "${n#*:}" "${n%%:*}"); then echo "${n%%:*}: running (pid $p)"; else echo "${n%%:*}: not running"; fi
        done
        sinfo 2>/dev/null || true ;;
    *) echo "usage: $0 start|ensure|stop|status" >&2; exit 2 ;;
esac
