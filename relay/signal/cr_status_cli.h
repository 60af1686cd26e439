/*
 * `classrelay status`: a terminal summary of a running relay (classes, links, top problems), read
 * from GET /api/ops (cr_status_cli.c).
 */
#ifndef CR_STATUS_CLI_H
#define CR_STATUS_CLI_H

#include <jansson.h>
#include <stddef.h>

/** Runs `classrelay status ARGS...` (argv[1] is "status"). Returns the process exit code. */
int cr_status_main(int argc, char **argv);

/**
 * Renders the operator view (as GET /api/ops returns it, borrowed) for a terminal into buf (cap
 * bytes, NUL-terminated, cut at cap). url is shown in the header. Returns the length, -1 if cap is 0.
 */
int cr_status_render(const json_t *ops, const char *url, char *buf, size_t cap);

#endif
