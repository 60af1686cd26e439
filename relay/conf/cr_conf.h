/*
 * Relay configuration: built-in defaults, overridden by an optional INI-style file.
 *
 *   # comment            ; comment
 *   [relay]
 *   http_listen = 127.0.0.1:8080
 *
 * Every key has a type and a range. A bad line is rejected with the file, line number, key and reason
 * (e.g. "relay.conf:7: key 'workers': must be an integer from 1 to 64"), and loading stops: a relay
 * never runs on a half-understood config.
 */
#ifndef CR_CONF_H
#define CR_CONF_H

#include <stddef.h>
#include <stdint.h>

#define CR_CONF_MAX_FILE (1u << 20) /* bytes */
#define CR_CONF_MAX_LINE 4096
#define CR_CONF_MAX_TIMETABLE 32 /* [class.<id>] sections */
#define CR_CONF_ID_MAX 64        /* class, school, teacher and classroom ids: [A-Za-z0-9_-] */
#define CR_CONF_MAX_SCHOOLS 64   /* [school.<id>] sections */
#define CR_CONF_MAX_CLASSROOMS 512 /* [classroom.<id>] sections */
#define CR_CONF_MAX_SOURCES 32   /* [source.<id>] sections: studio hosts */

/** Class kinds in the order of enum cr_class_kind (relay/classes/cr_class.h). */
enum cr_conf_kind { CR_CONF_KIND_SYNCHRONOUS = 0, CR_CONF_KIND_DEDICATED, CR_CONF_KIND_MASTER, CR_CONF_KIND_NETWORK };

/** A timetable entry: one [class.<id>] section. */
typedef struct cr_conf_class {
    char id[CR_CONF_ID_MAX + 1];          /* from the section name */
    int kind;                             /* kind: enum cr_conf_kind, default synchronous */
    char title[129];                      /* title: default "" (then the id) */
    char school[CR_CONF_ID_MAX + 1];      /* school: the anchor school's id, default "" */
    char teacher[CR_CONF_ID_MAX + 1];     /* teacher: the teacher's id (token sub), default "" = any */
    char classrooms[1024];                /* classrooms: comma-separated ids, default "" = any */
    int64_t start, end;                   /* start/end: Unix seconds, 0 = none */
    int record;                           /* record: record while live ([recording] dir), default false */
} cr_conf_class_t;

/** A school link of the scheduler's topology: one [school.<id>] section. */
typedef struct cr_conf_school {
    char id[CR_CONF_ID_MAX + 1]; /* from the section name */
    unsigned capacity_mbps;      /* capacity_mbps: the link's capacity, default [sched] school_capacity_mbps */
    double target;               /* target: utilisation the scheduler plans for, 0 < target <= 1 (0 = [sched]) */
} cr_conf_school_t;

/** A classroom link: one [classroom.<id>] section (id: the classroom token's sub). */
typedef struct cr_conf_classroom {
    char id[CR_CONF_ID_MAX + 1];
    char school[CR_CONF_ID_MAX + 1]; /* school: a [school.<id>] section, "" = the default school */
    unsigned capacity_mbps;          /* capacity_mbps: default [sched] classroom_capacity_mbps (0 = that) */
    double target;                   /* target: as for a school (0 = [sched] target) */
} cr_conf_classroom_t;

/** A studio host the relay pulls into a class: one [source.<id>] section (an ingest worker). */
typedef struct cr_conf_source {
    char id[CR_CONF_ID_MAX + 1];
    char class_id[CR_CONF_ID_MAX + 1]; /* class: the class it feeds (required) */
    char url[1024];                    /* url: rtsp://, rtsps://, srt://, rtmp://, rtmps:// or a file path */
    int transcode;                     /* transcode: decode and send simulcast layers, default false */
    char layers[32];                   /* layers: heights of the layers, default "1080,720,360" */
    unsigned fps;                      /* fps: frame rate of transcoded layers, 1..60, default 30 */
} cr_conf_source_t;

typedef struct cr_conf {
    /* [relay] */
    char http_host[64];        /* http_listen = HOST:PORT, default 127.0.0.1:8080 */
    uint16_t http_port;
    char media_ip[64];         /* media_ip: IPv4 address the media workers bind, default 127.0.0.1 */
    char announce_ip[64];      /* announce_ip: address put in SDP candidates, default = media_ip */
    uint16_t media_port;       /* media_port: first worker's UDP port, default 10000 (worker i: +i) */
    unsigned workers;          /* workers: media worker threads, 1..64, default 1 */
    unsigned max_classes;      /* max_classes: 1..10000, default 256 */
    unsigned max_subscribers;  /* max_subscribers_per_class: 1..10000, default 1000 */
    unsigned max_peers;        /* max_peers: total WHIP+WHEP sessions, 1..100000, default 4096 */
    unsigned consent_timeout_s; /* consent_timeout_s: 5..300, default 30 (RFC 7675) */
    unsigned history_packets;  /* history_packets: NACK ring per stream, 64..32768, default 1024 */
    int log_level;             /* log_level: debug|info|warn|error, default info (enum cr_log_level) */
    char web_root[512];        /* web_root: directory of client/web pages, default "" (built-in path) */

    /* [auth] */
    char auth_secret[257];     /* secret: HMAC key for tokens, 32..256 bytes, default "" (see secret_file) */
    char auth_secret_file[512]; /* secret_file: file holding the secret, default "" */
    int admin_remote;          /* admin_remote: admin API from non-loopback peers, default false */
    unsigned token_ttl_s;      /* token_ttl_s: default lifetime of `classrelay token`, 60..2592000, 3600 */

    /* [signal] */
    unsigned ws_idle_timeout_s; /* ws_idle_timeout_s: close a silent WebSocket, 5..3600, default 60 */

    /* [ops] */
    char event_log[512];       /* event_log: JSON-lines event log file, default "" = stderr */
    int event_log_level;       /* event_log_level: debug|info|warn|error, default info */
    char report_dir[512];      /* report_dir: lesson reports directory, default "" = not written */

    /* [sched]: the bandwidth scheduler (DESIGN.md; docs/CONFIG.md "The topology") */
    unsigned school_capacity_mbps;    /* school_capacity_mbps: a school without its own value, default 1000 */
    unsigned classroom_capacity_mbps; /* classroom_capacity_mbps: likewise for a classroom, default 100 */
    double target;                    /* target: default utilisation target of every link, default 0.95 */
    char default_school[CR_CONF_ID_MAX + 1]; /* default_school: where classrooms without a school go, "default" */
    unsigned weight[4];               /* weight_<kind>: a classroom's weight by class kind (enum cr_conf_kind),
                                         default synchronous 2, dedicated 3, master 1, network 1 */
    unsigned floor_kbps;              /* floor_kbps: each video stream's floor, default 300 */
    unsigned audio_kbps;              /* audio_kbps: audio reserved per classroom, default 64 */
    int pacing;                       /* pacing: pace media toward the links, default true */

    /* [supervise]: worker processes (relay/signal/cr_workers.h) */
    char client_path[512];     /* client_path: classrelay-client, default "" = next to the relay */
    char worker_log_dir[512];  /* log_dir: a <worker>.log per worker here, default "" = stderr */

    /* [recording] */
    char rec_dir[512];         /* dir: where recordings go, default "" = recording off */
    int rec_all;               /* all: record every class while it is live, default false */
    unsigned rec_segment_s;    /* segment_s: a new segment after this long, 10..14400, default 600 */
    unsigned rec_max_segment_mb; /* max_segment_mb: ... or this size, 0 = none, default 0 */
    unsigned rec_max;          /* max_recorders: recorders at once, 1..64, default 16 */

    /* [class.<id>]: the timetable */
    cr_conf_class_t classes[CR_CONF_MAX_TIMETABLE];
    unsigned n_classes;
    /* [school.<id>] and [classroom.<id>]: the topology */
    cr_conf_school_t schools[CR_CONF_MAX_SCHOOLS];
    unsigned n_schools;
    cr_conf_classroom_t classrooms[CR_CONF_MAX_CLASSROOMS];
    unsigned n_classrooms;
    /* [source.<id>]: studio hosts */
    cr_conf_source_t sources[CR_CONF_MAX_SOURCES];
    unsigned n_sources;
} cr_conf_t;

/** Fills c with the built-in defaults (loopback only). */
void cr_conf_defaults(cr_conf_t *c);

/**
 * Loads path over the values already in c. Returns 0, or a negative CR_E* code with a one-line
 * message "FILE:LINE: key 'KEY': REASON" (or "FILE: REASON" for I/O errors) written to err.
 */
int cr_conf_load(cr_conf_t *c, const char *path, char *err, size_t err_cap);

/**
 * Parses config text (as if read from a file named `name`) over c. Same errors as cr_conf_load.
 * text need not be NUL-terminated.
 */
int cr_conf_parse(cr_conf_t *c, const char *name, const char *text, size_t len, char *err,
                  size_t err_cap);

/** Checks cross-key constraints (e.g. media_port + workers <= 65535). Same error format. */
int cr_conf_validate(const cr_conf_t *c, char *err, size_t err_cap);

#endif
