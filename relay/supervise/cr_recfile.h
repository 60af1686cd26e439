/*
 * The recordings directory as the relay serves it: which names may be read, and HTTP byte ranges.
 * Pure C (libc), unit-tested in tests/unit/test_supervise.c.
 *
 * Names are the recorder's own (client/record_meta.h): "<class>-<stamp>-<NNNN>.mp4" segments and
 * "<class>-<stamp>.json" sidecars. Only names of that shape are served, so a request can never
 * reach outside the directory: no '/', no "..", no leading '.' or '-'.
 */
#ifndef CR_RECFILE_H
#define CR_RECFILE_H

#include <stddef.h>
#include <stdint.h>

#define CR_RECFILE_NAME_MAX 95 /* bytes of a served name */

enum cr_recfile_kind { CR_RECFILE_NONE = 0, CR_RECFILE_SEGMENT = 1, CR_RECFILE_SIDECAR = 2 };

/**
 * Classifies a file name (len bytes, not necessarily NUL-terminated): CR_RECFILE_SEGMENT for
 * [A-Za-z0-9_][A-Za-z0-9_-]*.mp4, CR_RECFILE_SIDECAR for the same with .json, at most
 * CR_RECFILE_NAME_MAX bytes; CR_RECFILE_NONE for anything else.
 */
enum cr_recfile_kind cr_recfile_kind(const char *name, size_t len);

/** "video/mp4", "application/json" or NULL. */
const char *cr_recfile_type(enum cr_recfile_kind k);

/**
 * Parses a Range header value (RFC 9110 section 14.1.2) against a representation of size bytes:
 * "bytes=F-L", "bytes=F-" or "bytes=-N". Returns 1 with the satisfiable range in *first and *len;
 * 0 when the header is absent (hdr NULL), malformed, not in bytes or names several ranges (the
 * whole file is then served, as section 14.2 allows); -1 when no byte of the range exists (416).
 */
int cr_http_range(const char *hdr, uint64_t size, uint64_t *first, uint64_t *len);

#endif
