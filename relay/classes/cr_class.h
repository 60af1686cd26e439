/*
 * The class model: the four kinds of class, their state machine and the table of who may do what.
 * Pure C and libc (it uses only the role enum of cr_auth.h), unit-tested alone. The control plane
 * (relay/signal) keeps one cr_class_desc_t per class and asks cr_class_allowed() before it acts.
 */
#ifndef CR_CLASS_H
#define CR_CLASS_H

#include <stddef.h>
#include <stdint.h>

#include "cr_auth.h"

#define CR_CLASS_TITLE_MAX 128
#define CR_CLASS_MAX_INVITED 64 /* invited classrooms per class */

/** Kinds, in the order of the rules table. The config parser uses the same order (cr_conf.h). */
enum cr_class_kind {
    CR_KIND_SYNCHRONOUS = 0, /* 同步课堂: two-way, every joined classroom sends back */
    CR_KIND_DEDICATED = 1,   /* 专递课堂: two-way, a few invited classrooms */
    CR_KIND_MASTER = 2,      /* 名师课堂: one-way, raise hand / Q&A */
    CR_KIND_NETWORK = 3,     /* 名校网络课堂: one-way, largest fan-out */
};
#define CR_KIND_COUNT 4

enum cr_class_state { CR_CLASS_SCHEDULED = 0, CR_CLASS_LIVE = 1, CR_CLASS_ENDED = 2 };

/** Where a class came from. */
enum cr_class_origin { CR_ORIGIN_TIMETABLE = 0, CR_ORIGIN_ADMIN = 1, CR_ORIGIN_ADHOC = 2 };

/** Things a participant may try. */
enum cr_action {
    CR_ACT_PUBLISH = 0,  /* WHIP */
    CR_ACT_SUBSCRIBE,    /* WHEP, view main or stage */
    CR_ACT_VIEW_ANY,     /* WHEP source=<participant> (the teacher's grid) */
    CR_ACT_STAGE,        /* put someone on stage, or clear the stage */
    CR_ACT_BE_ON_STAGE,  /* (of the target) be put on stage */
    CR_ACT_RAISE_HAND,   /* raise or lower one's hand */
    CR_ACT_ACCEPT_HAND,  /* accept a raised hand */
    CR_ACT_MUTE,         /* mute or unmute a participant */
    CR_ACT_START_END,    /* start or end the class */
};
#define CR_ACT_COUNT 9

/** A rule: whether (kind, role) may do an action, possibly under a condition. */
enum cr_rule {
    CR_RULE_DENY = 0,
    CR_RULE_ALLOW = 1,
    CR_RULE_IF_ON_STAGE = 2, /* only while the participant is on stage (master: after an accepted hand) */
    CR_RULE_IF_HAND = 3,     /* only a participant whose hand is raised */
};

/** A class session: its definition and state. Embedded by the control plane; no pointers. */
typedef struct cr_class_desc {
    char id[CR_AUTH_ID_MAX + 1];
    enum cr_class_kind kind;
    char title[CR_CLASS_TITLE_MAX + 1];
    char school[CR_AUTH_ID_MAX + 1];  /* the anchor school, "" if unknown */
    char teacher[CR_AUTH_ID_MAX + 1]; /* the teacher's id, "" = any teacher token for the class */
    char invited[CR_CLASS_MAX_INVITED][CR_AUTH_ID_MAX + 1];
    unsigned n_invited; /* 0 = any classroom with a token for the class */
    enum cr_class_state state;
    enum cr_class_origin origin;
    int64_t start, end; /* Unix seconds; 0 = none */
} cr_class_desc_t;

/** Why a check failed. */
enum cr_class_deny {
    CR_CLASS_OK = 0,
    CR_CLASS_DENY_ROLE,      /* the rules table says no */
    CR_CLASS_DENY_NOT_STAGE, /* allowed only on stage */
    CR_CLASS_DENY_NO_HAND,   /* allowed only with a raised hand */
    CR_CLASS_DENY_STATE,     /* not in this state */
};

/** 1 if id[0..len) is a valid class, classroom or teacher id: 1..64 characters of [A-Za-z0-9_-]. */
int cr_class_id_valid(const char *id, size_t len);

/** Initializes d: id (must be a valid id), kind, title = id, state scheduled. Returns 0 or CR_EINVAL. */
int cr_class_desc_init(cr_class_desc_t *d, const char *id, enum cr_class_kind kind, enum cr_class_origin origin);

/** Adds an invited classroom id. Returns 0, CR_EINVAL (bad id), CR_EFULL or CR_ESTATE (duplicate). */
int cr_class_invite(cr_class_desc_t *d, const char *classroom);

/**
 * Parses a comma-separated list of classroom ids ("r1, r2,r3"; blanks around ids ignored) into d's
 * invited list. Returns 0 or the first cr_class_invite error (d may then hold a prefix).
 */
int cr_class_invite_list(cr_class_desc_t *d, const char *list, size_t len);

/** 1 if classroom may join: the class has no invite list or lists it. */
int cr_class_is_invited(const cr_class_desc_t *d, const char *classroom);

/** The rule of the table for (kind, role, action). */
enum cr_rule cr_class_rule(enum cr_class_kind kind, enum cr_role role, enum cr_action action);

/**
 * Checks an action by a participant of role in class d, given whether it is on stage and whether its
 * hand is raised (for conditional rules). Does not look at membership or state.
 */
enum cr_class_deny cr_class_allowed(const cr_class_desc_t *d, enum cr_role role, enum cr_action action,
                                    int on_stage, int hand_raised);

/** scheduled -> live. Returns 0 or CR_ESTATE (already live or ended). */
int cr_class_start(cr_class_desc_t *d);

/** scheduled or live -> ended. Returns 0 or CR_ESTATE (already ended). */
int cr_class_end(cr_class_desc_t *d);

/** Ends the class if it has an end time and now >= end. Returns 1 if it changed state, else 0. */
int cr_class_tick(cr_class_desc_t *d, int64_t now);

const char *cr_class_kind_name(enum cr_class_kind k);
const char *cr_class_state_name(enum cr_class_state s);
const char *cr_class_origin_name(enum cr_class_origin o);
const char *cr_action_name(enum cr_action a);

/** Parses a kind name. Returns 0 or -1. */
int cr_class_kind_parse(const char *s, size_t len, enum cr_class_kind *out);

#endif
