/*
 * The worker supervisor (cr_supervise.h). Each worker keeps its command as one flat block of
 * NUL-separated strings plus pointer arrays into it, built once by cr_sup_set(), so that starting a
 * process allocates nothing but what posix_spawn itself does.
 */
#include "cr_supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cr_err.h"
#include "cr_log.h"

extern char **environ;

typedef struct cr__sup_worker {
    cr_sup_info_t info;
    char *block;        /* the strings argv, env and log path point into (copies, env included) */
    char **argv;        /* NULL-terminated */
    char **env;         /* the relay's environment merged with the worker's entries */
    char *log_path;     /* NULL: stdout to /dev/null, stderr shared */
    uint64_t start_ms;  /* of the running process */
    uint64_t kill_at_ms; /* CR_SUP_STOPPING: SIGKILL is due */
} cr__sup_worker_t;

struct cr_sup {
    cr__sup_worker_t *w;
    unsigned n, max;
};

uint64_t cr_sup_backoff_ms(unsigned failures)
{
    if (failures == 0)
        return 0;
    if (failures > 7) /* 1000 << 6 = 64 s already passes the cap */
        return CR_SUP_BACKOFF_MAX_MS;
    uint64_t ms = 1000ull << (failures - 1);
    return ms < CR_SUP_BACKOFF_MAX_MS ? ms : CR_SUP_BACKOFF_MAX_MS;
}

const char *cr_sup_state_name(enum cr_sup_state st)
{
    switch (st) {
    case CR_SUP_STOPPED: return "stopped";
    case CR_SUP_RUNNING: return "running";
    case CR_SUP_BACKOFF: return "backoff";
    case CR_SUP_STOPPING: return "stopping";
    }
    return "unknown";
}

void cr_sup_describe_status(int status, char *out, size_t cap)
{
    if (WIFEXITED(status))
        snprintf(out, cap, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, cap, "signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(out, cap, "status 0x%x", (unsigned)status);
}

int cr_sup_new(cr_sup_t **out, unsigned max_workers)
{
    if (out == NULL || max_workers == 0 || max_workers > 4096)
        return CR_EINVAL;
    cr_sup_t *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->w = calloc(max_workers, sizeof(*s->w))) == NULL) {
        free(s);
        return CR_ENOMEM;
    }
    s->max = max_workers;
    *out = s;
    return 0;
}

static cr__sup_worker_t *find(const cr_sup_t *s, const char *name)
{
    for (unsigned i = 0; i < s->n; i++)
        if (strcmp(s->w[i].info.name, name) == 0)
            return &s->w[i];
    return NULL;
}

static size_t count(const char *const *v, size_t max)
{
    size_t n = 0;
    while (v != NULL && v[n] != NULL && n <= max)
        n++;
    return n;
}

/* Length of the KEY= prefix of an environment entry, or 0 if there is no '='. */
static size_t env_key_len(const char *e)
{
    const char *eq = strchr(e, '=');
    return eq != NULL && eq != e ? (size_t)(eq - e) + 1 : 0;
}

static int overridden(const char *e, const char *const *extra, size_t n_extra)
{
    size_t k = env_key_len(e);
    for (size_t i = 0; k > 0 && i < n_extra; i++)
        if (strncmp(e, extra[i], k) == 0)
            return 1;
    return 0;
}

/* Builds the worker's block and pointer arrays. Returns 0, CR_EINVAL or CR_ENOMEM. */
static int build_command(cr__sup_worker_t *w, const char *const *argv, const char *const *envp,
                         const char *log_path)
{
    size_t na = count(argv, CR_SUP_MAX_ARGS), ne = count(envp, CR_SUP_MAX_ENV);
    size_t nenv = count((const char *const *)environ, 100000);
    if (na == 0 || na > CR_SUP_MAX_ARGS || ne > CR_SUP_MAX_ENV || argv[0][0] != '/')
        return CR_EINVAL;
    for (size_t i = 0; i < ne; i++)
        if (env_key_len(envp[i]) == 0)
            return CR_EINVAL;
    size_t bytes = log_path != NULL ? strlen(log_path) + 1 : 0;
    for (size_t i = 0; i < na + ne; i++) {
        const char *a = i < na ? argv[i] : envp[i - na];
        if (strlen(a) >= CR_SUP_ARG_MAX)
            return CR_EINVAL;
        bytes += strlen(a) + 1;
    }
    for (size_t i = 0; i < nenv; i++) /* copied, so a later setenv() cannot pull them away */
        if (!overridden(environ[i], envp, ne))
            bytes += strlen(environ[i]) + 1;
    char *block = malloc(bytes ? bytes : 1);
    char **av = calloc(na + 1, sizeof(char *));
    char **ev = calloc(nenv + ne + 1, sizeof(char *));
    if (block == NULL || av == NULL || ev == NULL) {
        free(block);
        free(av);
        free(ev);
        return CR_ENOMEM;
    }
    char *p = block;
    for (size_t i = 0; i < na + ne; i++) {
        const char *a = i < na ? argv[i] : envp[i - na];
        size_t l = strlen(a) + 1;
        memcpy(p, a, l);
        if (i < na)
            av[i] = p;
        else
            ev[i - na] = p;
        p += l;
    }
    size_t k = ne; /* the relay's own entries follow, minus those the worker overrides */
    for (size_t i = 0; i < nenv; i++) {
        if (overridden(environ[i], envp, ne))
            continue;
        size_t l = strlen(environ[i]) + 1;
        memcpy(p, environ[i], l);
        ev[k++] = p;
        p += l;
    }
    char *lp = NULL;
    if (log_path != NULL) {
        lp = p;
        memcpy(p, log_path, strlen(log_path) + 1);
    }
    free(w->block);
    free(w->argv);
    free(w->env);
    w->block = block;
    w->argv = av;
    w->env = ev;
    w->log_path = lp;
    return 0;
}

int cr_sup_set(cr_sup_t *s, const char *name, const char *const *argv, const char *const *envp,
               const char *log_path)
{
    if (s == NULL || name == NULL || name[0] == '\0' || strlen(name) >= CR_SUP_NAME_MAX || argv == NULL ||
        argv[0] == NULL)
        return CR_EINVAL;
    if (log_path != NULL && log_path[0] == '\0')
        log_path = NULL;
    cr__sup_worker_t *w = find(s, name), fresh;
    int added = w == NULL;
    if (added) {
        if (s->n == s->max)
            return CR_EFULL;
        memset(&fresh, 0, sizeof(fresh));
        w = &fresh;
    }
    int rc = build_command(w, argv, envp, log_path);
    if (rc != 0)
        return rc;
    if (added) {
        memcpy(fresh.info.name, name, strlen(name) + 1);
        s->w[s->n++] = fresh;
    }
    return 0;
}

int cr_sup_want(cr_sup_t *s, const char *name, int wanted)
{
    cr__sup_worker_t *w = s != NULL && name != NULL ? find(s, name) : NULL;
    if (w == NULL)
        return CR_ENOTFOUND;
    if (w->info.wanted != (wanted != 0)) {
        w->info.wanted = wanted != 0;
        if (wanted)
            w->info.failures = 0; /* a fresh request starts without back-off */
    }
    return 0;
}

int cr_sup_remove(cr_sup_t *s, const char *name)
{
    cr__sup_worker_t *w = s != NULL && name != NULL ? find(s, name) : NULL;
    if (w == NULL)
        return CR_ENOTFOUND;
    if (w->info.wanted || w->info.state != CR_SUP_STOPPED)
        return CR_ESTATE;
    free(w->block);
    free(w->argv);
    free(w->env);
    size_t i = (size_t)(w - s->w);
    memmove(&s->w[i], &s->w[i + 1], (s->n - i - 1) * sizeof(*w));
    s->n--;
    return 0;
}

static void set_state(cr__sup_worker_t *w, enum cr_sup_state st, uint64_t now_ms)
{
    w->info.state = st;
    w->info.since_ms = now_ms;
}

/* posix_spawn with stdin from /dev/null, stdout (and stderr if logging) redirected, default signal
 * dispositions (the relay ignores SIGPIPE, which exec would otherwise keep) and an empty mask. */
static int spawn(cr__sup_worker_t *w, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, defaults;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc != 0)
        return rc;
    if ((rc = posix_spawnattr_init(&at)) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return rc;
    }
    sigemptyset(&none);
    sigemptyset(&defaults);
    int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&defaults, sigs[i]);
    rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0 && w->log_path != NULL) {
        rc = posix_spawn_file_actions_addopen(&fa, 1, w->log_path, O_WRONLY | O_CREAT | O_APPEND, 0640);
        if (rc == 0)
            rc = posix_spawn_file_actions_adddup2(&fa, 1, 2);
    } else if (rc == 0) {
        rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    }
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(&at, &none);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(&at, &defaults);
    /* Its own process group: a ^C on the relay's terminal reaches the relay, which stops the
     * workers in order (a recorder finalizes its file) instead of all dying at once. */
    if (rc == 0)
        rc = posix_spawnattr_setpgroup(&at, 0);
    if (rc == 0)
        rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                               POSIX_SPAWN_SETPGROUP);
    if (rc == 0)
        rc = posix_spawn(pid, w->argv[0], &fa, &at, w->argv, w->env);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

static void start(cr__sup_worker_t *w, uint64_t now_ms)
{
    pid_t pid = 0;
    int rc = spawn(w, &pid);
    w->info.starts++;
    if (rc != 0) {
        /* Treated as a death: the back-off applies, so a missing binary is not retried in a loop. */
        snprintf(w->info.last_exit, sizeof(w->info.last_exit), "spawn failed: %.24s", strerror(rc));
        cr_log(CR_LOG_ERROR, "supervise", "%s: cannot start %s: %s", w->info.name, w->argv[0], strerror(rc));
        w->info.failures++;
        w->info.next_start_ms = now_ms + cr_sup_backoff_ms(w->info.failures);
        set_state(w, CR_SUP_BACKOFF, now_ms);
        return;
    }
    if (w->info.starts > 1 && w->info.failures > 0)
        w->info.restarts++;
    w->info.pid = pid;
    w->start_ms = now_ms;
    set_state(w, CR_SUP_RUNNING, now_ms);
    cr_log(CR_LOG_INFO, "supervise", "%s: started pid %d (%s)", w->info.name, (int)pid, w->argv[0]);
}

/* The child is gone with status: back to stopped, or to back-off if it was still wanted. */
static void reaped(cr__sup_worker_t *w, int status, uint64_t now_ms)
{
    cr_sup_describe_status(status, w->info.last_exit, sizeof(w->info.last_exit));
    pid_t pid = w->info.pid;
    w->info.pid = 0;
    if (!w->info.wanted || w->info.state == CR_SUP_STOPPING) {
        cr_log(CR_LOG_INFO, "supervise", "%s: pid %d stopped (%s)", w->info.name, (int)pid, w->info.last_exit);
        set_state(w, CR_SUP_STOPPED, now_ms);
        return;
    }
    if (now_ms - w->start_ms >= CR_SUP_STABLE_MS)
        w->info.failures = 0;
    w->info.failures++;
    uint64_t wait = cr_sup_backoff_ms(w->info.failures);
    w->info.next_start_ms = now_ms + wait;
    set_state(w, CR_SUP_BACKOFF, now_ms);
    cr_log(CR_LOG_WARN, "supervise", "%s: pid %d died (%s); restarting in %llu ms", w->info.name, (int)pid,
           w->info.last_exit, (unsigned long long)wait);
}

static unsigned step(cr__sup_worker_t *w, uint64_t now_ms)
{
    int status;
    if (w->info.pid > 0) {
        pid_t r = waitpid(w->info.pid, &status, WNOHANG);
        if (r == w->info.pid || (r < 0 && errno == ECHILD)) {
            reaped(w, r == w->info.pid ? status : 0, now_ms);
            return 1;
        }
    }
    switch (w->info.state) {
    case CR_SUP_RUNNING:
        if (!w->info.wanted) {
            kill(w->info.pid, SIGTERM);
            w->kill_at_ms = now_ms + CR_SUP_STOP_GRACE_MS;
            set_state(w, CR_SUP_STOPPING, now_ms);
            return 1;
        }
        return 0;
    case CR_SUP_STOPPING:
        if (now_ms >= w->kill_at_ms && w->info.pid > 0) {
            cr_log(CR_LOG_WARN, "supervise", "%s: pid %d ignored SIGTERM for %d ms: SIGKILL", w->info.name,
                   (int)w->info.pid, CR_SUP_STOP_GRACE_MS);
            kill(w->info.pid, SIGKILL);
            w->kill_at_ms = UINT64_MAX;
        }
        return 0;
    case CR_SUP_BACKOFF:
        if (!w->info.wanted) {
            set_state(w, CR_SUP_STOPPED, now_ms);
            return 1;
        }
        if (now_ms < w->info.next_start_ms)
            return 0;
        start(w, now_ms);
        return 1;
    case CR_SUP_STOPPED:
        if (!w->info.wanted)
            return 0;
        start(w, now_ms);
        return 1;
    }
    return 0;
}

unsigned cr_sup_poll(cr_sup_t *s, uint64_t now_ms)
{
    unsigned changes = 0;
    for (unsigned i = 0; s != NULL && i < s->n; i++)
        changes += step(&s->w[i], now_ms);
    return changes;
}

unsigned cr_sup_count(const cr_sup_t *s)
{
    return s != NULL ? s->n : 0;
}

int cr_sup_info(const cr_sup_t *s, unsigned i, cr_sup_info_t *out)
{
    if (s == NULL || i >= s->n)
        return CR_ENOTFOUND;
    *out = s->w[i].info;
    return 0;
}

int cr_sup_find(const cr_sup_t *s, const char *name, cr_sup_info_t *out)
{
    const cr__sup_worker_t *w = s != NULL && name != NULL ? find(s, name) : NULL;
    if (w == NULL)
        return CR_ENOTFOUND;
    *out = w->info;
    return 0;
}

int cr_sup_signal(cr_sup_t *s, const char *name, int sig)
{
    const cr__sup_worker_t *w = s != NULL && name != NULL ? find(s, name) : NULL;
    if (w == NULL)
        return CR_ENOTFOUND;
    if (w->info.pid <= 0)
        return CR_ESTATE;
    return kill(w->info.pid, sig) == 0 ? 0 : CR_ESTATE;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void cr_sup_free(cr_sup_t *s)
{
    if (s == NULL)
        return;
    for (unsigned i = 0; i < s->n; i++)
        s->w[i].info.wanted = 0;
    uint64_t t0 = mono_ms();
    for (;;) {
        unsigned alive = 0;
        uint64_t now = mono_ms();
        cr_sup_poll(s, now);
        for (unsigned i = 0; i < s->n; i++)
            alive += s->w[i].info.pid > 0;
        if (alive == 0 || now - t0 > CR_SUP_STOP_GRACE_MS + 2000)
            break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (unsigned i = 0; i < s->n; i++) {
        free(s->w[i].block);
        free(s->w[i].argv);
        free(s->w[i].env);
    }
    free(s->w);
    free(s);
}
