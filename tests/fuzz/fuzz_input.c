/* fuzz_input.c -- libFuzzer target: the input layer's planner, range
 * reader, gzip reader and descriptor decoder (framework/mr_input_*.c).
 *
 * The input is first decoded as a task descriptor (mr_input_describe):
 * it must describe it or say it is malformed, never read past it. (Not
 * read as a task: its paths could name any file, /dev/zero included.)
 * The input is written twice: as a plain file and as a file named .gz.
 * The plain file is planned for 3 ranks with tiny ranges (so records cross
 * range borders everywhere) and read with a small buffer: every byte must
 * come back exactly once. The .gz one must either decompress or fail with
 * MR_EINVAL and a message naming the file; never crash or hang.
 */
/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mr/mr_input.h"

static char dir[64];

static void write_file(const char *path, const uint8_t *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(d, 1, n, f) != n || fclose(f) != 0)
        abort();
}

/* Reads every task of a plan; returns the bytes read, or -1 on an error. */
static long read_all(mr_input_plan *plan, const unsigned char sep[256])
{
    mr_input_reader *r = mr_input_reader_new(sep, 16);
    long total = 0;
    for (size_t i = 0; i < mr_input_plan_ntasks(plan) && total >= 0; i++) {
        double w;
        if (mr_input_reader_open(r, mr_input_plan_task(plan, i, &w)) != MR_OK)
            abort();
        mr_input_chunk c;
        int rc;
        while ((rc = mr_input_reader_next(r, &c)) == 1)
            total += (long)c.len;
        if (rc < 0) {
            if (rc != MR_EINVAL || !*mr_input_reader_error(r))
                abort();
            total = -1;
        }
    }
    mr_input_reader_free(r);
    return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[256];
    mr_input_describe(mr_mem(data, size), text, sizeof text);
    if (!dir[0]) {
        strcpy(dir, "/tmp/mrfuzz.XXXXXX");
        if (!mkdtemp(dir))
            abort();
    }
    char plain[96], gz[96];
    snprintf(plain, sizeof plain, "%s/in.txt", dir);
    snprintf(gz, sizeof gz, "%s/in.gz", dir);
    write_file(plain, data, size);
    write_file(gz, data, size);
    unsigned char sep[256];
    mr_input_sep_fill(sep, size && (data[0] & 1) ? MR_INPUT_SEP_LINE
                                                 : MR_INPUT_SEP_SPACE);

    mr_input_plan *p = mr_input_plan_new();
    if (mr_input_plan_add(p, plain) != MR_OK ||
        mr_input_plan_cut(p, 3, 1 + (size ? data[size - 1] % 8 : 0)) != MR_OK)
        abort();
    if (read_all(p, sep) != (long)size)
        abort(); /* every byte exactly once */
    mr_input_plan_free(p);

    p = mr_input_plan_new();
    if (mr_input_plan_add(p, gz) == MR_OK &&
        mr_input_plan_cut(p, 3, 0) == MR_OK)
        (void)read_all(p, sep);
    mr_input_plan_free(p);
    unlink(plain);
    unlink(gz);
    return 0;
}
