/*
 * classrelay: the live-class relay server. Runs on built-in loopback defaults with no arguments, or
 * with --config FILE (see config/relay.conf and docs/CONFIG.md).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cr_conf.h"
#include "cr_err.h"
#include "cr_http.h"
#include "cr_log.h"
#include "cr_relay.h"

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
               "\n"
               "  --config FILE    load settings from FILE over the built-in defaults\n"
               "  --check-config   load and validate the configuration, print it, and exit\n"
               "\n"
               "With no config the relay listens for HTTP on 127.0.0.1:8080 and for media on\n"
               "UDP 127.0.0.1:10000 (loopback only). WHIP: POST /whip/<class-id>; WHEP: POST\n"
               "/whep/<class-id>; status: GET /api/status.\n");
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

    cr_conf_defaults(&conf);
    if (config_path != NULL && cr_conf_load(&conf, config_path, err, sizeof(err)) != 0) {
        fprintf(stderr, "classrelay: %s\n", err);
        return 1;
    }
    if (cr_conf_validate(&conf, err, sizeof(err)) != 0) {
        fprintf(stderr, "classrelay: %s%s%s\n", config_path ? config_path : "", config_path ? ": " : "", err);
        return 1;
    }
    if (check_only) {
        print_conf(&conf);
        return 0;
    }
    cr_log_set_level((enum cr_log_level)conf.log_level);

    signal(SIGPIPE, SIG_IGN);
    cr_relay_t *relay = NULL;
    if (cr_relay_new(&relay, &conf, err, sizeof(err)) != 0) {
        fprintf(stderr, "classrelay: %s\n", err);
        return 1;
    }
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
