/*
 * Internals of the configuration module, shared by cr_conf_table.c (the rows, and how each type of
 * value is read and checked) and cr_conf.c (the parser, loading and cross-key validation). Not for
 * other modules.
 */
#ifndef CR_CONF_INT_H
#define CR_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "cr_conf.h"

#define CR__CONF_WHY 256 /* room for one reason text */

enum cr__conf_type {
    CR__CONF_UINT,     /* unsigned, min..max */
    CR__CONF_PORT,     /* uint16_t, min..max */
    CR__CONF_STRING,   /* char[size]: any text up to size - 1 bytes */
    CR__CONF_IPV4,     /* char[size]: a dotted-quad IPv4 address */
    CR__CONF_HOSTPORT, /* char[size] host at off, uint16_t port (min..max) at off2 */
    CR__CONF_ENUM,     /* int: the value of one of names[] */
    CR__CONF_BOOL,     /* int: true or false */
    CR__CONF_TIME,     /* int64_t: Unix seconds, or YYYY-MM-DDTHH:MM[:SS]Z (UTC) */
    CR__CONF_ID,       /* char[size]: "" or an id of [A-Za-z0-9_-] */
    CR__CONF_IDLIST,   /* char[size]: "" or comma-separated ids */
    CR__CONF_FRACTION, /* double: a decimal fraction 0 < x <= 1 ("0.9"); 0 only as a default */
};

typedef struct cr__conf_name {
    const char *name;
    int value;
} cr__conf_name_t;

/** Sections that repeat with an id: [class.<id>], [school.<id>], [classroom.<id>]. */
enum cr__conf_inst {
    CR__INST_NONE = 0,
    CR__INST_CLASS,
    CR__INST_SCHOOL,
    CR__INST_CLASSROOM,
    CR__INST_SOURCE,
    CR__INST_COUNT
};

typedef struct cr__conf_key {
    const char *section;
    const char *key;
    enum cr__conf_type type;
    size_t off;                   /* the field in cr_conf_t (or in the instance's struct) */
    size_t size;                  /* sizeof that field */
    size_t off2;                  /* HOSTPORT: the uint16_t port field */
    unsigned long min, max;       /* UINT, PORT, the port of HOSTPORT; STRING: min bytes unless empty */
    const cr__conf_name_t *names; /* ENUM: terminated by a NULL name */
    const char *def;              /* the built-in default, in file syntax */
    const char *follows;          /* a key of the same section whose value this one copies until set */
    int instance;                 /* enum cr__conf_inst: off is in that section's struct */
} cr__conf_key_t;

/** Where the entries of one repeated section live in cr_conf_t. */
typedef struct cr__conf_inst_desc {
    const char *prefix;  /* "class." */
    const char *section; /* "class.*": the rows' section name */
    const char *what;    /* "class": for messages */
    size_t array_off;    /* the array in cr_conf_t */
    size_t count_off;    /* its unsigned count */
    size_t elem_size;
    unsigned max;
} cr__conf_inst_desc_t;

extern const cr__conf_key_t cr__conf_keys[];
extern const size_t cr__conf_nkeys;
extern const cr__conf_inst_desc_t cr__conf_insts[CR__INST_COUNT];

/** Writes a message into err (cap bytes), like snprintf; err may be NULL. */
void cr__conf_msg(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** A blank: space or tab. */
bool cr__conf_blank(char ch);

/** Trims blanks (space, tab) at both ends of the view *s, *n. */
void cr__conf_trim(const char **s, size_t *n);

/** 1..CR_CONF_ID_MAX of [A-Za-z0-9_-]. */
bool cr__conf_id_ok(const char *s, size_t len);

/** An IPv4 address in dotted-quad form. */
bool cr__conf_ipv4(const char *s);

/**
 * Stores the NUL-terminated value v (len bytes, modifiable) in the field of row k of the struct at
 * base. Returns 0, or -1 with the reason in why (CR__CONF_WHY bytes).
 */
int cr__conf_set(const cr__conf_key_t *k, char *base, char *v, size_t len, char *why);

/** Re-checks one row of a struct that may have been filled in by code rather than by the parser. */
int cr__conf_check(const cr__conf_key_t *k, const char *base, char *why);

/** Finds the row for section/key, or NULL. */
const cr__conf_key_t *cr__conf_find(const char *section, const char *key, size_t keylen);

/** Applies the defaults of the rows of one kind of section (CR__INST_NONE: the plain sections). */
void cr__conf_apply_defaults(char *base, int instance);

/** The entries of a repeated section: its array in c, and the count (both c's). */
char *cr__conf_inst_at(const cr__conf_inst_desc_t *d, const cr_conf_t *c, unsigned i);
unsigned *cr__conf_inst_count(const cr__conf_inst_desc_t *d, const cr_conf_t *c);

/** cr_conf_workers.c: [source.<id>] and [recording] checks beyond single rows. 0 or -1 with err. */
int cr__conf_validate_workers(const cr_conf_t *c, char *err, size_t err_cap);

#endif
