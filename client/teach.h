/* classrelay-client teach: publish H.264 + Opus to the relay by WHIP. */
#ifndef CR_CLIENT_TEACH_H
#define CR_CLIENT_TEACH_H

#include "opts.h"

/** Run the teach command with options o (borrowed). Returns the process exit code. */
int cr_teach_run(const struct cr_opts *o);

#endif
