#include "text.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

const char *cr_text_http_phrase(unsigned status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "";
    }
}

/* Append body bytes to out as one line: control characters become spaces, runs of spaces
 * collapse, and the text is cut at max bytes with "...". */
static size_t clean_line(char *out, size_t out_len, const char *s, size_t n, size_t max)
{
    size_t o = 0;
    bool space = true; /* drops leading blanks */

    if (out_len == 0)
        return 0;
    for (size_t i = 0; i < n && o + 1 < out_len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == ' ') {
            if (!space)
                out[o++] = ' ';
            space = true;
            continue;
        }
        if (o >= max) {
            const char *dots = "...";
            for (size_t k = 0; dots[k] != '\0' && o + 1 < out_len; k++)
                out[o++] = dots[k];
            break;
        }
        out[o++] = (char)c;
        space = false;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    return o;
}

/* Find the string value of "key" in a flat JSON object and unescape it into out. This is not
 * a JSON parser: it only serves to show a relay's error text nicely, and falls back to the
 * raw body when it finds nothing. */
static bool json_string_field(const char *s, size_t n, const char *key, char *out, size_t out_len)
{
    size_t klen = strlen(key);

    for (size_t i = 0; i + klen + 2 <= n; i++) {
        if (s[i] != '"' || memcmp(s + i + 1, key, klen) != 0 || s[i + 1 + klen] != '"')
            continue;
        size_t j = i + klen + 2;
        while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n'))
            j++;
        if (j >= n || s[j] != ':')
            continue;
        j++;
        while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n'))
            j++;
        if (j >= n || s[j] != '"')
            continue;
        size_t o = 0;
        for (j++; j < n && s[j] != '"' && o + 1 < out_len; j++) {
            char c = s[j];
            if (c == '\\' && j + 1 < n) {
                c = s[++j];
                if (c == 'n' || c == 't' || c == 'r') {
                    c = ' ';
                } else if (c == 'u') {
                    c = '?'; /* non-ASCII escapes are not worth decoding for a message */
                    j = j + 4 < n ? j + 4 : n - 1;
                }
            }
            out[o++] = c;
        }
        out[o] = '\0';
        return o > 0;
    }
    return false;
}

/* The unsigned integer value of "key" in a flat JSON text, or -1. Same caveats as above. */
static long json_number_field(const char *s, size_t n, const char *key)
{
    size_t klen = strlen(key);

    for (size_t i = 0; i + klen + 2 <= n; i++) {
        if (s[i] != '"' || memcmp(s + i + 1, key, klen) != 0 || s[i + 1 + klen] != '"')
            continue;
        size_t j = i + klen + 2;
        while (j < n && (s[j] == ' ' || s[j] == ':'))
            j++;
        long v = 0;
        size_t digits = 0;
        for (; j < n && s[j] >= '0' && s[j] <= '9' && digits < 9; j++, digits++)
            v = v * 10 + (s[j] - '0');
        if (digits > 0)
            return v;
    }
    return -1;
}

size_t cr_text_refusal(char *out, size_t out_len, unsigned status, const char *reason,
                       const char *body, size_t body_len)
{
    char text[CR_TEXT_BODY_MAX + 8];
    char field[CR_TEXT_BODY_MAX * 2];
    size_t tlen = 0;

    if (out_len == 0)
        return 0;
    if (reason == NULL || *reason == '\0')
        reason = cr_text_http_phrase(status);
    if (body != NULL && body_len > 0) {
        size_t k = 0;
        while (k < body_len && (body[k] == ' ' || body[k] == '\n' || body[k] == '\r'))
            k++;
        static const char *const keys[] = {"error", "message", "reason", "detail"};
        bool found = false;
        if (k < body_len && body[k] == '{') {
            /* {"error": "..."} or the relay's {"error": {"code": 4042, "message": "..."}} */
            for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && !found; i++)
                if (json_string_field(body, body_len, keys[i], field, sizeof(field))) {
                    tlen = clean_line(text, sizeof(text), field, strlen(field), CR_TEXT_BODY_MAX);
                    found = tlen > 0;
                }
            long code = json_number_field(body, body_len, "code");
            if (found && code >= 0 && (unsigned long)code != status && tlen + 20 < sizeof(text)) {
                int w = snprintf(text + tlen, sizeof(text) - tlen, " (code %ld)", code);
                if (w > 0)
                    tlen += (size_t)w;
            }
        }
        if (!found)
            tlen = clean_line(text, sizeof(text), body, body_len, CR_TEXT_BODY_MAX);
    }
    int w;
    if (tlen > 0)
        w = snprintf(out, out_len, "relay refused (%u%s%s): %s", status, *reason ? " " : "",
                     reason, text);
    else
        w = snprintf(out, out_len, "relay refused (%u%s%s)", status, *reason ? " " : "", reason);
    if (w < 0)
        return 0;
    return (size_t)w < out_len ? (size_t)w : out_len - 1;
}
