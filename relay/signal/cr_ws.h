/*
 * WebSocket signaling at /ws (docs/PROTOCOL.md section 4) on libwebsockets 4.1: one JSON object per
 * text message, parsed with jansson under caps checked before parsing (message size, with our own
 * reassembly cap since lws 4.1 has none; nesting depth; key and string lengths) and a rate limit;
 * connections that do not join, go idle or do not read what we send are closed.
 *
 * The connection is served by the protocol "classrelay.v1" when the client asks for it, and by the
 * HTTP protocol's callback (which forwards the WebSocket reasons here) when it asks for none. Either
 * way the per-connection state hangs off lws's opaque user data, not the protocol's session memory.
 */
#ifndef CR_WS_H
#define CR_WS_H

#include <libwebsockets.h>

#define CR_WS_PROTOCOL "classrelay.v1"
#define CR_WS_PATH "/ws"
#define CR_WS_MAX_MSG 8192         /* bytes of one message after reassembly */
#define CR_WS_MAX_DEPTH 4          /* JSON nesting */
#define CR_WS_MAX_KEY 32           /* bytes of an object key */
#define CR_WS_MAX_STRING 256       /* bytes of a string value ... */
#define CR_WS_MAX_TOKEN CR_AUTH_TOKEN_MAX /* ... except join's token */
#define CR_WS_RATE 20              /* messages per second, sustained */
#define CR_WS_BURST 40             /* messages at once */
#define CR_WS_JOIN_TIMEOUT_S 10
#define CR_WS_QUEUE_MSGS 256       /* unsent messages to one client */
#define CR_WS_QUEUE_BYTES (1u << 20)
#define CR_WS_MAX_PROTO_ERRORS 8   /* malformed or invalid messages before the connection is closed */
#define CR_WS_MAX_CONNS 4096

/** 1 if reason is one the WebSocket callback handles (for the HTTP protocol to forward). */
int cr__ws_reason(enum lws_callback_reasons reason);

/** The lws protocol callback of the signaling WebSocket. */
int cr__ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

/** Connections currently open (for status and tests). */
unsigned cr__ws_connections(void);

#endif
