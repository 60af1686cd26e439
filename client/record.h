#ifndef CR_CLIENT_RECORD_H
#define CR_CLIENT_RECORD_H

#include "opts.h"

/** `classrelay-client record`: subscribe to o->url by WHEP and write the class under o->dir.
 *  Returns the exit code. Without --token the token comes from $CLASSRELAY_TOKEN. */
int cr_record_run(const struct cr_opts *o);

#endif
