/*
 * The admin REST API (docs/PROTOCOL.md section 5): create, list, show and end classes, list and kick
 * participants. Only for tokens with role admin, and only from loopback peers unless
 * [auth] admin_remote = true. Bodies are JSON under the same caps as signaling messages.
 */
#include "cr_admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cr_api_err.h"
#include "cr_json_guard.h"
#include "cr_relay_int.h"

#define CR_ADMIN_MAX_BODY 8192

int cr__http_peer_is_loopback(struct lws *wsi)
{
    char ip[64];
    if (lws_get_peer_simple(wsi, ip, sizeof(ip)) == NULL)
        return 0;
    return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0 || strncmp(ip, "::ffff:127.", 11) == 0;
}

static void reply_json(cr_http_request_t *rq, int status, json_t *body)
{
    rq->reply.body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    rq->reply.body_len = rq->reply.body ? strlen(rq->reply.body) : 0;
    rq->reply.status = rq->reply.body ? status : 500;
    rq->reply.content_type = "application/json";
}

/* Loopback, token, admin role. Returns 1 and fills *c if the caller may use the admin API. */
static int admin_ok(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq, cr_claims_t *c)
{
    char auth[CR_AUTH_TOKEN_MAX + 16], detail[96] = "";
    const char *tok = NULL;
    size_t tok_len = 0;
    int code = 0;
    if (!h->conf->admin_remote && !cr__http_peer_is_loopback(wsi))
        code = CR_API_NOT_LOOPBACK;
    else if (cr__http_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, auth, sizeof(auth)) <= 0 ||
             cr_auth_bearer(auth, strlen(auth), &tok, &tok_len) != 0)
        code = CR_API_NO_TOKEN;
    else if ((code = cr__relay_verify(h->relay, tok, tok_len, c)) != 0)
        snprintf(detail, sizeof(detail), "admin API");
    else if (c->role != CR_ROLE_ADMIN)
        snprintf(detail, sizeof(detail), "this token's role is %s", cr_role_name(c->role)), code = CR_API_NOT_ADMIN;
    if (code == 0)
        return 1;
    cr__relay_refuse(h->relay, &rq->reply, code, detail);
    return 0;
}

/* --- create --- */

static int set_id(json_t *v, char *dst, size_t cap)
{
    if (v == NULL)
        return 0;
    if (!json_is_string(v) || !cr_class_id_valid(json_string_value(v), json_string_length(v)) ||
        json_string_length(v) >= cap)
        return -1;
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int set_time(json_t *v, int64_t *dst)
{
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *dst = json_integer_value(v);
    return 0;
}

/* Fills d from a create request body; on error returns -1 with the reason in why. */
static int parse_class(json_t *o, cr_class_desc_t *d, char *why, size_t cap)
{
    static const char *const known[] = {"id", "kind", "title", "school", "teacher", "classrooms", "start", "end"};
    const char *key, *bad = NULL;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        size_t i = 0;
        while (i < sizeof(known) / sizeof(known[0]) && strcmp(known[i], key) != 0)
            i++;
        if (i == sizeof(known) / sizeof(known[0])) {
            snprintf(why, cap, "unknown field '%s'", key);
            return -1;
        }
    }
    const char *id = json_string_value(json_object_get(o, "id")), *kind = json_string_value(json_object_get(o, "kind"));
    json_t *title = json_object_get(o, "title"), *rooms = json_object_get(o, "classrooms"), *room;
    enum cr_class_kind k;
    size_t i;
    if (id == NULL || kind == NULL || cr_class_kind_parse(kind, strlen(kind), &k) != 0)
        bad = "'id' and 'kind' (synchronous, dedicated, master or network) are required";
    else if (cr_class_desc_init(d, id, k, CR_ORIGIN_ADMIN) != 0)
        bad = "'id': 1-64 of A-Z a-z 0-9 _ -";
    else if (title != NULL && (!json_is_string(title) || json_string_length(title) > CR_CLASS_TITLE_MAX))
        bad = "'title': a string of at most 128 bytes";
    else if (set_id(json_object_get(o, "school"), d->school, sizeof(d->school)) != 0 ||
             set_id(json_object_get(o, "teacher"), d->teacher, sizeof(d->teacher)) != 0)
        bad = "'school', 'teacher': ids";
    else if (rooms != NULL && !json_is_array(rooms))
        bad = "'classrooms': an array of ids";
    else if (set_time(json_object_get(o, "start"), &d->start) != 0 ||
             set_time(json_object_get(o, "end"), &d->end) != 0 || (d->start != 0 && d->end != 0 && d->end <= d->start))
        bad = "'start', 'end': Unix seconds, end after start";
    json_array_foreach(rooms, i, room)
    {
        if (bad == NULL && (!json_is_string(room) || cr_class_invite(d, json_string_value(room)) != 0))
            bad = "'classrooms': at most 64 distinct ids";
    }
    if (bad != NULL) {
        snprintf(why, cap, "%s", bad);
        return -1;
    }
    if (title != NULL)
        snprintf(d->title, sizeof(d->title), "%s", json_string_value(title));
    return 0;
}

/* The checks of a create request, in order; returns 0 with *d filled, or the API code with a detail. */
static int check_create(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq, const cr_claims_t *c,
                        cr_class_desc_t *d, char *why, size_t cap)
{
    static const cr_json_limits_t lim = {.max_size = CR_ADMIN_MAX_BODY, .max_depth = 2, .max_key = 32,
                                         .max_string = 256};
    char ctype[64];
    json_t *o = NULL;
    if (rq->too_big || rq->body_len > CR_ADMIN_MAX_BODY)
        return CR_API_TOO_BIG;
    if (cr__http_header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, ctype, sizeof(ctype)) <= 0 ||
        strncmp(ctype, "application/json", 16) != 0)
        return CR_API_CONTENT_TYPE;
    enum cr_json_fail f = cr_json_load_object(rq->body ? rq->body : "", rq->body_len, &lim, &o);
    if (f != CR_JSON_OK)
        return f == CR_JSON_SYNTAX || f == CR_JSON_NOT_OBJECT ? CR_API_BAD_JSON : CR_API_JSON_LIMIT;
    int rc = parse_class(o, d, why, cap);
    json_decref(o);
    if (rc != 0)
        return CR_API_BAD_CLASS_DEF;
    if (!cr_auth_class_ok(c, d->id))
        return CR_API_WRONG_CLASS;
    if (cr__class_find(h->relay, d->id) != NULL) {
        snprintf(why, cap, "%s", d->id);
        return CR_API_CLASS_EXISTS;
    }
    return 0;
}

static void create_class(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq, const cr_claims_t *c)
{
    char why[160] = "";
    cr_class_desc_t d;
    int code = check_create(h, wsi, rq, c, &d, why, sizeof(why));
    cr__class_t *cls = NULL;
    if (code == 0 && (cls = cr__class_add(h->relay, &d)) == NULL) {
        code = CR_API_RELAY_FULL;
        snprintf(why, sizeof(why), "max_classes reached");
    }
    if (code != 0)
        cr__relay_refuse(h->relay, &rq->reply, code, why);
    else
        reply_json(rq, 201, cr__class_json(cls, 0));
}

/* --- handlers --- */

void cr__admin_classes(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq)
{
    cr_claims_t c;
    if (!admin_ok(h, wsi, rq, &c))
        return;
    if (rq->method == CR_HTTP_POST) {
        create_class(h, wsi, rq, &c);
        return;
    }
    json_t *a = json_array();
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &h->relay->classes)
    {
        cr__class_t *cls = cr_container_of(it, cr__class_t, link);
        if (cr_auth_class_ok(&c, cls->d.id))
            json_array_append_new(a, cr__class_json(cls, 0));
    }
    reply_json(rq, 200, json_pack("{s:o}", "classes", a));
}

static json_t *participants_json(cr__class_t *cls)
{
    json_t *a = json_array();
    cr_list_t *it, *tmp, *sit, *stmp;
    cr_list_foreach_safe(it, tmp, &cls->participants)
    {
        cr__participant_t *p = cr_container_of(it, cr__participant_t, link);
        json_t *j = cr__participant_json(p), *sessions = json_array();
        cr_list_foreach_safe(sit, stmp, &p->sessions)
        {
            cr__session_t *s = cr_container_of(sit, cr__session_t, plink);
            json_array_append_new(sessions, json_pack("{s:s,s:s,s:b}", "resource", s->resource_id, "role",
                                                      s->role == CR_PEER_PUBLISHER ? "publisher" : "subscriber",
                                                      "connected", s->connected));
        }
        json_object_set_new(j, "sessions", sessions);
        json_object_set_new(j, "connections", json_integer(p->n_listeners));
        json_array_append_new(a, j);
    }
    return json_pack("{s:o}", "participants", a);
}

/* Kicks participant pid of cls. Returns the reply body, or NULL with *code. */
static json_t *kick(cr_http_t *h, cr__class_t *cls, const char *pid, const cr_claims_t *c, int *code)
{
    cr__participant_t *p = cr_class_id_valid(pid, strlen(pid)) ? cr__participant_find(cls, pid) : NULL;
    if (p == NULL) {
        *code = CR_API_NO_PARTICIPANT;
        return NULL;
    }
    unsigned ns, nl;
    cr__participant_kick(h->relay, p, CR_API_KICKED, c->sub, &ns, &nl);
    return json_pack("{s:s,s:i,s:i}", "kicked", pid, "sessions", (int)ns, "connections", (int)nl);
}

/* The request on class cls: what follows "/api/classes/<id>" is rest. Returns the reply or NULL, *code. */
static json_t *class_request(cr_http_t *h, cr_http_request_t *rq, cr__class_t *cls, const char *rest,
                             const cr_claims_t *c, int *code)
{
    char id[CR_AUTH_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", cls->d.id);
    if (rest[0] == '\0' && rq->method == CR_HTTP_GET)
        return cr__class_json(cls, 0);
    if (strcmp(rest, "/end") == 0 && rq->method == CR_HTTP_POST) {
        if (cr__class_end(h->relay, cls, "admin") != 0) {
            *code = CR_API_BAD_STATE;
            return NULL;
        }
        cls = cr__class_find(h->relay, id); /* an ad-hoc class may be gone now */
        return cls ? cr__class_json(cls, 0) : json_pack("{s:s,s:s}", "id", id, "state", "ended");
    }
    if (strcmp(rest, "/participants") == 0 && rq->method == CR_HTTP_GET)
        return participants_json(cls);
    if (strncmp(rest, "/participants/", 14) == 0 && rq->method == CR_HTTP_DELETE)
        return kick(h, cls, rest + 14, c, code);
    *code = CR_API_NO_ROUTE;
    return NULL;
}

/* /api/classes/<id>[/end | /participants[/<pid>]] */
void cr__admin_class(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq)
{
    cr_claims_t c;
    char id[CR_AUTH_ID_MAX + 1];
    if (!admin_ok(h, wsi, rq, &c))
        return;
    const char *rest = rq->path + strlen("/api/classes/");
    size_t n = strcspn(rest, "/");
    int code = 0;
    json_t *body = NULL;
    cr__class_t *cls = NULL;
    if (!cr_class_id_valid(rest, n)) {
        code = CR_API_BAD_CLASS_ID;
    } else {
        memcpy(id, rest, n);
        id[n] = '\0';
        cls = cr__class_find(h->relay, id);
        if (cls == NULL)
            code = CR_API_NO_CLASS;
        else if (!cr_auth_class_ok(&c, id))
            code = CR_API_WRONG_CLASS;
        else
            body = class_request(h, rq, cls, rest + n, &c, &code);
    }
    if (body != NULL)
        reply_json(rq, 200, body);
    else
        cr__relay_refuse(h->relay, &rq->reply, code, code == CR_API_NO_ROUTE ? rq->path : NULL);
}
