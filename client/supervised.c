#include "supervised.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cr_supervised_token(struct cr_opts *o)
{
    const char *t = g_getenv("CLASSRELAY_TOKEN");
    if (o->token == NULL && t != NULL && t[0] != '\0')
        o->token = t;
}

static gboolean check_parent(gpointer data)
{
    struct cr_app *app = data;
    const char *want = g_getenv("CLASSRELAY_PARENT_PID");
    if (want != NULL && (long)getppid() != strtol(want, NULL, 10))
        cr_session_finish(app, 1, "the relay that started this worker is gone");
    return G_SOURCE_CONTINUE;
}

guint cr_supervised_watch_parent(struct cr_app *app)
{
    const char *want = g_getenv("CLASSRELAY_PARENT_PID");
    if (want == NULL || want[0] < '1' || want[0] > '9')
        return 0;
    return g_timeout_add_seconds(1, check_parent, app);
}
