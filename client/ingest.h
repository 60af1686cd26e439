#ifndef CR_CLIENT_INGEST_H
#define CR_CLIENT_INGEST_H

#include "opts.h"

/** `classrelay-client ingest`: pull o->src and publish it to o->url by WHIP. Returns the exit
 *  code. Without --token the token comes from $CLASSRELAY_TOKEN (how the relay passes it). */
int cr_ingest_run(const struct cr_opts *o);

#endif
