#!/bin/busybox sh
# The real-kernel suite's guest side: /init of each guest's initramfs (tests/kernels/). It runs
# pause on the guest's own kernel and prints `plan N`, then `ok NAME` or `FAIL NAME: WHY` per
# check, then `done`; the host reads those from the console. /facts (written by the host)
# sets NR_BLOCK and NR_RT_SIGACTION, this architecture's numbers, SIGINT, SIGTERM and SIGCHLD
# (MIPS's differs) and SIGCGT, the mask of those three as /proc shows it; /expect/ holds the
# exact bytes pause must print. Every wait is a poll with a deadline; nothing sleeps for a
# result.

/bin/busybox mkdir -p /proc /dev /tmp
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
. /facts
PAUSE=/pause
PROBE=/pause-probe
# On a line of its own: firmware may leave the console mid-line.
echo
echo "uname $(uname -r) $(uname -m)"

# ---- helpers ----

fail() { echo "$*" >/tmp/why; return 1; }

# Field N of /proc/PID/stat after the command name (1 is the state).
stat_field() { sed 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f"$2"; }
state() { stat_field "$1" 1 2>/dev/null; }
cpu_ticks() { echo $(( $(stat_field "$1" 12) + $(stat_field "$1" 13) )); }
status_field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }
sleeps() { status_field "$1" voluntary_ctxt_switches; }
# The children of PID, zombies included.
children() {
    for s in /proc/[0-9]*/status; do
        [ "$(sed -n 's/^PPid:[[:space:]]*//p' "$s" 2>/dev/null)" = "$1" ] && echo "${s#/proc/}"
    done | wc -l
}

# poll WHAT COMMAND...: run COMMAND every 10 ms until it succeeds, for at most 30 s.
poll() {
    what=$1; shift
    i=0
    until "$@"; do
        i=$((i + 1))
        [ $i -gt 3000 ] && { fail "timed out waiting for $what"; return 1; }
        usleep 10000
    done
}

# PID sleeps in pause's blocking call: the kernel's own word, /proc/PID/syscall.
in_block() { [ "$(state "$1")" = S ] && [ "$(cut -d' ' -f1 "/proc/$1/syscall")" = "$NR_BLOCK" ]; }
wait_blocked() { poll "pid $1 to block in $NR_BLOCK" in_block "$1"; }
# PID has slept again (more than BEFORE times) and is back in its blocking call.
blocked_again() { [ "$(sleeps "$1")" -gt "$2" ] && in_block "$1"; }
has_state() { [ "$(state "$1")" = "$2" ]; }
has_children() { [ "$(children "$1")" -eq "$2" ]; }

# same FILE EXPECTED: FILE holds exactly the bytes of /expect/EXPECTED (or nothing, for -).
same() {
    if [ "$2" = - ]; then [ ! -s "$1" ] || fail "$1 is not empty: $(cat "$1")"
    else cmp -s "$1" "/expect/$2" || fail "$1 is not /expect/$2: $(od -c "$1" | head -5)"
    fi
}

# PID has exited (a zombie, or reaped already).
ended() { s=$(state "$1"); [ -z "$s" ] || [ "$s" = Z ]; }
# Waits, within the poll deadline, for this shell's child PID to exit; $st is its status.
wait_exit() {
    poll "pid $1 to exit" ended "$1" || { kill -9 "$1"; return 1; }
    wait "$1"; st=$?
}
# Runs CMD to its end (stdout and stderr to /tmp/out and /tmp/err); $st is its status.
finish() { "$@" >/tmp/out 2>/tmp/err & wait_exit $!; }

# Starts pause in the background with ARGS, stdout and stderr to /tmp/out and /tmp/err.
start() { "$PAUSE" "$@" >/tmp/out 2>/tmp/err & pid=$!; }
# SIGNAL to $pid, then its exit status must be 0.
ends_with() {
    kill -"$1" "$pid"; wait_exit "$pid" || return 1
    [ $st -eq 0 ] || fail "status $st after SIG$1"
}

# pause as PID 1 of a new PID namespace: this shell's next child is its init, so this shell
# is pause's parent, sees pause's own exit status and signals it from the parent namespace.
# Inside: `inside CMD` runs CMD as another process of the namespace.
start_pid1() {
    unshare -p sh -c '"$0" >/tmp/out 2>/tmp/err & echo $! >/tmp/pid1; wait $!; echo $? >/tmp/status1' \
        "$PAUSE" &
    wrapper=$!
    poll "the namespace's pause" test -s /tmp/pid1 || return 1
    pid=$(cat /tmp/pid1)
}
stop_pid1() {
    kill -"$1" "$pid"
    poll "pause to exit after SIG$1" test -s /tmp/status1 || return 1
    wait "$wrapper"
    st=$(cat /tmp/status1)
    [ "$st" = 0 ] || fail "pause's own status $st after SIG$1"
}
# CMD in pause's PID namespace, as a process of the pod would be.
inside() { nsenter -t "$pid" -p -- "$@"; }
# N processes orphaned to pause (PID 1 of its namespace), each blocked reading one line of
# /tmp/release (held open here on fd 3); `release K` lets K of them exit.
orphans() {
    inside sh -c 'i=0; while [ $i -lt $1 ]; do read _ </tmp/release & i=$((i + 1)); done' sh "$1"
    poll "$1 orphans re-parented to pause" has_children "$pid" "$1"
}
release() { i=0; while [ $i -lt "$1" ]; do echo >&3; i=$((i + 1)); done; }

# ---- the checks: behaviour, not PID 1 ----

check_warning_then_sigterm() {
    start; wait_blocked $pid || return 1
    ends_with TERM && same /tmp/out - && same /tmp/err warning-terminated
}

check_sigint() {
    start; wait_blocked $pid || return 1
    ends_with INT && same /tmp/out - && same /tmp/err warning-interrupt
}

check_version_flags() {
    for args in "-v" "-V" "x -v" "--foo -V bar"; do
        # shellcheck disable=SC2086
        finish "$PAUSE" $args || return 1
        [ $st -eq 0 ] || { fail "$args: status $st"; return 1; }
        same /tmp/out version && same /tmp/err - || return 1
    done
}

check_ignored_signals_not_pid1() {
    start; wait_blocked $pid || return 1
    # SIGCHLD runs the handler and pause sleeps again; WINCH and CONT are ignored by default.
    before=$(sleeps $pid); kill -CHLD $pid
    poll "pause to sleep again after SIGCHLD" blocked_again $pid "$before" || return 1
    for sig in WINCH CONT; do
        kill -$sig $pid; poll "pause to sleep after SIG$sig" in_block $pid || return 1
    done
    ends_with TERM && same /tmp/err warning-terminated
}

check_closed_stderr() {
    "$PAUSE" 2>&- & pid=$!
    wait_blocked $pid && ends_with TERM
}

check_full_stderr() {
    "$PAUSE" 2>/dev/full & pid=$!
    wait_blocked $pid && ends_with TERM
}

check_sigaction_is_int_term_chld() {
    start; wait_blocked $pid || return 1
    cgt=$(status_field $pid SigCgt)
    ends_with TERM || return 1
    # One bit each for SIGINT, SIGTERM and SIGCHLD (0000000000014002 where SIGCHLD is 17).
    [ "$cgt" = "$SIGCGT" ] || fail "SigCgt $cgt, not $SIGCGT"
}

# ---- the checks: the cases qemu-user cannot model ----

check_refused_block_exits_42() {
    # It must end by itself, at once: pause.c would retry the refused call forever.
    finish time -f '%U %S' -o /tmp/time "$PROBE" "$NR_BLOCK" - "$PAUSE" || return 1
    [ $st -eq 42 ] || { fail "status $st"; return 1; }
    # Its user and system seconds: two execs under software emulation, a few ticks.
    cpu=$(tail -n 1 /tmp/time)
    echo "$cpu" | awk '{ exit !($1 + $2 <= 0.25) }' || { fail "used $cpu s of CPU"; return 1; }
    same /tmp/err warning-loop-terminated
}

check_refused_sigaction_exits_1_2_3() {
    for case in $SIGINT:1 $SIGTERM:2 $SIGCHLD:3; do
        finish "$PROBE" "$NR_RT_SIGACTION" "${case%:*}" "$PAUSE" || return 1
        [ $st -eq "${case#*:}" ] || { fail "rt_sigaction(${case%:*}) refused: status $st"; return 1; }
        same /tmp/err warning || return 1
    done
}

# ---- the checks: PID 1 of a PID namespace ----

check_pid1_is_quiet_and_terminates() {
    start_pid1 || return 1
    wait_blocked $pid || return 1
    [ "$(status_field $pid NSpid | tr -s '\t ' ' ' | cut -d' ' -f2)" = 1 ] || { fail "not PID 1"; return 1; }
    stop_pid1 TERM && same /tmp/out - && same /tmp/err terminated
}

check_pid1_reaps_orphans() {
    start_pid1 && wait_blocked $pid || return 1
    orphans 300 || return 1
    release 300
    poll "pause to reap every orphan" has_children $pid 0 || return 1
    wait_blocked $pid && stop_pid1 TERM
}

check_pid1_child_that_stays_costs_nothing() {
    start_pid1 && wait_blocked $pid || return 1
    orphans 50 || return 1
    release 49
    poll "pause to reap all orphans but one" has_children $pid 1 || return 1
    wait_blocked $pid || return 1
    # A reaper that loops while wait4 returns >= 0 would spin here: watch it for a second.
    before=$(cpu_ticks $pid); sleep 1; after=$(cpu_ticks $pid)
    [ $((after - before)) -le 5 ] || { fail "spent $((after - before)) ticks with a child alive"; return 1; }
    release 1
    poll "pause to reap the last" has_children $pid 0 && stop_pid1 TERM
}

check_pid1_sa_nocldstop() {
    start_pid1 && wait_blocked $pid || return 1
    orphans 1 || return 1
    child=$(for s in /proc/[0-9]*/status; do
        [ "$(sed -n 's/^PPid:[[:space:]]*//p' "$s")" = "$pid" ] && { s=${s#/proc/}; echo "${s%/status}"; }
    done)
    before=$(sleeps $pid)
    kill -STOP "$child"; poll "the child to stop" has_state "$child" T || return 1
    kill -CONT "$child"; poll "the child to continue" has_state "$child" S || return 1
    wait_blocked $pid || return 1
    # SA_NOCLDSTOP: neither the stop nor the continue woke pause.
    [ "$(sleeps $pid)" -eq "$before" ] || { fail "woken by the child's stop or continue"; return 1; }
    release 1
    poll "pause to reap it" has_children $pid 0 && stop_pid1 TERM
}

check_pid1_ignores_signals_from_inside() {
    start_pid1 && wait_blocked $pid || return 1
    # Every catchable signal pause does not handle, and the first and last real-time ones.
    # This architecture's numbers: busybox's `kill -l STOP` gives its SIGSTOP.
    for sig in $(seq 1 31) 34 64; do
        case " $SIGINT $SIGTERM $SIGCHLD 9 $(kill -l STOP) " in *" $sig "*) continue ;; esac
        inside kill -$sig 1 || { fail "kill -$sig 1 from inside"; return 1; }
    done
    # Every hex digit 0 (16 of them per mask, 32 where the sigset is 128 bits).
    case "$(status_field $pid SigPnd)$(status_field $pid ShdPnd)" in
        *[!0]*) fail "signals queued"; return 1 ;;
    esac
    wait_blocked $pid && stop_pid1 TERM && same /tmp/err terminated
}

check_pid1_survives_signals_from_outside() {
    start_pid1 && wait_blocked $pid || return 1
    for sig in HUP USR1 WINCH CONT; do
        kill -$sig $pid
        poll "pause to sleep after SIG$sig" in_block $pid || return 1
    done
    kill -STOP $pid; poll "pause to stop" has_state $pid T || return 1
    kill -CONT $pid; wait_blocked $pid || return 1
    stop_pid1 TERM && same /tmp/err terminated
}

# ---- run them ----

mkfifo /tmp/release
exec 3<>/tmp/release
checks=$(sed -n 's/^\(check_[a-z0-9_]*\)() {$/\1/p' /init)
echo "plan $(echo "$checks" | wc -l)"
for check in $checks; do
    if $check; then echo "ok ${check#check_}"; else echo "FAIL ${check#check_}: $(cat /tmp/why 2>/dev/null)"; fi
    # A check that failed half-way leaves processes behind: as the guest's init, end them all.
    kill -9 -1 2>/dev/null
    wait
    rm -f /tmp/why /tmp/pid1 /tmp/status1
done
echo done
poweroff -f
