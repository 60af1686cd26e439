/*
 * Simulcast layer choice for a subscriber (until the bandwidth scheduler chooses for it) from the
 * classroom page's selector, POST /resource/<id>/layer (the signaling `layer` message has its own
 * path, cr__ctl_layer); the subscriber's media worker switches at the chosen layer's next keyframe.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cr_api_err.h"
#include "cr_auth.h"
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

/* The caller's claims from req's "Authorization: Bearer": 0, or the API code to refuse with. */
static int caller(cr_relay_t *r, const cr_relay_req_t *req, cr_claims_t *c)
{
    const char *tok = NULL;
    size_t len = 0;
    if (req == NULL || req->auth == NULL || cr_auth_bearer(req->auth, strlen(req->auth), &tok, &len) != 0)
        return CR_API_NO_TOKEN;
    return cr__relay_verify(r, tok, len, c);
}

void cr_relay_set_layer(cr_relay_t *r, const char *resource_id, const char *rid, const cr_relay_req_t *req,
                        cr_relay_reply_t *out)
{
    cr_claims_t c;
    memset(out, 0, sizeof(*out));
    if (rid == NULL)
        rid = "";
    if (rid[0] != '\0' && !rid_ok(rid, strlen(rid))) {
        cr__relay_refuse(r, out, CR_API_BAD_REQUEST, "rid");
        return;
    }
    int code = caller(r, req, &c);
    if (code != 0) {
        cr__relay_refuse(r, out, code, NULL);
        return;
    }
    cr__session_t *s = cr__relay_session_find(r, resource_id);
    if (s == NULL || s->role != CR_PEER_SUBSCRIBER) {
        cr__relay_refuse(r, out, CR_API_NOT_FOUND, s ? "not a WHEP session" : NULL);
        return;
    }
    /* As for DELETE: the participant who created the session, or an admin of its class. */
    int admin = c.role == CR_ROLE_ADMIN && cr_auth_class_ok(&c, s->class_id);
    int owner = s->owner != NULL && c.role == s->owner->role && strcmp(c.sub, s->owner->id) == 0 &&
                cr_auth_class_ok(&c, s->class_id);
    if (!admin && !owner) {
        cr__relay_refuse(r, out, CR_API_NOT_OWNER, NULL);
        return;
    }
    if (cr_worker_set_layer(r->workers[s->owner->cls->worker], resource_id, rid) != 0) {
        cr_relay_reply_error(out, CR_API_INTERNAL, "media worker queue full");
        return;
    }
    json_t *doc = json_pack("{s:s,s:o}", "resource", resource_id, "rid", rid[0] ? json_string(rid) : json_null());
    out->body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    out->body_len = out->body ? strlen(out->body) : 0;
    out->status = out->body ? 200 : 500;
    out->content_type = "application/json";
}
