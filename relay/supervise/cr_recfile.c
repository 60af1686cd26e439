#include "cr_recfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

enum cr_recfile_kind cr_recfile_kind(const char *name, size_t len)
{
    static const struct {
        const char *ext;
        enum cr_recfile_kind kind;
    } exts[] = {{".mp4", CR_RECFILE_SEGMENT}, {".json", CR_RECFILE_SIDECAR}};
    if (name == NULL || len == 0 || len > CR_RECFILE_NAME_MAX || name[0] == '-')
        return CR_RECFILE_NONE;
    for (size_t e = 0; e < sizeof(exts) / sizeof(exts[0]); e++) {
        size_t el = strlen(exts[e].ext);
        if (len <= el || memcmp(name + len - el, exts[e].ext, el) != 0)
            continue;
        for (size_t i = 0; i < len - el; i++)
            if (!name_char(name[i]))
                return CR_RECFILE_NONE;
        return exts[e].kind;
    }
    return CR_RECFILE_NONE;
}

const char *cr_recfile_type(enum cr_recfile_kind k)
{
    return k == CR_RECFILE_SEGMENT ? "video/mp4" : k == CR_RECFILE_SIDECAR ? "application/json" : NULL;
}

/* Digits only, no sign or blank, into *out; returns the end or NULL. */
static const char *number(const char *p, uint64_t *out)
{
    if (*p < '0' || *p > '9')
        return NULL;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno != 0)
        return NULL;
    *out = v;
    return end;
}

int cr_http_range(const char *hdr, uint64_t size, uint64_t *first, uint64_t *len)
{
    uint64_t a = 0, b = 0;
    if (hdr == NULL || strncmp(hdr, "bytes=", 6) != 0 || strchr(hdr, ',') != NULL)
        return 0;
    const char *p = hdr + 6;
    if (*p == '-') { /* the last N bytes */
        p = number(p + 1, &b);
        if (p == NULL || *p != '\0')
            return 0;
        if (b == 0 || size == 0)
            return -1;
        *len = b < size ? b : size;
        *first = size - *len;
        return 1;
    }
    p = number(p, &a);
    if (p == NULL || *p != '-')
        return 0;
    if (p[1] == '\0') {
        b = UINT64_MAX;
    } else {
        p = number(p + 1, &b);
        if (p == NULL || *p != '\0' || b < a)
            return 0;
    }
    if (a >= size)
        return -1;
    if (b >= size)
        b = size - 1;
    *first = a;
    *len = b - a + 1;
    return 1;
}
