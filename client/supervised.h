/* What `ingest` and `record` do when the relay runs them as supervised workers
 * (relay/signal/cr_workers.c): the token comes from $CLASSRELAY_TOKEN instead of the command line,
 * where any local user could read it, and the worker ends with the relay ($CLASSRELAY_PARENT_PID):
 * a relay killed with SIGKILL cannot stop its children, so they notice it themselves. */
#ifndef CR_CLIENT_SUPERVISED_H
#define CR_CLIENT_SUPERVISED_H

#include "opts.h"
#include "session.h"

/** o->token from $CLASSRELAY_TOKEN when the command line gave none. */
void cr_supervised_token(struct cr_opts *o);

/** With $CLASSRELAY_PARENT_PID set, ends the run (exit 1) once the parent is gone. Returns a
 *  GSource id to remove after the run, or 0. */
guint cr_supervised_watch_parent(struct cr_app *app);

#endif
