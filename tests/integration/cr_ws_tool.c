/*
 * cr-ws-tool: scripted WebSocket client for the signaling integration tests (libwebsockets client).
 *
 *   cr-ws-tool [--subprotocol NAME] [--path /ws] HOST PORT < SCRIPT
 *
 * One command per line (blank lines and '#' comments are skipped):
 *   connect                  open a connection (closing any previous one) and wait until it is up
 *   connect_fail [TIMEOUT_MS] open one that must be refused during the handshake
 *   send TEXT                send TEXT as one text message
 *   sendbin TEXT             send TEXT as one binary message
 *   sendbig BYTES            send a JSON ping padded to BYTES bytes, in one frame
 *   sendfrag BYTES N         the same in N fragments (continuation frames)
 *   flood N TEXT             send TEXT N times without waiting
 *   expect SUBSTRING [MS]    wait (default 3000 ms) for a message, received since the last match,
 *                            that contains SUBSTRING
 *   expect_close [CODE] [MS] wait for the connection to close (with close code CODE)
 *   expect_silence MS        no message arrives within MS
 *   sleep MS
 *   mark LABEL               print "mark LABEL UNIX"
 *   wait_file PATH [MS]      wait for a file to exist (to step with other processes)
 *   touch PATH
 *   close                    close the connection normally
 * Every message received is printed as "recv UNIX TEXT", a close as "closed CODE UNIX". Exits 0 if
 * every command succeeded, 1 at the first failure ("FAIL line N: ..." on stderr), 2 on usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_MSGS 4096
#define MAX_LINE 16384
#define MAX_OUT 1024

typedef struct out_msg {
    unsigned char *buf; /* LWS_PRE headroom + data */
    size_t len;
    int flags;
} out_msg_t;

static struct {
    struct lws_context *ctx;
    struct lws *wsi;
    const char *host, *path, *subprotocol;
    int port;
    int state; /* 0 idle, 1 connecting, 2 up, 3 closed, 4 refused */
    int close_code;
    char *msgs[MAX_MSGS];
    size_t n_msgs, cursor;
    char *rx;
    size_t rx_len, rx_cap;
    out_msg_t out[MAX_OUT];
    size_t out_head, out_tail;
} g;

static double unix_now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void keep_msg(const char *data, size_t len)
{
    printf("recv %.3f %.*s\n", unix_now(), (int)len, data);
    if (g.n_msgs < MAX_MSGS) {
        char *m = malloc(len + 1);
        if (m != NULL) {
            memcpy(m, data, len);
            m[len] = '\0';
            g.msgs[g.n_msgs++] = m;
        }
    }
}

static int on_receive(const char *in, size_t len, struct lws *wsi)
{
    if (lws_is_first_fragment(wsi))
        g.rx_len = 0;
    if (g.rx_len + len > g.rx_cap) {
        size_t cap = (g.rx_len + len) * 2;
        char *nb = realloc(g.rx, cap);
        if (nb == NULL)
            return -1;
        g.rx = nb;
        g.rx_cap = cap;
    }
    memcpy(g.rx + g.rx_len, in, len);
    g.rx_len += len;
    if (lws_is_final_fragment(wsi))
        keep_msg(g.rx, g.rx_len);
    return 0;
}

static int on_writeable(struct lws *wsi)
{
    if (g.out_head == g.out_tail)
        return 0;
    out_msg_t *m = &g.out[g.out_head % MAX_OUT];
    int n = lws_write(wsi, m->buf + LWS_PRE, m->len, (enum lws_write_protocol)m->flags);
    free(m->buf);
    g.out_head++;
    if (n < 0)
        return -1;
    if (g.out_head != g.out_tail)
        lws_callback_on_writable(wsi);
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user;
    if (wsi != g.wsi && reason != LWS_CALLBACK_CLIENT_CONNECTION_ERROR)
        return 0; /* a previous connection winding down */
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        g.state = 2;
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (wsi == g.wsi || g.state == 1) {
            g.state = 4;
            printf("refused %.3f %s\n", unix_now(), in ? (const char *)in : "");
            g.wsi = NULL;
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return on_receive(in, len, wsi);
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writeable(wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2)
            g.close_code = ((const unsigned char *)in)[0] << 8 | ((const unsigned char *)in)[1];
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        printf("closed %d %.3f\n", g.close_code, unix_now());
        g.state = 3;
        g.wsi = NULL;
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"cr-ws-tool", callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* lws_service() waits for the next event whatever its timeout argument (lws >= 3.2): a 10 ms timer
 * makes it return often enough for the script's deadlines. */
static lws_sorted_usec_list_t tick_sul;

static void tick(lws_sorted_usec_list_t *sul)
{
    lws_sul_schedule(g.ctx, 0, sul, tick, 10 * LWS_US_PER_MS);
}

static void pump(int ms)
{
    long long end = mono_ms() + ms;
    do {
        lws_service(g.ctx, 0);
    } while (mono_ms() < end);
}

static int do_connect(int want_up, int timeout_ms)
{
    /* What the previous connection did not send (e.g. fragments after the relay closed) is dropped. */
    for (; g.out_head != g.out_tail; g.out_head++)
        free(g.out[g.out_head % MAX_OUT].buf);
    if (g.wsi != NULL) {
        lws_set_timeout(g.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
        g.wsi = NULL;
    }
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.context = g.ctx;
    ci.address = g.host;
    ci.port = g.port;
    ci.path = g.path;
    ci.host = g.host;
    ci.origin = g.host;
    ci.protocol = g.subprotocol;
    ci.local_protocol_name = "cr-ws-tool";
    g.state = 1;
    g.close_code = 0;
    g.n_msgs = g.cursor = 0; /* a fresh connection starts a fresh message log */
    g.wsi = lws_client_connect_via_info(&ci);
    if (g.wsi == NULL)
        g.state = 4;
    long long end = mono_ms() + timeout_ms;
    while (g.state == 1 && mono_ms() < end)
        lws_service(g.ctx, 0);
    return want_up ? g.state == 2 : g.state == 4 || g.state == 3;
}

static void queue(const unsigned char *data, size_t len, int flags)
{
    if (g.out_tail - g.out_head >= MAX_OUT)
        return;
    out_msg_t *m = &g.out[g.out_tail % MAX_OUT];
    m->buf = malloc(LWS_PRE + len + 1);
    memcpy(m->buf + LWS_PRE, data, len);
    m->len = len;
    m->flags = flags;
    g.out_tail++;
    if (g.wsi != NULL)
        lws_callback_on_writable(g.wsi);
}

/* A JSON ping padded to exactly total bytes: {"type":"ping","pad":"xxx..."} */
static unsigned char *padded(size_t total)
{
    static const char head[] = "{\"type\":\"ping\",\"pad\":\"", tail[] = "\"}";
    size_t fixed = sizeof(head) - 1 + sizeof(tail) - 1;
    if (total < fixed)
        total = fixed;
    unsigned char *b = malloc(total);
    memcpy(b, head, sizeof(head) - 1);
    memset(b + sizeof(head) - 1, 'x', total - fixed);
    memcpy(b + total - 2, tail, 2);
    return b;
}

static int expect(const char *needle, int ms)
{
    long long end = mono_ms() + ms;
    for (;;) {
        for (size_t i = g.cursor; i < g.n_msgs; i++) {
            if (strstr(g.msgs[i], needle) != NULL) {
                g.cursor = i + 1;
                return 1;
            }
        }
        if (mono_ms() >= end)
            return 0;
        lws_service(g.ctx, 0);
    }
}

static int flush_out(int ms)
{
    long long end = mono_ms() + ms;
    while (g.out_head != g.out_tail && g.wsi != NULL && mono_ms() < end)
        lws_service(g.ctx, 0);
    return g.out_head == g.out_tail;
}

static int fail(unsigned line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL line %u: ", line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

static int num(const char *s, int def)
{
    if (s == NULL || *s < '0' || *s > '9')
        return def;
    return (int)strtol(s, NULL, 10);
}

/* Runs one script line; returns 0 or 1 (failed). */
static int run(char *line, unsigned ln)
{
    char *arg = strchr(line, ' ');
    if (arg != NULL)
        *arg++ = '\0';
    char *arg2 = arg ? strchr(arg, ' ') : NULL;
    if (strcmp(line, "connect") == 0)
        return do_connect(1, 5000) ? 0 : fail(ln, "cannot connect");
    if (strcmp(line, "connect_fail") == 0)
        return do_connect(0, num(arg, 3000)) ? 0 : fail(ln, "connection was not refused");
    if (strcmp(line, "send") == 0 || strcmp(line, "sendbin") == 0) {
        const char *t = arg ? arg : "";
        queue((const unsigned char *)t, strlen(t), line[4] == 'b' ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        return flush_out(2000) ? 0 : fail(ln, "could not send");
    }
    if (strcmp(line, "sendbig") == 0 || strcmp(line, "sendfrag") == 0) {
        size_t total = (size_t)num(arg, 0);
        int n = line[4] == 'f' ? num(arg2 ? arg2 + 1 : NULL, 1) : 1;
        unsigned char *b = padded(total);
        size_t per = (total + (size_t)n - 1) / (size_t)n;
        for (int i = 0; i < n; i++) {
            size_t off = (size_t)i * per, len = off + per > total ? total - off : per;
            queue(b + off, len, lws_write_ws_flags(LWS_WRITE_TEXT, i == 0, i == n - 1));
        }
        free(b);
        flush_out(3000);
        return 0; /* the relay may close before it has read everything */
    }
    if (strcmp(line, "flood") == 0) {
        int n = num(arg, 0);
        const char *t = arg2 ? arg2 + 1 : "";
        for (int i = 0; i < n; i++)
            queue((const unsigned char *)t, strlen(t), LWS_WRITE_TEXT);
        flush_out(3000);
        return 0;
    }
    if (strcmp(line, "expect") == 0) {
        char *ms = arg ? strrchr(arg, ' ') : NULL;
        int timeout = 3000;
        if (ms != NULL && ms[1] >= '0' && ms[1] <= '9' && strspn(ms + 1, "0123456789") == strlen(ms + 1)) {
            timeout = num(ms + 1, 3000);
            *ms = '\0';
        }
        return expect(arg ? arg : "", timeout) ? 0 : fail(ln, "no message with '%s' in %d ms", arg, timeout);
    }
    if (strcmp(line, "expect_close") == 0) {
        int code = num(arg, -1), timeout = num(arg2 ? arg2 + 1 : NULL, 3000);
        long long end = mono_ms() + timeout;
        while (g.state != 3 && g.state != 4 && mono_ms() < end)
            lws_service(g.ctx, 0);
        if (g.state != 3 && g.state != 4)
            return fail(ln, "still open after %d ms", timeout);
        return code < 0 || code == g.close_code ? 0 : fail(ln, "closed with %d, not %d", g.close_code, code);
    }
    if (strcmp(line, "expect_silence") == 0) {
        size_t before = g.n_msgs;
        pump(num(arg, 500));
        return g.n_msgs == before ? 0 : fail(ln, "got '%s'", g.msgs[before]);
    }
    if (strcmp(line, "sleep") == 0) {
        pump(num(arg, 0));
        return 0;
    }
    if (strcmp(line, "mark") == 0) {
        printf("mark %s %.3f\n", arg ? arg : "", unix_now());
        return 0;
    }
    if (strcmp(line, "wait_file") == 0) {
        if (arg2 != NULL)
            *arg2++ = '\0';
        long long end = mono_ms() + num(arg2, 30000);
        while (access(arg ? arg : "", F_OK) != 0) {
            if (mono_ms() >= end)
                return fail(ln, "no file %s", arg);
            pump(20);
        }
        return 0;
    }
    if (strcmp(line, "touch") == 0) {
        int fd = open(arg ? arg : "", O_WRONLY | O_CREAT, 0644);
        if (fd >= 0)
            close(fd);
        return fd >= 0 ? 0 : fail(ln, "cannot create %s", arg);
    }
    if (strcmp(line, "close") == 0) {
        if (g.wsi != NULL) {
            lws_close_reason(g.wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            lws_set_timeout(g.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        }
        pump(50);
        return 0;
    }
    return fail(ln, "unknown command '%s'", line);
}

int main(int argc, char **argv)
{
    int i = 1;
    g.path = "/ws";
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--subprotocol") == 0)
            g.subprotocol = argv[i + 1];
        else if (strcmp(argv[i], "--path") == 0)
            g.path = argv[i + 1];
        else
            break;
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: cr-ws-tool [--subprotocol NAME] [--path /ws] HOST PORT < SCRIPT\n");
        return 2;
    }
    g.host = argv[i];
    g.port = num(argv[i + 1], 0);
    setvbuf(stdout, NULL, _IOLBF, 0);
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    g.ctx = lws_create_context(&info);
    if (g.ctx == NULL)
        return 2;
    tick(&tick_sul);
    static char line[MAX_LINE];
    unsigned ln = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), stdin) != NULL) {
        ln++;
        line[strcspn(line, "\r\n")] = '\0';
        char *l = line + strspn(line, " \t");
        if (*l == '\0' || *l == '#')
            continue;
        rc = run(l, ln);
    }
    lws_context_destroy(g.ctx);
    return rc;
}
