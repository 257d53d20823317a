#!/usr/bin/env bash
# tests/batch/batch.sh -- mr runs through a real batch scheduler: Grid
# Engine via tools/mr-qsub, or Slurm via tools/mr-sbatch.
#
# Usage (from ctest, after daemons.sh SCHED up): batch.sh sge|slurm
#
# Every job goes through the real qsub/sbatch of the one-host cell that
# tools/sge-setup or tools/slurm-setup made, with the tool's --sync/--wait:
#  - hello on 2 slots: the output file holds exactly the rank-ordered
#    lines, the job script is kept beside it, resubmitting that script
#    gives the same output, and the accounting (qacct; Slurm: scontrol,
#    as this cluster keeps no accounting database) says exit status 0;
#  - wordcount on the shipped corpus/ (relative path: the job runs in the
#    submit folder): the table written with --out and the top-20 lines are
#    byte-identical to the same run under plain mpirun (tools/mr-mpirun);
#  - a missing input: the submit tool exits non-zero, the reason is in the
#    output file, the accounting says non-zero;
#  - a stop: SGE's walltime (h_rt, with -notify: SIGUSR2 first) or Slurm's
#    scancel (SIGTERM) in the middle of a long wordcount: mr-run says it was
#    stopped by the signal and leaves no output file, complete or not.
# Skips (exit 77) with the reason when the scheduler is not up here.
# SPDX-License-Identifier: MIT
source "$MR_SOURCE_DIR/tests/lib.sh"
# Jobs run under the scheduler, as its users: they keep Open MPI's default
# place for shared-memory segments.
unset OMPI_MCA_btl_vader_backing_directory

sched=${1:?sge or slurm}
host=$(hostname)
jobs_dir=$MR_BUILD_DIR/lib/mr/jobs
skipfile=$MR_BUILD_DIR/tests/batch/$sched.skip
LIMIT=${MR_BATCH_TIMEOUT:-120} # seconds for one submitted job
submitted=()

skip() {
    echo "SKIP: $*"
    exit 77
}

# Jobs of ours still queued when the test ends (a timeout) are deleted.
cleanup() {
    local id
    for id in "${submitted[@]}"; do
        case $sched in
        sge) qdel "$id" >/dev/null 2>&1 || true ;;
        slurm) scancel "$id" >/dev/null 2>&1 || true ;;
        esac
    done
    rm -rf "$T" "$MR_SHM"
}
trap cleanup EXIT

case $sched in
sge)
    [ ! -s "$skipfile" ] || skip "$(cat "$skipfile")"
    command -v qsub >/dev/null || skip "no qsub here: tools/sge-setup (as root) installs Grid Engine"
    qstat -f >/dev/null 2>&1 || skip "no Grid Engine cell answers here: run tools/sge-setup as root"
    submit_tool=$MR_SOURCE_DIR/tools/mr-qsub
    wait_opt=--sync
    ;;
slurm)
    [ ! -s "$skipfile" ] || skip "$(cat "$skipfile")"
    command -v sbatch >/dev/null || skip "no sbatch here: tools/slurm-setup (as root) installs Slurm"
    sinfo -h >/dev/null 2>&1 || skip "no Slurm controller answers here: run tools/slurm-setup as root"
    submit_tool=$MR_SOURCE_DIR/tools/mr-sbatch
    wait_opt=--wait
    ;;
*) echo "usage: batch.sh sge|slurm" >&2; exit 2 ;;
esac
[ -x "$MR_RUN" ] || { not_ok "no mr-run at $MR_RUN"; mr_done; exit; }

# The jobs run in $T, as the submit folder; they must be able to write there
# (mktemp makes it 0700, which is fine: jobs run as the submitting user).
cd "$T" || exit 1
ln -s "$MR_SOURCE_DIR/corpus" corpus

# submit NAME NP [TOOL-OPTIONS] -- JOB ARGS: the submit tool, waiting for
# the job; sets $id (job id), $rc (the tool's exit status), $out (output file).
submit() {
    local name=$1 np=$2
    shift 2
    rc=0
    timeout -k 5 "$LIMIT" "$submit_tool" --mr-run "$MR_RUN" "$wait_opt" -n "$np" \
        "$(case $sched in sge) echo -N ;; slurm) echo -J ;; esac)" "$name" "$@" \
        >"$T/id" 2>"$T/submit.err" || rc=$?
    id=$(head -1 "$T/id")
    [ -z "$id" ] || submitted+=("$id")
    out=$(output_of "$name" "$id")
}

output_of() { # output_of NAME ID
    case $sched in
    sge) echo "$1.o$2" ;;
    slurm) echo "$1.$2.out" ;;
    esac
}

# job_status ID: the exit status the scheduler recorded ("" if none).
job_status() {
    local s=""
    for _ in $(seq 1 20); do
        case $sched in
        sge) s=$(qacct -j "$1" 2>/dev/null | awk '$1 == "exit_status" { print $2 }') ;;
        slurm) # ExitCode=STATUS:SIGNAL; a signal counts as 128 + SIGNAL
            s=$(scontrol show job "$1" 2>/dev/null |
                sed -n 's/.* ExitCode=\([0-9]*\):\([0-9]*\).*/\1 \2/p' |
                awk '{ print $2 ? 128 + $2 : $1 }') ;;
        esac
        [ -z "$s" ] || break
        sleep 0.5
    done
    echo "$s"
}

is_id() { [[ $1 =~ ^[0-9]+$ ]]; }
nonzero() { [ -n "$1" ] && [ "$1" != 0 ]; }

# show FILE: the file, indented, for a failure report.
show() { sed 's/^/#   | /' "$1" 2>/dev/null | head -30; }

# ---------------------------------------------------------------- hello
submit hello 2 -- hello
printf 'Hello from %s. 0 of 2\nHello from %s. 1 of 2\n2 ranks on 1 host\n' "$host" "$host" >expected
check "hello: submit tool exits 0 (exit $rc)" [ "$rc" = 0 ]
check "hello: job id printed ('$id')" is_id "$id"
if cmp -s expected "$out"; then
    ok "hello: $out is the 2 hello lines in rank order and the summary"
else
    not_ok "hello: $out differs from the expected lines"
    show "$out"
    show "$T/submit.err"
fi
script=hello.$id.sh
check "hello: job script kept as $script" [ -s "$script" ]
case $sched in
sge) directive='^#\$ -pe mpislots 2$' ;;
slurm) directive='^#SBATCH -n 2$' ;;
esac
check "hello: script asks for 2 slots" grep -Eq "$directive" "$script"
check "hello: script execs the launcher on $MR_RUN" \
    grep -Eq "^exec [^ ]*(mpirun|srun) .*$(realpath "$MR_RUN") hello\$" "$script"
st=$(job_status "$id")
check "hello: the scheduler recorded exit status 0 ('$st')" [ "$st" = 0 ]
if [ "$sched" = sge ]; then
    acct=$(qacct -j "$id" 2>/dev/null | awk '$1 == "granted_pe" || $1 == "slots" { printf "%s=%s ", $1, $2 }')
    check "hello: qacct shows the parallel environment ($acct)" [ "$acct" = "granted_pe=mpislots slots=2 " ]
fi

# The kept script alone repeats the run.
rc=0
case $sched in
sge) id2=$(timeout -k 5 "$LIMIT" qsub -terse -sync y "$script" 2>"$T/submit.err") || rc=$? ;;
slurm) id2=$(timeout -k 5 "$LIMIT" sbatch --parsable --wait "$script" 2>"$T/submit.err") || rc=$? ;;
esac
id2=$(echo "$id2" | head -1)
[ -z "$id2" ] || submitted+=("$id2")
check "hello: resubmitting $script works (exit $rc)" [ "$rc" = 0 ]
check "hello: the repeated run gives the same output" cmp -s expected "$(output_of hello "$id2")"

# ------------------------------------------- SGE's smp, Slurm's other launcher
case $sched in
sge)
    submit hellosmp 2 --pe smp -- hello
    check "hello in the smp environment: exit $rc, same lines" cmp -s expected "$out"
    ;;
slurm)
    submit hellompi 2 --launcher mpirun -- hello
    check "hello: mpirun in the allocation: exit $rc, same lines" cmp -s expected "$out"
    ;;
esac

# ---------------------------------------------------------------- wordcount
if [ ! -e "$jobs_dir/wordcount.so" ]; then
    echo "skip - wordcount: $jobs_dir/wordcount.so is missing (job not built)"
else
    run 2 wordcount --top 20 --out base.tsv corpus/
    cp "$T/out" base.top
    check "wordcount under plain mpirun (the reference) exits 0" [ "$rc" = 0 ]
    submit wc 2 -- wordcount --top 20 --out wc.tsv corpus/
    check "wordcount: submit tool exits 0 (exit $rc)" [ "$rc" = 0 ]
    if [ -s wc.tsv ] && cmp -s base.tsv wc.tsv; then
        ok "wordcount: --out table identical to the mpirun run's ($(wc -l <wc.tsv) words)"
    else
        not_ok "wordcount: --out table missing or different"
        show "$out"
    fi
    # The output file joins stdout (the top 20) and stderr (one summary line
    # with timings, which differ from run to run).
    grep -v '^wordcount: ' "$out" >wc.top || true
    if [ -s wc.top ] && cmp -s base.top wc.top; then
        ok "wordcount: top-20 lines identical to the mpirun run's"
    else
        not_ok "wordcount: top-20 lines differ"
        diff base.top wc.top | head -10 | sed 's/^/#   /'
    fi
    check "wordcount: one summary line besides them" [ "$(grep -c '^wordcount: ' "$out")" = 1 ]
    st=$(job_status "$id")
    check "wordcount: the scheduler recorded exit status 0 ('$st')" [ "$st" = 0 ]

    # ------------------------------------------------------------ failure
    submit bad 2 -- wordcount --top 5 no-such-input/
    check "missing input: submit tool exits non-zero (exit $rc)" [ "$rc" != 0 ]
    check "missing input: job id printed all the same ('$id')" is_id "$id"
    if grep -q 'no-such-input/: No such file or directory' "$out"; then
        ok "missing input: the reason is in $out"
    else
        not_ok "missing input: no reason in $out"
        show "$out"
    fi
    st=$(job_status "$id")
    check "missing input: the scheduler recorded mr-run's exit status 1 ('$st')" [ "$st" = 1 ]

    # ------------------------------------------------------------ stop
    # A folder of 4000 links to the 4 MB Bible: 17 GB, minutes of work even
    # at 150 MB/s per rank, to be stopped after a few seconds. The engine
    # checks for a stop at every input chunk (1 MiB), so it stops well
    # before the scheduler's kill (SGE: notify time 60 s; Slurm: KillWait
    # 30 s).
    mkdir big
    for i in $(seq 4000); do ln -s "$MR_SOURCE_DIR/corpus/kjv.txt" "big/kjv$i.txt"; done
    case $sched in
    sge)
        # h_rt with -notify: SIGUSR2 at the limit (SGE checks every few
        # seconds), SIGKILL after the queue's notify time (60 s). 10 s leaves
        # mr-run the time to start even on a loaded machine.
        submit stop 2 -l h_rt=0:0:10 -- wordcount --out big.tsv big/
        sig=12
        ;;
    slurm)
        # scancel does what the time limit does: SIGTERM to every process
        # of the job, SIGKILL KillWait seconds later. (Slurm's time limit
        # has minutes as its unit, too slow for a test.) It is sent once the
        # map phase runs: mr-run's progress line (sbatch passes the
        # environment on) says so.
        rc=0
        MR_PROGRESS_AFTER=0 MR_PROGRESS_INTERVAL=0.5 \
            "$submit_tool" --mr-run "$MR_RUN" -n 2 -J stop -- wordcount --out big.tsv big/ \
            >"$T/id" 2>"$T/submit.err" || rc=$?
        id=$(head -1 "$T/id")
        [ -z "$id" ] || submitted+=("$id")
        out=$(output_of stop "$id")
        end=$(($(date +%s) + LIMIT))
        until grep -q '^mr: map ' "$out" 2>/dev/null || [ "$(date +%s)" -ge "$end" ]; do
            sleep 0.2
        done
        scancel "$id" || true
        while squeue -h -j "$id" 2>/dev/null | grep -q . && [ "$(date +%s)" -lt "$end" ]; do
            sleep 0.3
        done
        sig=15
        ;;
    esac
    if grep -Eq "stopped by signal $sig" "$out"; then
        ok "stop: mr-run says it was stopped by signal $sig"
    else
        not_ok "stop: no 'stopped by signal $sig' in $out"
        show "$out"
    fi
    check "stop: no output file left (complete or partial)" \
        [ -z "$(find . -maxdepth 1 -name '*big.tsv*' -print)" ]
    st=$(job_status "$id")
    if [ "$sched" = sge ]; then
        # 1 is mr-run's own status: the signal went to mpirun (exec), and
        # did not kill the job script (that would be 128 + 12).
        check "stop: qacct recorded mr-run's exit status 1 ('$st')" [ "$st" = 1 ]
    else
        check "stop: the scheduler recorded a non-zero exit status ('$st')" nonzero "$st"
    fi
fi

mr_done
