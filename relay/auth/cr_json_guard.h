/*
 * Bounded JSON parsing on top of jansson for input a remote peer controls (tokens, signaling
 * messages, admin request bodies). Everything is checked before or while parsing, never trusted:
 *   - the text size, before anything else;
 *   - the nesting depth, by a pre-scan that costs no allocation (jansson's own limit is 2048);
 *   - duplicate keys and NUL bytes (jansson flags);
 *   - key and string lengths, by a walk of the parsed tree.
 */
#ifndef CR_JSON_GUARD_H
#define CR_JSON_GUARD_H

#include <jansson.h>
#include <stddef.h>

typedef struct cr_json_limits {
    size_t max_size;   /* bytes of text */
    unsigned max_depth; /* 1 = a flat object or array */
    size_t max_key;    /* bytes of an object key */
    size_t max_string; /* bytes of a string value */
} cr_json_limits_t;

/** Why a text was refused. */
enum cr_json_fail {
    CR_JSON_OK = 0,
    CR_JSON_TOO_BIG = 1,    /* over max_size */
    CR_JSON_TOO_DEEP = 2,   /* nesting over max_depth */
    CR_JSON_SYNTAX = 3,     /* not JSON, duplicate key, NUL in a string */
    CR_JSON_LONG_KEY = 4,   /* a key over max_key */
    CR_JSON_LONG_STRING = 5, /* a string over max_string */
    CR_JSON_NOT_OBJECT = 6, /* the top level is not an object */
};

/**
 * Parses text (len bytes, borrowed, need not be NUL-terminated) into a new object (*out, owned by the
 * caller: json_decref). Returns CR_JSON_OK or the reason; *out is NULL on failure.
 */
enum cr_json_fail cr_json_load_object(const char *text, size_t len, const cr_json_limits_t *lim, json_t **out);

/** Checks the key and string lengths of an already parsed value (borrowed) against lim. */
enum cr_json_fail cr_json_check(json_t *v, const cr_json_limits_t *lim);

/** Nesting depth of text (0 for a scalar), or -1 as soon as it exceeds max (strings are skipped). */
int cr_json_depth(const char *text, size_t len, unsigned max);

#endif
