/*
 * The "ops" subscription of the WebSocket channel (cr_ws_ops.h): the dashboard's live feed.
 */
#include "cr_ws_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cr_api_err.h"
#include "cr_ops.h"
#include "cr_relay_stats.h"

static cr__listener_t *subs[CR_WS_OPS_MAX];
static cr_relay_t *subs_relay[CR_WS_OPS_MAX];

int cr__ws_ops_active(const cr__listener_t *l)
{
    for (unsigned i = 0; i < CR_WS_OPS_MAX; i++)
        if (subs[i] == l)
            return 1;
    return 0;
}

void cr__ws_ops_drop(cr__listener_t *l)
{
    for (unsigned i = 0; i < CR_WS_OPS_MAX; i++)
        if (subs[i] == l)
            subs[i] = NULL, subs_relay[i] = NULL;
}

static int subscribe(cr_relay_t *r, cr__listener_t *l, json_t *msg, json_t **reply, char *detail, size_t cap)
{
    const char *tok = json_string_value(json_object_get(msg, "token"));
    if (l->p != NULL) {
        snprintf(detail, cap, "a connection that joined a class cannot also watch the operator view");
        return CR_API_BAD_REQUEST;
    }
    int code = cr_relay_check_operator(r, tok, 1, 1, detail, cap);
    if (code != 0)
        return code;
    if (!cr__ws_ops_active(l)) {
        unsigned i = 0;
        while (i < CR_WS_OPS_MAX && subs[i] != NULL)
            i++;
        if (i == CR_WS_OPS_MAX) {
            snprintf(detail, cap, "at most %d dashboard connections", CR_WS_OPS_MAX);
            return CR_API_PARTICIPANTS_FULL;
        }
        subs[i] = l;
        subs_relay[i] = r;
    }
    *reply = cr_ops_snapshot_json(r);
    return *reply != NULL ? 0 : CR_API_INTERNAL;
}

static int history(cr_relay_t *r, cr__listener_t *l, json_t *msg, json_t **reply, char *detail, size_t cap)
{
    static const char *const kinds[] = {"school", "classroom", "class"};
    const char *kind = json_string_value(json_object_get(msg, "kind"));
    const char *school = json_string_value(json_object_get(msg, "school"));
    const char *entity = json_string_value(json_object_get(msg, "entity"));
    json_t *sec = json_object_get(msg, "seconds");
    if (!cr__ws_ops_active(l)) {
        snprintf(detail, cap, "send \"ops\" with an operator token first");
        return CR_API_NOT_JOINED;
    }
    int k = -1;
    for (int i = 0; kind != NULL && i < 3; i++)
        if (strcmp(kind, kinds[i]) == 0)
            k = i;
    if (k < 0 || entity == NULL || (sec != NULL && !json_is_integer(sec))) {
        snprintf(detail, cap, "ops_history needs \"kind\" (school, classroom, class), \"entity\", optional \"school\" "
                              "and \"seconds\"");
        return CR_API_BAD_REQUEST;
    }
    json_int_t s = sec ? json_integer_value(sec) : CR_OPS_HISTORY;
    json_t *h = cr_ops_history(r, (enum cr_ops_kind)k, school ? school : "", entity,
                               s > 0 && s < CR_OPS_HISTORY ? (unsigned)s : CR_OPS_HISTORY);
    if (h == NULL) {
        snprintf(detail, cap, "no history for %s '%s'", kind, entity);
        return CR_API_NO_PARTICIPANT;
    }
    json_object_set_new(h, "type", json_string("ops_history"));
    *reply = h;
    return 0;
}

int cr__ws_ops(cr_relay_t *r, cr__listener_t *l, json_t *msg, json_t **reply, char *detail, size_t cap)
{
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (type != NULL && strcmp(type, "ops_history") == 0)
        return history(r, l, msg, reply, detail, cap);
    return subscribe(r, l, msg, reply, detail, cap);
}

void cr__ws_ops_push(cr_relay_t *r)
{
    json_t *j = NULL;
    char *text = NULL;
    for (unsigned i = 0; i < CR_WS_OPS_MAX; i++) {
        if (subs[i] == NULL || subs_relay[i] != r)
            continue;
        if (text == NULL) {
            j = cr_ops_snapshot_json(r);
            text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
            json_decref(j);
            if (text == NULL)
                return;
        }
        subs[i]->send(subs[i], text, strlen(text));
    }
    free(text);
}
