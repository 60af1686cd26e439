/*
 * The class model. The rules are one table, kind x role x action, so that what each kind of class
 * allows can be read (and reviewed against DESIGN.md) in one place, and unit-tested row by row.
 */
#include "cr_class.h"

#include <string.h>

#include "cr_err.h"

#define Y CR_RULE_ALLOW
#define N CR_RULE_DENY
#define S CR_RULE_IF_ON_STAGE
#define H CR_RULE_IF_HAND

/*
 * Columns: PUBLISH SUBSCRIBE VIEW_ANY STAGE BE_ON_STAGE RAISE_HAND ACCEPT_HAND MUTE START_END.
 * Two-way classes (synchronous, dedicated): every classroom sends back; the teacher sees the grid,
 * puts one on stage and mutes. Master class: classrooms raise hands; one accepted goes on stage and
 * only then may publish. Network class: receive only.
 */
static const enum cr_rule cr__class_rules[CR_KIND_COUNT][CR_ROLE_COUNT][CR_ACT_COUNT] = {
    [CR_KIND_SYNCHRONOUS] =
        {
            [CR_ROLE_TEACHER] = {Y, Y, Y, Y, N, N, Y, Y, Y},
            [CR_ROLE_CLASSROOM] = {Y, Y, N, N, Y, Y, N, N, N},
            [CR_ROLE_OPERATOR] = {N, Y, Y, N, N, N, N, N, N},
            [CR_ROLE_ADMIN] = {N, Y, Y, Y, N, N, Y, Y, Y},
        },
    [CR_KIND_DEDICATED] =
        {
            [CR_ROLE_TEACHER] = {Y, Y, Y, Y, N, N, Y, Y, Y},
            [CR_ROLE_CLASSROOM] = {Y, Y, N, N, Y, Y, N, N, N},
            [CR_ROLE_OPERATOR] = {N, Y, Y, N, N, N, N, N, N},
            [CR_ROLE_ADMIN] = {N, Y, Y, Y, N, N, Y, Y, Y},
        },
    [CR_KIND_MASTER] =
        {
            [CR_ROLE_TEACHER] = {Y, Y, Y, Y, N, N, Y, Y, Y},
            [CR_ROLE_CLASSROOM] = {S, Y, N, N, H, Y, N, N, N},
            [CR_ROLE_OPERATOR] = {N, Y, Y, N, N, N, N, N, N},
            [CR_ROLE_ADMIN] = {N, Y, Y, Y, N, N, Y, Y, Y},
        },
    [CR_KIND_NETWORK] =
        {
            [CR_ROLE_TEACHER] = {Y, Y, Y, N, N, N, N, N, Y},
            [CR_ROLE_CLASSROOM] = {N, Y, N, N, N, N, N, N, N},
            [CR_ROLE_OPERATOR] = {N, Y, Y, N, N, N, N, N, N},
            [CR_ROLE_ADMIN] = {N, Y, Y, N, N, N, N, N, Y},
        },
};

#undef Y
#undef N
#undef S
#undef H

static const char *const kind_names[CR_KIND_COUNT] = {"synchronous", "dedicated", "master", "network"};
static const char *const state_names[] = {"scheduled", "live", "ended"};
static const char *const origin_names[] = {"timetable", "admin", "adhoc"};
static const char *const action_names[CR_ACT_COUNT] = {
    "publish", "subscribe", "view_any", "stage", "be_on_stage", "raise_hand", "accept_hand", "mute", "start_end",
};

int cr_class_id_valid(const char *id, size_t len)
{
    if (len == 0 || len > CR_AUTH_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

const char *cr_class_kind_name(enum cr_class_kind k)
{
    return (unsigned)k < CR_KIND_COUNT ? kind_names[k] : "unknown";
}

const char *cr_class_state_name(enum cr_class_state s)
{
    return (unsigned)s <= CR_CLASS_ENDED ? state_names[s] : "unknown";
}

const char *cr_class_origin_name(enum cr_class_origin o)
{
    return (unsigned)o <= CR_ORIGIN_ADHOC ? origin_names[o] : "unknown";
}

const char *cr_action_name(enum cr_action a)
{
    return (unsigned)a < CR_ACT_COUNT ? action_names[a] : "unknown";
}

int cr_class_kind_parse(const char *s, size_t len, enum cr_class_kind *out)
{
    for (unsigned i = 0; i < CR_KIND_COUNT; i++) {
        if (strlen(kind_names[i]) == len && memcmp(kind_names[i], s, len) == 0) {
            *out = (enum cr_class_kind)i;
            return 0;
        }
    }
    return -1;
}

int cr_class_desc_init(cr_class_desc_t *d, const char *id, enum cr_class_kind kind, enum cr_class_origin origin)
{
    memset(d, 0, sizeof(*d));
    size_t len = strlen(id);
    if (!cr_class_id_valid(id, len) || (unsigned)kind >= CR_KIND_COUNT)
        return CR_EINVAL;
    memcpy(d->id, id, len + 1);
    memcpy(d->title, id, len + 1);
    d->kind = kind;
    d->origin = origin;
    d->state = CR_CLASS_SCHEDULED;
    return 0;
}

int cr_class_is_invited(const cr_class_desc_t *d, const char *classroom)
{
    if (d->n_invited == 0)
        return 1;
    for (unsigned i = 0; i < d->n_invited; i++)
        if (strcmp(d->invited[i], classroom) == 0)
            return 1;
    return 0;
}

static int invite_n(cr_class_desc_t *d, const char *id, size_t len)
{
    if (!cr_class_id_valid(id, len))
        return CR_EINVAL;
    for (unsigned i = 0; i < d->n_invited; i++)
        if (strlen(d->invited[i]) == len && memcmp(d->invited[i], id, len) == 0)
            return CR_ESTATE;
    if (d->n_invited >= CR_CLASS_MAX_INVITED)
        return CR_EFULL;
    memcpy(d->invited[d->n_invited], id, len);
    d->invited[d->n_invited][len] = '\0';
    d->n_invited++;
    return 0;
}

int cr_class_invite(cr_class_desc_t *d, const char *classroom)
{
    return invite_n(d, classroom, strlen(classroom));
}

int cr_class_invite_list(cr_class_desc_t *d, const char *list, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && list[j] != ',')
            j++;
        size_t a = i, b = j;
        while (a < b && (list[a] == ' ' || list[a] == '\t'))
            a++;
        while (b > a && (list[b - 1] == ' ' || list[b - 1] == '\t'))
            b--;
        int rc = invite_n(d, list + a, b - a);
        if (rc != 0)
            return rc;
        i = j + 1;
        if (j + 1 == len) /* a trailing comma leaves an empty id */
            return CR_EINVAL;
    }
    return 0;
}

enum cr_rule cr_class_rule(enum cr_class_kind kind, enum cr_role role, enum cr_action action)
{
    if ((unsigned)kind >= CR_KIND_COUNT || (unsigned)role >= CR_ROLE_COUNT || (unsigned)action >= CR_ACT_COUNT)
        return CR_RULE_DENY;
    return cr__class_rules[kind][role][action];
}

enum cr_class_deny cr_class_allowed(const cr_class_desc_t *d, enum cr_role role, enum cr_action action,
                                    int on_stage, int hand_raised)
{
    switch (cr_class_rule(d->kind, role, action)) {
    case CR_RULE_ALLOW:
        return CR_CLASS_OK;
    case CR_RULE_IF_ON_STAGE:
        return on_stage ? CR_CLASS_OK : CR_CLASS_DENY_NOT_STAGE;
    case CR_RULE_IF_HAND:
        return hand_raised ? CR_CLASS_OK : CR_CLASS_DENY_NO_HAND;
    case CR_RULE_DENY:
        break;
    }
    return CR_CLASS_DENY_ROLE;
}

int cr_class_start(cr_class_desc_t *d)
{
    if (d->state != CR_CLASS_SCHEDULED)
        return CR_ESTATE;
    d->state = CR_CLASS_LIVE;
    return 0;
}

int cr_class_end(cr_class_desc_t *d)
{
    if (d->state == CR_CLASS_ENDED)
        return CR_ESTATE;
    d->state = CR_CLASS_ENDED;
    return 0;
}

int cr_class_tick(cr_class_desc_t *d, int64_t now)
{
    if (d->end != 0 && now >= d->end && d->state != CR_CLASS_ENDED) {
        d->state = CR_CLASS_ENDED;
        return 1;
    }
    return 0;
}
