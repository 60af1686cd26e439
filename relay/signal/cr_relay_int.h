/*
 * Internals of the control plane shared by cr_relay.c (lifecycle, WHIP/WHEP, status), cr_relay_class.c
 * (classes, participants, stage, hands, mute), cr_ws.c (WebSocket signaling), cr_admin.c (admin API)
 * and the other cr_relay_*.c files of this module. Control thread only, like everything in
 * cr_relay.h; nothing here is locked.
 *
 * Ownership: the relay owns class entries, participants and sessions. A participant exists while it
 * has a session or a listener (a WebSocket connection); the class entry holds it in its list. An
 * ad-hoc class is freed with its last participant; timetable and admin classes stay (bounded by
 * max_classes).
 */
#ifndef CR_RELAY_INT_H
#define CR_RELAY_INT_H

#include <jansson.h>

#include "cr_auth.h"
#include "cr_class.h"
#include "cr_list.h"
#include "cr_mailbox.h"
#include "cr_relay.h"
#include "cr_worker.h"

#define CR_PARTICIPANT_LISTENERS_MAX 4 /* WebSocket connections per participant */
#define CR_PARTICIPANTS_EXTRA 64       /* participants per class beyond max_subscribers_per_class */

typedef struct cr__participant cr__participant_t;
typedef struct cr__class cr__class_t;

/**
 * A WebSocket connection as the control plane sees it (embedded in cr_ws.c's connection). send queues
 * one text message (the callee copies it); close asks for the connection to be closed with a code
 * (the callee must not call back into the relay from either). The relay detaches a listener before
 * calling close, so it is never called twice.
 */
typedef struct cr__listener {
    cr_list_t link;       /* p->listeners */
    cr__participant_t *p; /* NULL until joined, and after being detached */
    void (*send)(struct cr__listener *l, const char *text, size_t len);
    void (*close)(struct cr__listener *l, int code, const char *reason);
} cr__listener_t;

/** What a WHEP session receives. */
enum cr__view {
    CR__VIEW_MAIN = 0,   /* the teacher */
    CR__VIEW_STAGE = 1,  /* whoever is on stage, else the teacher */
    CR__VIEW_SOURCE = 2, /* one participant (the teacher's grid) */
};

/* A WHIP/WHEP session as the control thread knows it. */
typedef struct cr__session {
    cr_list_t link;  /* r->sessions */
    cr_list_t plink; /* owner->sessions */
    char resource_id[CR_RESOURCE_ID_LEN + 1];
    char class_id[CR_CLASS_ID_MAX + 1];
    enum cr_peer_role role;
    int connected;
    int is_main; /* publisher: the class's main source (the teacher) */
    uint64_t created_us;
    cr__participant_t *owner;
    enum cr__view view;                  /* subscriber */
    char source[CR_AUTH_ID_MAX + 1];     /* subscriber, CR__VIEW_SOURCE: the participant id */
    char bound[CR_RESOURCE_ID_LEN + 1];  /* subscriber: the source resource last sent to the worker */
} cr__session_t;

struct cr__participant {
    cr_list_t link; /* cls->participants */
    cr__class_t *cls;
    char id[CR_AUTH_ID_MAX + 1];
    enum cr_role role;
    char name[CR_AUTH_NAME_MAX + 1];
    char school[CR_AUTH_ID_MAX + 1];
    cr__session_t *pub; /* its WHIP session, NULL if it does not publish */
    cr_list_t sessions; /* cr__session_t.plink */
    unsigned n_sessions;
    cr_list_t listeners; /* cr_relay_listener_t.link */
    unsigned n_listeners;
    int hand; /* raised */
    int audio_muted, video_muted;
    unsigned hold; /* > 0: not freed by cr__participant_gc (an operation is walking it) */
};

struct cr__class {
    cr_list_t link; /* r->classes */
    cr_class_desc_t d;
    cr_list_t participants; /* cr__participant_t.link */
    unsigned n_participants;
    unsigned n_subscribers;
    cr__session_t *main_pub;   /* the teacher's WHIP session */
    cr__participant_t *stage;  /* on stage, NULL = nobody */
    unsigned worker;
    unsigned hold; /* > 0: not freed by cr__class_gc (an operation is walking it) */
};

/** Refusals counted per API error code (cr_api_err.h), indexed by cr_api_err_index(). */
#define CR__REFUSAL_SLOTS 64

struct cr_relay {
    cr_conf_t conf;
    cr_dtls_cert_t *cert;
    cr_dtls_ctx_t *dtls_ctx;
    cr_worker_t **workers;
    unsigned n_workers;
    cr_mailbox_t events;
    cr_list_t sessions;
    cr_list_t classes;
    unsigned n_sessions, n_classes;
    uint64_t refusals;
    uint64_t refusals_by_code[CR__REFUSAL_SLOTS];
    uint8_t key[CR_AUTH_SECRET_MAX]; /* token key */
    size_t key_len;
    int64_t last_tick_s; /* timetable ends are checked once a second */
    struct cr__sched *sched; /* admission and the links' view (cr_relay_sched.c) */
};

/**
 * Finds the session resource_id: the worker its class lives on (borrowed, valid while the relay
 * lives) and its role. Returns 0 or CR_ENOTFOUND.
 */
int cr__relay_session_worker(cr_relay_t *r, const char *resource_id, cr_worker_t **worker,
                             enum cr_peer_role *role);

/* --- cr_relay_sched.c: the bandwidth scheduler's admission and visibility (issue 5) --- */

/** Admits the timetable against the configured links (logs what is degraded or refused). */
int cr__sched_load(cr_relay_t *r, char *err, size_t err_cap);
void cr__sched_free(cr_relay_t *r);

/**
 * Admits a classroom's WHEP join into class c: 0, or CR_API_LINK_FULL with the link that cannot carry
 * its floor in detail. Other roles are not checked.
 */
int cr__sched_admit_join(cr_relay_t *r, const cr__class_t *c, const cr_claims_t *cl, char *detail, size_t cap);

/** A WHEP session of p in c ended: releases p's reservation once it watches nothing more there. */
void cr__sched_leave(cr_relay_t *r, const cr__class_t *c, const cr__participant_t *p);

/** {"links":[...],"subscribers":[...],"admission":[...]} for GET /api/status (new reference). */
json_t *cr__sched_status_json(cr_relay_t *r);

/** Once a second: the links' plan to the operator view (cr_ops_link_plan). */
void cr__sched_tick(cr_relay_t *r);

/* --- cr_relay.c --- */

/** Counts a refusal with API code `code` (and logs it at a limited rate). */
void cr__relay_count(cr_relay_t *r, int code, const char *detail);

/** cr_relay_reply_error + cr__relay_count. */
void cr__relay_refuse(cr_relay_t *r, cr_relay_reply_t *out, int code, const char *detail);

/**
 * Verifies the token (tok_len bytes) at the current time. Returns 0 and fills *c, or the API code:
 * CR_API_NO_TOKEN (tok NULL or empty), CR_API_BAD_TOKEN, CR_API_EXPIRED. Does not count.
 */
int cr__relay_verify(cr_relay_t *r, const char *tok, size_t tok_len, cr_claims_t *c);

cr__session_t *cr__relay_session_find(cr_relay_t *r, const char *resource_id);

/** Asks the worker to drop the session and forgets it (updating class and participant). */
void cr__relay_session_close(cr_relay_t *r, cr__session_t *s);

/* --- cr_relay_class.c --- */

cr__class_t *cr__class_find(cr_relay_t *r, const char *id);

/** Creates a class entry from a descriptor (copied). Returns it, or NULL when max_classes is reached. */
cr__class_t *cr__class_add(cr_relay_t *r, const cr_class_desc_t *d);

/** Creates the timetable's classes from conf. Returns 0 or CR_EINVAL with err. */
int cr__class_load_timetable(cr_relay_t *r, char *err, size_t err_cap);

/** Frees an ad-hoc class once it has no participant. */
void cr__class_gc(cr_relay_t *r, cr__class_t *c);

/**
 * Checks that claims c may enter class cls at all: class claim (4031), state (4092), invitation
 * (4033), teacher id (4037). Returns 0 or the API code; detail gets a reason.
 */
int cr__class_admit(const cr__class_t *cls, const cr_claims_t *c, char *detail, size_t cap);

/**
 * The participant of cls for claims c, created if needed. Returns NULL with *code set: 4032 when the
 * id is taken by another role, 5033 when the class is full.
 */
cr__participant_t *cr__participant_get(cr_relay_t *r, cr__class_t *cls, const cr_claims_t *c, int *code);

cr__participant_t *cr__participant_find(cr__class_t *cls, const char *id);

/** Frees p if it has no session and no listener (announcing participant_left). */
void cr__participant_gc(cr_relay_t *r, cr__participant_t *p, const char *reason);

/** Points every subscriber of cls at its wanted source (after stage or publisher changes). */
void cr__class_rebind(cr_relay_t *r, cr__class_t *cls);

/** Chooses and sends the source of one subscriber session. */
void cr__session_bind(cr_relay_t *r, cr__class_t *cls, cr__session_t *s);

/** Announces that p changed (publishing, hand, mute, stage). */
void cr__participant_changed(cr_relay_t *r, cr__participant_t *p);

/** Sends msg (borrowed) to every listener of the class. */
void cr__class_broadcast(cr__class_t *cls, json_t *msg);

/** JSON of a participant / a class (new references). */
json_t *cr__participant_json(const cr__participant_t *p);
json_t *cr__class_json(const cr__class_t *c, int with_participants);

/** Ends the class: state ended, every session closed, class_state broadcast. reason: teacher/admin/timetable. */
int cr__class_end(cr_relay_t *r, cr__class_t *c, const char *reason);

/** Marks a class live (teacher start or first teacher WHIP) and broadcasts class_state. */
int cr__class_start(cr_relay_t *r, cr__class_t *c, const char *reason);

/** Checks the timetable's end times. */
void cr__class_tick(cr_relay_t *r, int64_t now);

/**
 * Puts p on stage (NULL clears it), announces it and rebinds stage views. In a master class the
 * classroom leaving the stage loses its right to publish: its publisher session is closed.
 */
void cr__class_set_stage(cr_relay_t *r, cr__class_t *c, cr__participant_t *p, const char *by);

/** Attaches listener l to p (max CR_PARTICIPANT_LISTENERS_MAX). Returns 0 or CR_API_PARTICIPANTS_FULL. */
int cr__listener_attach(cr__participant_t *p, cr__listener_t *l);

/** Detaches l from its participant (which may then be freed). */
void cr__listener_detach(cr_relay_t *r, cr__listener_t *l);

/** Sends msg (borrowed) to one listener. */
void cr__listener_send(cr__listener_t *l, json_t *msg);

/** Removes participant p: closes its sessions and listeners (code), announces reason. */
void cr__participant_kick(cr_relay_t *r, cr__participant_t *p, int code, const char *by, unsigned *n_sessions,
                          unsigned *n_listeners);

/* --- cr_relay_ctl.c: the WebSocket requests (docs/PROTOCOL.md section 4). Each returns 0 or the API
 * error code, with a reason in detail (cap bytes); refusals are not counted here (the caller counts). */

/**
 * join: verifies the token, finds (or, for a teacher, creates) the class, admits and attaches l. On
 * success *joined is the reply (new reference). kind/title (may be NULL) shape an ad-hoc class.
 */
int cr__ctl_join(cr_relay_t *r, cr__listener_t *l, const char *class_id, const char *tok, size_t tok_len,
                 const char *kind, const char *title, json_t **joined, char *detail, size_t cap);

/** participants: the current list (new reference). */
json_t *cr__ctl_participants(cr__participant_t *p);

/** stage: target participant id, or NULL to clear. */
int cr__ctl_stage(cr_relay_t *r, cr__participant_t *p, const char *target, char *detail, size_t cap);

/** mute: audio/video 1 mute, 0 unmute, -1 keep. */
int cr__ctl_mute(cr_relay_t *r, cr__participant_t *p, const char *target, int audio, int video, char *detail,
                 size_t cap);

/** raise_hand (raise = 1) / lower_hand (0). */
int cr__ctl_hand(cr_relay_t *r, cr__participant_t *p, int raise, char *detail, size_t cap);

/** accept_hand: target's raised hand; it goes on stage. */
int cr__ctl_accept(cr_relay_t *r, cr__participant_t *p, const char *target, char *detail, size_t cap);

/** start (start = 1) / end (0) the class. */
int cr__ctl_state(cr_relay_t *r, cr__participant_t *p, int start, char *detail, size_t cap);

/** layer: rid ("" = best) for p's own subscriber session resource. */
int cr__ctl_layer(cr_relay_t *r, cr__participant_t *p, const char *resource, const char *rid, char *detail,
                  size_t cap);

#endif
