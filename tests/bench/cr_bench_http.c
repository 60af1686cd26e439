#include "cr_bench_http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cr_err.h"

/* --- URL --- */

int cr_bench_url_parse(const char *url, cr_bench_url_t *out)
{
    static const char scheme[] = "http://";
    memset(out, 0, sizeof(*out));
    if (strncasecmp(url, scheme, sizeof(scheme) - 1) != 0)
        return CR_EINVAL;
    const char *h = url + sizeof(scheme) - 1;
    size_t hlen = strcspn(h, ":/");
    if (hlen == 0)
        return CR_EINVAL;
    if (hlen >= sizeof(out->host))
        return CR_ETOOBIG;
    memcpy(out->host, h, hlen);
    const char *p = h + hlen;
    out->port = 80;
    if (*p == ':') {
        unsigned long port = 0;
        const char *d = p + 1;
        while (*d >= '0' && *d <= '9' && port <= 65535)
            port = port * 10 + (unsigned long)(*d++ - '0');
        if (d == p + 1 || port == 0 || port > 65535 || (*d != '\0' && *d != '/'))
            return CR_EINVAL;
        out->port = (uint16_t)port;
        p = d;
    }
    const char *path = *p == '\0' ? "/" : p;
    size_t plen = strlen(path);
    if (plen >= sizeof(out->path))
        return CR_ETOOBIG;
    memcpy(out->path, path, plen + 1);
    return 0;
}

/* --- response parser --- */

/* Finds the end of the head ("\r\n\r\n", or "\n\n" from lenient servers); returns the body offset. */
static size_t head_end(const char *buf, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] == '\n' && buf[i + 1] == '\n')
            return i + 2;
        if (i + 3 < len && buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n')
            return i + 4;
    }
    return 0;
}

static int parse_status_line(const char *line, size_t len, int *status)
{
    /* RFC 9112 section 4: HTTP-version SP 3DIGIT SP [reason] */
    if (len < 12 || memcmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ')
        return CR_EMALFORMED;
    int s = 0;
    for (int i = 9; i < 12; i++) {
        if (line[i] < '0' || line[i] > '9')
            return CR_EMALFORMED;
        s = s * 10 + (line[i] - '0');
    }
    if (len > 12 && line[12] != ' ')
        return CR_EMALFORMED;
    *status = s;
    return 0;
}

static int header_is(const char *name, size_t nlen, const char *want)
{
    return strlen(want) == nlen && strncasecmp(name, want, nlen) == 0;
}

/* Parses a decimal Content-Length value; returns 0 or CR_EMALFORMED/CR_ETOOBIG. */
static int parse_length(const char *v, size_t len, size_t *out)
{
    size_t n = 0;
    if (len == 0)
        return CR_EMALFORMED;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return CR_EMALFORMED;
        n = n * 10 + (size_t)(v[i] - '0');
        if (n > CR_BENCH_HTTP_MAX_RESPONSE)
            return CR_ETOOBIG;
    }
    *out = n;
    return 0;
}

/* Parses one "Name: value" header line into the response. */
static int parse_header(const char *line, size_t len, cr_bench_http_resp_t *out, size_t *clen, int *has_clen)
{
    const char *colon = memchr(line, ':', len);
    if (colon == NULL || colon == line)
        return CR_EMALFORMED;
    size_t nlen = (size_t)(colon - line);
    const char *v = colon + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vlen = (size_t)(end - v);
    if (header_is(line, nlen, "content-length")) {
        *has_clen = 1;
        return parse_length(v, vlen, clen);
    }
    if (header_is(line, nlen, "transfer-encoding") && vlen > 0 && strncasecmp(v, "identity", vlen) != 0)
        return CR_EUNSUPPORTED;
    if (header_is(line, nlen, "location")) {
        out->location = v;
        out->location_len = vlen;
    } else if (header_is(line, nlen, "content-type")) {
        out->content_type = v;
        out->content_type_len = vlen;
    }
    return 0;
}

int cr_bench_http_parse(const char *buf, size_t len, int eof, cr_bench_http_resp_t *out)
{
    memset(out, 0, sizeof(*out));
    size_t body = head_end(buf, len);
    if (body == 0) {
        if (len > CR_BENCH_HTTP_MAX_HEAD)
            return CR_ETOOBIG;
        return eof ? (len == 0 ? CR_ETRUNC : CR_EMALFORMED) : 0;
    }
    if (body > CR_BENCH_HTTP_MAX_HEAD)
        return CR_ETOOBIG;

    size_t clen = 0;
    int has_clen = 0, first = 1;
    const char *p = buf, *head_stop = buf + body;
    while (p < head_stop) {
        const char *nl = memchr(p, '\n', (size_t)(head_stop - p));
        if (nl == NULL)
            return CR_EMALFORMED;
        size_t l = (size_t)(nl - p);
        if (l > 0 && p[l - 1] == '\r')
            l--;
        if (l == 0)
            break; /* the blank line that ends the head */
        int err = first ? parse_status_line(p, l, &out->status) : parse_header(p, l, out, &clen, &has_clen);
        if (err != 0)
            return err;
        first = 0;
        p = nl + 1;
    }
    if (first)
        return CR_EMALFORMED;

    size_t avail = len - body;
    if (has_clen) {
        if (avail < clen)
            return eof ? CR_ETRUNC : 0;
        avail = clen;
    } else if (!eof && out->status != 204 && out->status != 304) {
        return 0; /* the body runs until the server closes */
    }
    if (avail > CR_BENCH_HTTP_MAX_RESPONSE)
        return CR_ETOOBIG;
    out->body = buf + body;
    out->body_len = (out->status == 204 || out->status == 304) ? 0 : avail;
    return 1;
}

/* --- blocking request with a deadline --- */

static int64_t ms_left(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static int wait_fd(int fd, short events, const struct timespec *deadline)
{
    for (;;) {
        int64_t left = ms_left(deadline);
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, (int)left);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

static int connect_to(const cr_bench_url_t *url, const struct timespec *deadline)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)url->port);
    if (getaddrinfo(url->host, port, &hints, &ai) != 0 || ai == NULL) {
        errno = EHOSTUNREACH;
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) != 0 ||
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
                int e = soerr ? soerr : errno;
                close(fd);
                fd = -1;
                errno = e;
            }
        }
    }
    freeaddrinfo(ai);
    return fd;
}

static int send_all(int fd, const char *data, size_t len, const struct timespec *deadline)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return -1;
        } else if (wait_fd(fd, POLLOUT, deadline) != 0) {
            return -1;
        }
    }
    return 0;
}

int cr_bench_http_request(const cr_bench_url_t *url, const cr_bench_http_req_t *req, char *buf, size_t cap,
                          int timeout_ms, cr_bench_http_resp_t *out)
{
    struct timespec deadline;
    char head[CR_BENCH_TOKEN_MAX + 2048];
    const char *ct = req->content_type;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    int n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: classrelay-bench\r\n"
                     "Connection: close\r\n%s%s%s%s%s%sContent-Length: %zu\r\n\r\n",
                     req->method, req->path ? req->path : url->path, url->host, (unsigned)url->port,
                     ct ? "Content-Type: " : "", ct ? ct : "", ct ? "\r\n" : "",
                     req->token ? "Authorization: Bearer " : "", req->token ? req->token : "",
                     req->token ? "\r\n" : "", req->body_len);
    if (n < 0 || (size_t)n >= sizeof(head) || (req->token != NULL && strlen(req->token) > CR_BENCH_TOKEN_MAX))
        return CR_ETOOBIG;

    int fd = connect_to(url, &deadline);
    if (fd < 0)
        return CR_EIO;
    int err = CR_EIO;
    if (send_all(fd, head, (size_t)n, &deadline) != 0 || send_all(fd, req->body, req->body_len, &deadline) != 0)
        goto Exit;
    size_t len = 0;
    for (;;) {
        int eof = 0;
        if (len == cap) {
            err = CR_ETOOBIG;
            goto Exit;
        }
        ssize_t r = recv(fd, buf + len, cap - len, 0);
        if (r > 0)
            len += (size_t)r;
        else if (r == 0)
            eof = 1;
        else if (errno != EAGAIN && errno != EINTR)
            goto Exit;
        else if (wait_fd(fd, POLLIN, &deadline) != 0)
            goto Exit;
        if (r < 0)
            continue;
        err = cr_bench_http_parse(buf, len, eof, out);
        if (err != 0) {
            err = err == 1 ? 0 : err;
            goto Exit;
        }
        if (eof) {
            err = CR_ETRUNC;
            goto Exit;
        }
    }
Exit:
    close(fd);
    return err;
}

/* --- JSON counter scanner --- */

/* Skips a JSON string starting at s[*i] == '"'; returns the offset of its content and sets *i past it. */
static size_t skip_string(const char *s, size_t len, size_t *i)
{
    size_t start = ++*i;
    while (*i < len && s[*i] != '"')
        *i += s[*i] == '\\' ? 2 : 1;
    size_t content = start;
    if (*i < len)
        ++*i;
    return content;
}

/* Finds every integer value of key; returns the count and their sum and maximum. */
static int json_scan(const char *json, size_t len, const char *key, int64_t *sum, int64_t *max)
{
    size_t klen = strlen(key), i = 0;
    int found = 0;
    *sum = *max = 0;
    while (i < len) {
        if (json[i] != '"') {
            i++;
            continue;
        }
        size_t s = skip_string(json, len, &i);
        size_t slen = i > s ? i - s - 1 : 0;
        if (slen != klen || memcmp(json + s, key, klen) != 0)
            continue;
        size_t j = i;
        while (j < len && (json[j] == ' ' || json[j] == '\t' || json[j] == '\n' || json[j] == '\r'))
            j++;
        if (j >= len || json[j] != ':')
            continue;
        j++;
        while (j < len && (json[j] == ' ' || json[j] == '\t' || json[j] == '\n' || json[j] == '\r'))
            j++;
        int neg = j < len && json[j] == '-';
        j += (size_t)neg;
        if (j >= len || json[j] < '0' || json[j] > '9')
            continue;
        int64_t v = 0;
        while (j < len && json[j] >= '0' && json[j] <= '9' && v < INT64_MAX / 10 - 10)
            v = v * 10 + (json[j++] - '0');
        v = neg ? -v : v;
        *sum += v;
        if (found == 0 || v > *max)
            *max = v;
        found++;
        i = j;
    }
    return found;
}

int cr_bench_json_sum(const char *json, size_t len, const char *key, int64_t *sum)
{
    int64_t max;
    return json_scan(json, len, key, sum, &max);
}

int cr_bench_json_max(const char *json, size_t len, const char *key, int64_t *max)
{
    int64_t sum;
    return json_scan(json, len, key, &sum, max);
}
