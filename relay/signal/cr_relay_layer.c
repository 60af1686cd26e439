/*
 * Simulcast layer choice for a subscriber (until the bandwidth scheduler chooses for it): the
 * classroom page's selector (POST /resource/<id>/layer) and the signaling `layer` message end here,
 * and the subscriber's media worker switches at the chosen layer's next keyframe.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cr_api_err.h"
#include "cr_err.h"
#include "cr_relay_int.h"

/* RFC 8851 section 10: rid-id = 1*(ALPHA / DIGIT / "-" / "_"); the relay keeps CR_RID_MAX - 1. */
static int rid_ok(const char *rid, size_t len)
{
    if (len == 0 || len >= CR_RID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = rid[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

static int set_rid(const char *text, size_t len, char *rid, size_t cap)
{
    if (len == 4 && memcmp(text, "auto", 4) == 0)
        len = 0;
    if (len >= cap || (len > 0 && !rid_ok(text, len)))
        return CR_EINVAL;
    memcpy(rid, text, len);
    rid[len] = '\0';
    return 0;
}

int cr_relay_layer_parse(const char *body, size_t len, char *rid, size_t cap)
{
    while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r' || body[len - 1] == ' '))
        len--;
    while (len > 0 && (body[0] == ' ' || body[0] == '\n' || body[0] == '\r' || body[0] == '\t')) {
        body++;
        len--;
    }
    if (len == 0 || body[0] != '{')
        return len > 0 ? set_rid(body, len, rid, cap) : CR_EINVAL;
    if (len > 256)
        return CR_EINVAL;
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *v = json_is_object(root) ? json_object_get(root, "rid") : NULL;
    int rc = CR_EINVAL;
    if (json_is_null(v))
        rc = set_rid("", 0, rid, cap);
    else if (json_is_string(v))
        rc = set_rid(json_string_value(v), json_string_length(v), rid, cap);
    json_decref(root);
    return rc;
}

void cr_relay_set_layer(cr_relay_t *r, const char *resource_id, const char *rid, cr_relay_reply_t *out)
{
    cr_worker_t *w = NULL;
    enum cr_peer_role role;
    memset(out, 0, sizeof(*out));
    if (rid == NULL)
        rid = "";
    if (rid[0] != '\0' && !rid_ok(rid, strlen(rid))) {
        out->status = 400; /* 4005 joins cr_api_err.h with the signaling work */
        out->code = 4005;
        snprintf(out->message, sizeof(out->message), "invalid message or parameter: rid");
        return;
    }
    if (cr__relay_session_worker(r, resource_id, &w, &role) != 0) {
        cr_relay_reply_error(out, CR_API_NOT_FOUND, NULL);
        return;
    }
    if (role != CR_PEER_SUBSCRIBER) {
        cr_relay_reply_error(out, CR_API_NOT_FOUND, "not a WHEP session");
        return;
    }
    if (cr_worker_set_layer(w, resource_id, rid) != 0) {
        cr_relay_reply_error(out, CR_API_INTERNAL, "media worker queue full");
        return;
    }
    json_t *doc = json_pack("{s:s,s:o}", "resource", resource_id, "rid",
                            rid[0] ? json_string(rid) : json_null());
    out->body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    out->body_len = out->body ? strlen(out->body) : 0;
    out->status = out->body ? 200 : 500;
    out->content_type = "application/json";
}
