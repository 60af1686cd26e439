/*
 * classrelay: the live-class relay server. Runs on built-in loopback defaults with no arguments, or
 * with --config FILE (see config/relay.conf and docs/CONFIG.md). `classrelay token ...` mints a token
 * (docs/PROTOCOL.md) with the secret of the same config.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cr_auth.h"
#include "cr_auth_secret.h"
#include "cr_conf.h"
#include "cr_err.h"
#include "cr_events.h"
#include "cr_http.h"
#include "cr_log.h"
#include "cr_relay.h"
#include "cr_status_cli.h"

static cr_http_t *g_http;

static void on_signal(int sig)
{
    (void)sig;
    if (g_http != NULL)
        cr_http_stop(g_http);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: classrelay [--config FILE] [--check-config] [--version] [--help]\n"
               "       classrelay token --role ROLE --class CLASS-ID [--classroom ID | --id ID]\n"
               "                        [--name NAME] [--school ID] [--ttl SECONDS] [--config FILE]\n"
               "       classrelay status [--url http://HOST:PORT] [--token T | --config FILE]\n"
               "\n"
               "  --config FILE    load settings from FILE over the built-in defaults\n"
               "  --check-config   load and validate the configuration, print it, and exit\n"
               "  token            print a token signed with the config's [auth] secret: ROLE is\n"
               "                   teacher, classroom, operator or admin; CLASS-ID a class id or '*';\n"
               "                   --classroom/--id the participant id (required for a classroom);\n"
               "                   --ttl the lifetime (default [auth] token_ttl_s, 3600)\n"
               "  status           summary of a running relay (classes, links, problems) from its\n"
               "                   /api/ops; without --token, an operator token is minted from the\n"
               "                   config's secret (default --url http://127.0.0.1:8080)\n"
               "\n"
               "With no config the relay listens for HTTP on 127.0.0.1:8080 and for media on\n"
               "UDP 127.0.0.1:10000 (loopback only). WHIP: POST /whip/<class-id>; WHEP: POST\n"
               "/whep/<class-id>; status: GET /api/status.\n");
}

/* Loads the defaults, then FILE if given, and validates. Prints the reason and returns 1 on error. */
static int load_conf(cr_conf_t *conf, const char *config_path)
{
    char err[512];
    cr_conf_defaults(conf);
    if (config_path != NULL && cr_conf_load(conf, config_path, err, sizeof(err)) != 0) {
        fprintf(stderr, "classrelay: %s\n", err);
        return 1;
    }
    if (cr_conf_validate(conf, err, sizeof(err)) != 0) {
        fprintf(stderr, "classrelay: %s%s%s\n", config_path ? config_path : "", config_path ? ": " : "", err);
        return 1;
    }
    return 0;
}

/* A whole decimal number in 1..max (no sign, no suffix). */
static int parse_seconds(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

static int copy_arg(char *dst, size_t cap, const char *v, const char *what)
{
    if (strlen(v) >= cap) {
        fprintf(stderr, "classrelay token: %s too long (max %zu bytes)\n", what, cap - 1);
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/* Parses the token command's options into c (and *config_path, *ttl). Returns 0, or 2 (usage). */
static int token_args(int argc, char **argv, cr_claims_t *c, const char **config_path, unsigned long *ttl)
{
    int have_role = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            fprintf(stderr, "classrelay token: '%s' needs a value (or is unknown)\n", a);
            return 2;
        }
        i++;
        int bad = 0;
        if (strcmp(a, "--role") == 0) {
            bad = cr_role_parse(v, strlen(v), &c->role) != 0;
            have_role = !bad;
        } else if (strcmp(a, "--class") == 0) {
            bad = copy_arg(c->class_id, sizeof(c->class_id), v, "--class");
        } else if (strcmp(a, "--classroom") == 0 || strcmp(a, "--id") == 0) {
            bad = copy_arg(c->sub, sizeof(c->sub), v, a);
        } else if (strcmp(a, "--name") == 0) {
            bad = copy_arg(c->name, sizeof(c->name), v, "--name");
        } else if (strcmp(a, "--school") == 0) {
            bad = copy_arg(c->school, sizeof(c->school), v, "--school");
        } else if (strcmp(a, "--ttl") == 0) {
            bad = parse_seconds(v, CR_AUTH_TTL_MAX_S, ttl) != 0;
        } else if (strcmp(a, "--config") == 0) {
            *config_path = v;
        } else {
            fprintf(stderr, "classrelay token: unknown option '%s'\n", a);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "classrelay token: invalid value '%s' for %s\n", v, a);
            return 2;
        }
    }
    if (!have_role || c->class_id[0] == '\0') {
        fprintf(stderr, "classrelay token: --role and --class are required\n");
        return 2;
    }
    return 0;
}

/* classrelay token ...: prints a token and a newline. */
static int token_main(int argc, char **argv)
{
    cr_claims_t c;
    cr_conf_t conf;
    cr_auth_key_t key;
    const char *config_path = NULL;
    unsigned long ttl = 0;
    char err[512], tok[CR_AUTH_TOKEN_MAX + 1];
    memset(&c, 0, sizeof(c));
    int rc = token_args(argc, argv, &c, &config_path, &ttl);
    if (rc != 0) {
        usage(stderr);
        return rc;
    }
    if (load_conf(&conf, config_path) != 0)
        return 1;
    if (cr_auth_secret_load(conf.auth_secret, conf.auth_secret_file, conf.http_port, 0, &key, err, sizeof(err)) != 0) {
        fprintf(stderr, "classrelay token: %s\n", err);
        return 1;
    }
    c.iat = (int64_t)time(NULL);
    c.exp = c.iat + (int64_t)(ttl ? ttl : conf.token_ttl_s);
    int n = cr_auth_sign(key.key, key.len, &c, tok, sizeof(tok));
    memset(&key, 0, sizeof(key));
    if (n < 0) {
        fprintf(stderr, "classrelay token: cannot sign: %s (a classroom needs --classroom; ids are 1-64 of "
                        "A-Z a-z 0-9 _ -)\n",
                cr_strerror(n));
        return 2;
    }
    printf("%s\n", tok);
    return 0;
}

static void print_conf(const cr_conf_t *c)
{
    printf("http_listen = %s:%u\nmedia_ip = %s\nannounce_ip = %s\nmedia_port = %u\nworkers = %u\n",
           c->http_host, (unsigned)c->http_port, c->media_ip, c->announce_ip, (unsigned)c->media_port,
           c->workers);
    printf("max_classes = %u\nmax_subscribers_per_class = %u\nmax_peers = %u\nconsent_timeout_s = %u\n"
           "history_packets = %u\n",
           c->max_classes, c->max_subscribers, c->max_peers, c->consent_timeout_s, c->history_packets);
}

int main(int argc, char **argv)
{
    cr_conf_t conf;
    char err[512];
    const char *config_path = NULL;
    int check_only = 0;

    if (argc >= 2 && strcmp(argv[1], "token") == 0)
        return token_main(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "status") == 0)
        return cr_status_main(argc, argv);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config_path = argv[++i];
        } else if (strcmp(argv[i], "--check-config") == 0) {
            check_only = 1;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("classrelay 0.1.0\n");
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "classrelay: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }

    if (load_conf(&conf, config_path) != 0)
        return 1;
    if (check_only) {
        print_conf(&conf);
        return 0;
    }
    cr_log_set_level((enum cr_log_level)conf.log_level);
    if (cr_events_open(conf.event_log, (enum cr_log_level)conf.event_log_level, err, sizeof(err)) != 0) {
        fprintf(stderr, "classrelay: %s\n", err);
        return 1;
    }

    signal(SIGPIPE, SIG_IGN);
    cr_relay_t *relay = NULL;
    if (cr_relay_new(&relay, &conf, err, sizeof(err)) != 0) {
        fprintf(stderr, "classrelay: %s\n", err);
        return 1;
    }
    cr_auth_key_t key;
    if (cr_auth_secret_load(conf.auth_secret, conf.auth_secret_file, conf.http_port, 1, &key, err, sizeof(err)) != 0 ||
        cr_relay_set_key(relay, key.key, key.len) != 0) {
        fprintf(stderr, "classrelay: %s\n", err);
        cr_relay_free(relay);
        return 1;
    }
    if (key.generated)
        cr_log(CR_LOG_WARN, "auth",
               "no [auth] secret configured: using a random one for this run%s%s; mint tokens with: classrelay token "
               "%s%s%s--role teacher --class CLASS-ID",
               key.path[0] ? ", saved in " : " (could not save it: tokens cannot be minted)", key.path,
               config_path ? "--config " : "", config_path ? config_path : "", config_path ? " " : "");
    memset(&key, 0, sizeof(key));
    if (cr_http_new(&g_http, &conf, relay, err, sizeof(err)) != 0) {
        fprintf(stderr, "classrelay: %s\n", err);
        cr_relay_free(relay);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    cr_log(CR_LOG_INFO, "main", "classrelay listening on http://%s:%u, media on udp %s:%u (%u worker%s)",
           conf.http_host, (unsigned)conf.http_port, conf.announce_ip, (unsigned)conf.media_port, conf.workers,
           conf.workers == 1 ? "" : "s");
    cr_http_run(g_http);
    cr_log(CR_LOG_INFO, "main", "shutting down");
    cr_http_free(g_http);
    g_http = NULL;
    cr_relay_free(relay);
    return 0;
}
