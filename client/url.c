#include "url.h"

#include <glib.h>
#include <string.h>

char *cr_url_resolve(const char *request_url, const char *location)
{
    if (request_url == NULL || location == NULL || *location == '\0')
        return NULL;
    /* A base without a scheme would resolve "relative" to nothing useful. */
    if (!g_uri_is_valid(request_url, G_URI_FLAGS_NONE, NULL))
        return NULL;
    return g_uri_resolve_relative(request_url, location, G_URI_FLAGS_NONE, NULL);
}

const char *cr_url_auto_local_ip(const char *url)
{
    GUri *u = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
    const char *ip = NULL;

    if (u == NULL)
        return NULL;
    const char *host = g_uri_get_host(u);
    if (host != NULL) {
        if (strncmp(host, "127.", 4) == 0 || g_ascii_strcasecmp(host, "localhost") == 0)
            ip = "127.0.0.1";
        else if (strcmp(host, "::1") == 0)
            ip = "::1";
    }
    g_uri_unref(u);
    return ip;
}
