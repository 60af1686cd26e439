/* One-line messages for the user. Pure C. */
#ifndef CR_CLIENT_TEXT_H
#define CR_CLIENT_TEXT_H

#include <stddef.h>

/** Longest text taken from a response body into a message, in bytes. */
#define CR_TEXT_BODY_MAX 240

/**
 * Format the message for a relay that refused a WHIP/WHEP request, e.g.
 * "relay refused (404 Not Found): class 'x' is not live". reason may be NULL or empty; body
 * (body_len bytes, need not be NUL-terminated, may be NULL) is reduced to one printable line
 * of at most CR_TEXT_BODY_MAX bytes; when it is a JSON object its "error", "message", "reason"
 * or "detail" string is used instead, followed by " (code N)" when it has a numeric "code" (the
 * relay's numbered API errors: {"error":{"code":4042,"message":"..."}}). Returns the length written (truncated to fit out_len).
 */
size_t cr_text_refusal(char *out, size_t out_len, unsigned status, const char *reason,
                       const char *body, size_t body_len);

/** Reason phrase of common HTTP status codes, or "" when unknown. Static storage. */
const char *cr_text_http_phrase(unsigned status);

#endif
