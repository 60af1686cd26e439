/*
 * The command lines of the supervised workers (classrelay-client ingest | record), built from the
 * configuration. Pure C (libc), unit-tested in tests/unit/test_supervise.c. Every value goes in its
 * own argv entry: nothing is ever interpreted by a shell.
 */
#ifndef CR_WORKCMD_H
#define CR_WORKCMD_H

#include <stddef.h>
#include <stdint.h>

#define CR_WORKCMD_MAX_ARGS 24
#define CR_WORKCMD_BUF 4096

/** A command: argv[0..n) and a NULL, pointing into buf or at the caller's strings. */
typedef struct cr_workcmd {
    const char *argv[CR_WORKCMD_MAX_ARGS + 1];
    unsigned n;
    char buf[CR_WORKCMD_BUF];
    size_t used;
    int overflow; /* an argument did not fit: the command must not be used */
} cr_workcmd_t;

/** Where and how workers reach the relay. Strings are borrowed. */
typedef struct cr_workcmd_env {
    const char *client;   /* absolute path of classrelay-client */
    const char *base_url; /* "http://127.0.0.1:8080": the relay's HTTP as the workers see it */
    const char *local_ip; /* --local-ip for ICE, or NULL/"" to let the client choose */
} cr_workcmd_env_t;

/** An ingest worker: pull url, publish to base_url/whip/class_id. layers: "" or "1080,720,360". */
typedef struct cr_workcmd_ingest {
    const char *class_id;
    const char *url;
    int transcode;
    const char *layers;
    unsigned fps; /* 0: the client's default */
} cr_workcmd_ingest_t;

/** A recorder: subscribe to base_url/whep/class_id, write to dir. */
typedef struct cr_workcmd_record {
    const char *class_id;
    const char *dir;
    unsigned segment_s; /* 0: the client's default */
    uint64_t max_bytes; /* 0: none */
    const char *teacher; /* NULL or "": unknown */
} cr_workcmd_record_t;

/** Builds `client ingest URL BASE/whip/CLASS --reconnect --reconnect-source [...]`. 0 or CR_EINVAL / CR_ETOOBIG. */
int cr_workcmd_ingest(cr_workcmd_t *c, const cr_workcmd_env_t *e, const cr_workcmd_ingest_t *in);

/** Builds `client record BASE/whep/CLASS --dir DIR --reconnect [...]`. 0 or CR_EINVAL / CR_ETOOBIG. */
int cr_workcmd_record(cr_workcmd_t *c, const cr_workcmd_env_t *e, const cr_workcmd_record_t *rec);

/**
 * The base URL workers use for an http_listen of host:port: "http://host:port", with the wildcard
 * 0.0.0.0 replaced by 127.0.0.1. Returns 0 or CR_ETOOBIG.
 */
int cr_workcmd_base_url(const char *host, unsigned port, char *out, size_t cap);

#endif
