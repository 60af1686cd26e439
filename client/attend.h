/* classrelay-client attend: receive a class from the relay by WHEP and play or measure it. */
#ifndef CR_CLIENT_ATTEND_H
#define CR_CLIENT_ATTEND_H

#include "opts.h"

/** Run the attend command with options o (borrowed). Returns the process exit code. */
int cr_attend_run(const struct cr_opts *o);

#endif
