#!/usr/bin/python3
"""rss.py PREFIX COMMAND...: runs COMMAND (an MPI rank: mpirun starts this
in its place) and writes its peak resident set (KiB, getrusage's ru_maxrss,
the kernel's VmHWM) to PREFIX.<rank>, and a timeline of VmRSS and VmHWM
sampled every 50 ms ("seconds rss_kib hwm_kib" lines) to PREFIX.<rank>.t.
Exits with COMMAND's status (128 + N if a signal N ended it)."""
import ctypes
import os
import signal
import sys
import time

prefix, cmd = sys.argv[1], sys.argv[2:]
rank = os.environ.get("OMPI_COMM_WORLD_RANK", "0")
t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    try:  # die with the wrapper (PR_SET_PDEATHSIG)
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except Exception:
        pass
    os.execvp(cmd[0], cmd)
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2):
    signal.signal(s, lambda n, f: os.kill(pid, n))
samples = []
while True:
    done, status, ru = os.wait4(pid, os.WNOHANG)
    if done:
        break
    try:
        with open(f"/proc/{pid}/status") as f:
            v = dict(l.split(":", 1) for l in f if l.startswith(("VmRSS", "VmHWM")))
        samples.append("%.2f %s %s" % (time.monotonic() - t0, v["VmRSS"].split()[0],
                                       v["VmHWM"].split()[0]))
    except (OSError, KeyError):
        pass
    time.sleep(0.05)
with open(f"{prefix}.{rank}", "w") as f:
    print(ru.ru_maxrss, file=f)
with open(f"{prefix}.{rank}.t", "w") as f:
    print("\n".join(samples), file=f)
sys.exit(os.waitstatus_to_exitcode(status) if os.waitstatus_to_exitcode(status) >= 0
         else 128 - os.waitstatus_to_exitcode(status))
