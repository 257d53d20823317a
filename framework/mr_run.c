/* mr_run.c -- main() of mr-run: parse, load the job, run it, exit status.
 *
 *   mpirun -np N mr-run [--plugin FILE.so]... JOB [options] [inputs]
 *   mr-run --list | --help | --version
 *
 * Every rank parses the same argv and loads the same module, so option and
 * loading errors are found by every rank without communication; only rank
 * 0 prints them. Exit status: 0 success, 1 a failed run, 2 a usage error
 * (unknown job, unknown option, bad option value). Started without mpirun,
 * mr-run is a singleton MPI process: one rank.
 */
/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <mpi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "mr/mr.h"

static int rank;

static void say(FILE *f, const char *fmt, const char *arg)
{
    if (rank == 0) {
        fprintf(f, fmt, arg);
        fflush(f);
    }
}

static void warn_load(const char *msg)
{
    say(stderr, "mr-run: warning: %s\n", msg);
}

static void list_jobs(mr_registry *reg, FILE *f)
{
    mr_registry_load_all(reg, warn_load);
    if (rank != 0)
        return;
    fprintf(f, "jobs:\n");
    for (size_t i = 0; i < mr_registry_count(reg); i++) {
        const struct mr_job *j = mr_registry_at(reg, i);
        fprintf(f, "  %-14s %s\n", j->name, j->summary ? j->summary : "");
    }
    char **dirs = mr_job_dirs();
    fprintf(f, "searched:");
    for (char **d = dirs; *d; d++)
        fprintf(f, " %s", *d);
    fprintf(f, "\n");
    mr_strv_free(dirs);
}

static void usage(void)
{
    say(stdout, "%s",
        "usage: mpirun -np N mr-run [--plugin FILE.so] JOB [options] "
        "[inputs]\n"
        "       mr-run --list        list the jobs and what they do\n"
        "       mr-run JOB --help    a job's options and the engine's\n"
        "Jobs are found in $MR_JOB_PATH and in the installation's job "
        "folder.\n");
}

/* Sets TCP_NODELAY on every TCP socket of this process,
 * just before MPI_Finalize. Open MPI 4.1 with PMIx 4.2 (Debian 12) talks
 * to its local server (mpirun, orted) over loopback TCP with Nagle's
 * algorithm on. The fence in MPI_Finalize sends small messages, and Nagle
 * holds a small message while an earlier one on the link is not yet
 * acknowledged; the server acknowledges late (Linux's delayed ACK, about
 * 40 ms), so the fence waited that long (docs/performance.md, "Finalize").
 * The option changes only when small segments leave, never what arrives,
 * so setting it on the library's sockets is safe; Unix sockets (Slurm's
 * PMIx, other launchers) are left alone. */
static void tcp_nodelay_all(void)
{
#ifdef __linux__
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d))) {
        struct stat sb;
        int fd = atoi(e->d_name), v = 0;
        socklen_t len = sizeof v;
        if (e->d_name[0] == '.' || fd == dirfd(d) || fstat(fd, &sb) != 0 ||
            !S_ISSOCK(sb.st_mode) ||
            getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) != 0 ||
            v != IPPROTO_TCP)
            continue;
        v = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v);
    }
    closedir(d);
#endif
}

int main(int argc, char **argv)
{
    int rc = 0, status;
    char *error = NULL;
    mr_registry *reg = NULL;
    mr_optset *opts = NULL;
    const struct mr_job *job = NULL;
    const char *plugin_job = NULL;

    /* The phases allocate and free runs of hundreds of MiB one after the
     * other (pairs, then the shuffle's receive buffer, then the output).
     * glibc serves such blocks with mmap and returns them at free, so the
     * next phase pays a page fault per 4 KiB again (most of the shuffle's
     * time, docs/performance.md). Keep freed memory in the heap instead. */
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);

    /* Before MPI_Init, so a stop request during start-up is not lost; and
     * again after it, as MPI_Init may install crash handlers of its own. */
    mr_signals_install();
    int provided; /* the monitor thread (mr_monitor.c) calls MPI too */
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    mr_signals_install();
    reg = mr_registry_new();
    mr_registry_set_warn(reg, warn_load);

    int i = 1;
    for (; i < argc; i++) {
        const char *path;
        if (strcmp(argv[i], "--plugin") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strncmp(argv[i], "--plugin=", 9) == 0)
            path = argv[i] + 9;
        else
            break;
        status = mr_registry_load_file(reg, path, &error);
        if (status != MR_OK) {
            say(stderr, "mr-run: %s\n", error);
            rc = 2;
            goto out;
        }
        plugin_job = mr_registry_at(reg, mr_registry_count(reg) - 1)->name;
    }
    if (i < argc && strcmp(argv[i], "--list") == 0) {
        list_jobs(reg, stdout);
        goto out;
    }
    if (i < argc && strcmp(argv[i], "--version") == 0) {
        say(stdout, "mr-run %s\n", MR_VERSION);
        goto out;
    }
    if (i >= argc || strcmp(argv[i], "--help") == 0 ||
        strcmp(argv[i], "-h") == 0) {
        if (!plugin_job) {
            usage();
            rc = i >= argc ? 2 : 0;
            goto out;
        }
    }
    /* With --plugin, the job name may be left out; a word that names
     * another job is a mistake, not the plugin job's first input. */
    if (i < argc && plugin_job && strcmp(argv[i], plugin_job) != 0 &&
        argv[i][0] != '-') {
        char *ignored = NULL;
        const struct mr_job *other = mr_registry_find(reg, argv[i], &ignored);
        free(ignored);
        if (other) {
            if (rank == 0)
                fprintf(stderr, "mr-run: --plugin loaded job '%s', but the "
                        "command names job '%s': name the plugin's job, or "
                        "leave the name out\n", plugin_job, argv[i]);
            rc = 2;
            goto out;
        }
    }
    if (i < argc && (!plugin_job || strcmp(argv[i], plugin_job) == 0))
        job = mr_registry_find(reg, argv[i++], &error);
    else
        job = mr_registry_find(reg, plugin_job, &error);
    if (!job) {
        say(stderr, "mr-run: %s\n", error);
        list_jobs(reg, stderr);
        rc = 2;
        goto out;
    }

    mr_config cfg;
    status = mr_config_parse(job, argc - i, argv + i, &cfg, &opts, &error);
    if (status != MR_OK || cfg.help) {
        char *text = mr_usage(job);
        if (status != MR_OK) {
            say(stderr, "mr-run %s: ", job->name);
            say(stderr, "%s\n", error);
            say(stderr, "%s", text);
            rc = 2;
        } else {
            say(stdout, "%s", text);
        }
        free(text);
        goto out;
    }

    status = mr_engine_run(job, &cfg, opts, MPI_COMM_WORLD, &error);
    if (status != MR_OK) {
        if (error) {
            say(stderr, "mr-run %s: error: ", job->name);
            say(stderr, "%s\n", error);
        }
        if (status == MR_EUSAGE) {
            say(stderr, "(see: mr-run %s --help)\n", job->name);
            rc = 2;
        } else {
            rc = 1;
        }
    }
out:
    /* stdout is an output too: a failed write (a full disk, /dev/full) is
     * a failed run. Under mpirun the rank writes to a pipe and mpirun to
     * the file, and Open MPI drops its own write errors. */
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == 0) {
        if (rank == 0)
            fprintf(stderr, "mr-run: error: standard output: %s\n",
                    errno ? strerror(errno) : "write failed");
        rc = 1;
    }
    rc = mr_signals_final(rc, MPI_COMM_WORLD);
    free(error);
    mr_optset_free(opts);
    tcp_nodelay_all();
    MPI_Finalize();
    mr_registry_free(reg); /* after MPI: modules may hold MPI state */
    return rc;
}
