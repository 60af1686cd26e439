/* classrelay-client: the teacher's publisher and the classroom player of classrelay.
 * Parses options, then hands over to teach or attend. Exit codes: 0 ok, 1 failure, 2 usage. */
#include "attend.h"
#include "opts.h"
#include "teach.h"

#include <gst/gst.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    struct cr_opts o;
    char err[256];

    /* Tests read our lines as they come, through pipes and files. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (cr_opts_parse(&o, argc, argv, err, sizeof(err)) != 0) {
        fprintf(stderr, "error: %s\n\n%s", err, cr_opts_usage());
        return 2;
    }
    if (o.help) {
        fputs(cr_opts_usage(), stdout);
        return 0;
    }
    gst_init(NULL, NULL);
    int rc = o.mode == CR_MODE_TEACH ? cr_teach_run(&o) : cr_attend_run(&o);
    gst_deinit();
    return rc;
}
