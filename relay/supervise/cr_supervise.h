/*
 * Worker processes supervised by the relay: the studio ingest and recorder workers
 * (classrelay-client ingest|record) run as child processes, so a crashing depayloader never takes the
 * relay down (DESIGN.md). A worker is a name and a command; the caller says whether it is wanted, and
 * cr_sup_poll() does the rest on the control thread: starts it with posix_spawn (an argv, never a
 * shell), reaps it with waitpid(WNOHANG), restarts it after an exponential back-off when it dies, and
 * stops it (SIGTERM, then SIGKILL after CR_SUP_STOP_GRACE_MS) when it is no longer wanted.
 *
 * No signal handler is involved: a child that exits stays a zombie until the next poll reaps it, so
 * polling every 50 ms (the HTTP loop's timer) is enough and nothing else in the process may call
 * waitpid(-1). Not thread-safe: one owner (the control thread).
 *
 * Ownership: argv and envp are copied by cr_sup_set(); names are copied.
 */
#ifndef CR_SUPERVISE_H
#define CR_SUPERVISE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CR_SUP_NAME_MAX 96          /* worker names, NUL included */
#define CR_SUP_MAX_ARGS 40          /* argv entries, NULL excluded */
#define CR_SUP_MAX_ENV 16           /* extra environment entries beyond the relay's own */
#define CR_SUP_ARG_MAX 4096         /* bytes of one argument or environment entry */
#define CR_SUP_STOP_GRACE_MS 8000   /* SIGTERM to SIGKILL: a recorder finalizes its last segment */
#define CR_SUP_STABLE_MS 60000      /* a worker up this long has its back-off reset */
#define CR_SUP_BACKOFF_MAX_MS 60000 /* cap of the back-off */

/** What a worker is doing. */
enum cr_sup_state {
    CR_SUP_STOPPED = 0,  /* not running and not wanted */
    CR_SUP_RUNNING = 1,  /* a child process exists */
    CR_SUP_BACKOFF = 2,  /* wanted, waiting to restart after a death */
    CR_SUP_STOPPING = 3, /* signalled to stop, not yet reaped */
};

/** A snapshot of one worker, for the admin API and metrics. */
typedef struct cr_sup_info {
    char name[CR_SUP_NAME_MAX];
    enum cr_sup_state state;
    int wanted;
    pid_t pid;              /* 0 when not running */
    unsigned starts;        /* processes started so far */
    unsigned restarts;      /* starts after an unwanted death */
    unsigned failures;      /* unwanted deaths in a row (the back-off step) */
    char last_exit[48];     /* "exit 1", "signal 9 (Killed)", "" if none yet */
    uint64_t since_ms;      /* when the current state began (the caller's clock) */
    uint64_t next_start_ms; /* CR_SUP_BACKOFF: when the restart is due */
} cr_sup_info_t;

typedef struct cr_sup cr_sup_t;

/** Creates a supervisor for at most max_workers workers. Returns 0, CR_EINVAL or CR_ENOMEM. */
int cr_sup_new(cr_sup_t **out, unsigned max_workers);

/**
 * Stops every running worker (SIGTERM, up to CR_SUP_STOP_GRACE_MS, then SIGKILL), reaps them and
 * frees. NULL is a no-op. Blocks for at most about CR_SUP_STOP_GRACE_MS.
 */
void cr_sup_free(cr_sup_t *s);

/**
 * Declares worker name, or replaces its command for the next start (a running process is left
 * alone): argv[0] is the program's path (no PATH search), argv is NULL-terminated with at most
 * CR_SUP_MAX_ARGS entries; envp (may be NULL) holds up to CR_SUP_MAX_ENV "KEY=value" entries added to
 * the relay's environment (replacing entries of the same KEY). log_path (may be NULL or "") receives
 * the worker's stdout and stderr (appended); otherwise stdout goes to /dev/null and stderr is the
 * relay's. A new worker is not wanted. Returns 0, CR_EINVAL (bad name or argument, too many
 * arguments), CR_EFULL (max_workers reached) or CR_ENOMEM.
 */
int cr_sup_set(cr_sup_t *s, const char *name, const char *const *argv, const char *const *envp,
               const char *log_path);

/**
 * Says whether worker name should run. Starting happens at the next cr_sup_poll(); a wanted worker
 * that dies is restarted after cr_sup_backoff_ms(failures). Returns 0 or CR_ENOTFOUND.
 */
int cr_sup_want(cr_sup_t *s, const char *name, int wanted);

/** Forgets a worker that is stopped (not running, not wanted). Returns 0, CR_ENOTFOUND or CR_ESTATE. */
int cr_sup_remove(cr_sup_t *s, const char *name);

/**
 * Reaps dead children, starts wanted workers whose back-off is over, stops unwanted ones and kills
 * those that outlived their grace. now_ms is the caller's monotonic clock. Returns the number of
 * state changes (so a caller may log or publish them).
 */
unsigned cr_sup_poll(cr_sup_t *s, uint64_t now_ms);

/** Number of workers declared. */
unsigned cr_sup_count(const cr_sup_t *s);

/** Snapshot of worker i (0 <= i < cr_sup_count()). Returns 0 or CR_ENOTFOUND. */
int cr_sup_info(const cr_sup_t *s, unsigned i, cr_sup_info_t *out);

/** Snapshot of worker name. Returns 0 or CR_ENOTFOUND. */
int cr_sup_find(const cr_sup_t *s, const char *name, cr_sup_info_t *out);

/** Sends signal sig to worker name's process (tests, "kill -9 the recorder"). 0, CR_ENOTFOUND, CR_ESTATE. */
int cr_sup_signal(cr_sup_t *s, const char *name, int sig);

/**
 * The back-off before restart number `failures` (1 = after the first unwanted death): 1, 2, 4, 8,
 * 16, 32 s, then CR_SUP_BACKOFF_MAX_MS. 0 for failures 0.
 */
uint64_t cr_sup_backoff_ms(unsigned failures);

/** "stopped", "running", "backoff", "stopping". */
const char *cr_sup_state_name(enum cr_sup_state st);

/** Describes a wait status: "exit N" or "signal N (Name)" into out (cap bytes). */
void cr_sup_describe_status(int status, char *out, size_t cap);

#endif
