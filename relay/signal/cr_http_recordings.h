/*
 * The recordings API (docs/PROTOCOL.md "Recordings"), for operator and admin tokens:
 *
 *   GET    /api/recordings          the recordings (their sidecars) and the recorders
 *   POST   /api/recordings          {"class":"<id>"}: record that class while it is live
 *   DELETE /api/recordings/<class>  stop recording it
 *   GET    /api/recordings/<file>   download a segment or sidecar, with HTTP range requests
 *
 * Downloads are streamed from the file in chunks on writable callbacks (the request's `file`), since
 * a segment may be gigabytes and this libwebsockets is built without its own range support.
 */
#ifndef CR_HTTP_RECORDINGS_H
#define CR_HTTP_RECORDINGS_H

#include "cr_http_int.h"

#define CR_RECORDINGS_LIST_MAX 2000    /* sidecars listed per request */
#define CR_RECORDINGS_SIDECAR_MAX (1u << 20)
#define CR_RECORDINGS_CHUNK (64u * 1024u)

/** Route handler for "/api/recordings" and "/api/recordings/...". */
void cr__http_recordings(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq);

/**
 * Writes the next part of a streamed file reply (headers first). Returns 0 while there is more (a
 * writable callback is requested), 1 when the reply is complete, -1 to close the connection.
 */
int cr__http_file_write(struct lws *wsi, cr_http_request_t *rq);

/** Closes a streamed file reply, if any. */
void cr__http_file_close(cr_http_request_t *rq);

/** Adds the supervised workers ("supervised") to a 200 GET /api/status reply's JSON. */
void cr__http_status_workers(cr_http_t *h, cr_relay_reply_t *rep);

#endif
