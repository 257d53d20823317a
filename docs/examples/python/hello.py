"""Hello from every rank, in rank order: the MPI hello world as an mr job.

    mpirun -np 4 mr-run python hello.py

Prints the same lines as the C job (`mr-run hello`): "Hello from HOST.
RANK of SIZE" for each rank, then how many hosts the ranks are on.
"""
import mr

hosts = set()


def setup():
    # every rank emits one pair; keys are ints, so the output is in rank order
    mr.emit(mr.rank, mr.host)


def output(rank, host):  # rank 0, once per pair, in key order
    print(f"Hello from {host}. {rank} of {mr.size}")
    hosts.add(host)


def finish():
    n, h = mr.size, len(hosts)
    print(f"{n} rank{'' if n == 1 else 's'} on {h} host{'' if h == 1 else 's'}")
