/*
 * What the benchmark reads about a running process and a CPU core from /proc (proc(5)): CPU time
 * (utime + stime of /proc/PID/stat), resident memory (VmRSS of /proc/PID/status) and a core's busy
 * and total time (/proc/stat). The parsers are separate from the file reads so they can be unit-tested.
 */
#ifndef CR_BENCH_PROC_H
#define CR_BENCH_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/**
 * Parses the text of /proc/PID/stat: *ticks = utime + stime (fields 14 and 15, in clock ticks; the
 * command name in field 2 may contain blanks and parentheses). Returns 0 or CR_EMALFORMED.
 */
int cr_bench_proc_stat_parse(const char *text, size_t len, uint64_t *ticks);

/** Parses the text of /proc/PID/status for "VmRSS: N kB". Returns 0 or CR_ENOTFOUND/CR_EMALFORMED. */
int cr_bench_proc_rss_parse(const char *text, size_t len, uint64_t *kb);

/**
 * Parses the text of /proc/stat for the line of core cpu ("cpuN ..."): *busy = all time but idle and
 * iowait, *total = all time (guest time is already inside user), in clock ticks. Returns 0 or
 * CR_ENOTFOUND/CR_EMALFORMED.
 */
int cr_bench_proc_cpu_parse(const char *text, size_t len, int cpu, uint64_t *busy, uint64_t *total);

/** Reads the process's CPU time in microseconds. Returns 0 or CR_EIO/CR_EMALFORMED. */
int cr_bench_proc_cpu_us(pid_t pid, uint64_t *us);

/** Reads the process's resident set size in kB. Returns 0 or CR_EIO/CR_ENOTFOUND/CR_EMALFORMED. */
int cr_bench_proc_rss_kb(pid_t pid, uint64_t *kb);

/** Reads a core's busy and total time in microseconds. Returns 0 or an error. */
int cr_bench_proc_core_us(int cpu, uint64_t *busy, uint64_t *total);

#endif
