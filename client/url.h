/* URL helpers for WHIP/WHEP signalling (GLib GUri underneath). */
#ifndef CR_CLIENT_URL_H
#define CR_CLIENT_URL_H

/**
 * Resolve a Location header value against the URL the request went to (RFC 9110 §10.2.2,
 * RFC 3986 §5): "/whip/demo/abc", "abc", "//host/x" and absolute URLs all work.
 * Returns a newly allocated string (g_free) or NULL when either input is not a valid URL.
 */
char *cr_url_resolve(const char *request_url, const char *location);

/**
 * The ICE address to use by default for this URL: "127.0.0.1" when the host is 127.x.x.x or
 * "localhost", "::1" when it is ::1, else NULL (let libnice use every non-loopback interface).
 * libnice never gathers loopback candidates by itself, so a relay on loopback needs this.
 * Returns static storage.
 */
const char *cr_url_auto_local_ip(const char *url);

#endif
