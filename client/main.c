/* classrelay-client: the teacher's publisher, the classroom player, the studio ingest worker and
 * the recorder of classrelay. Parses options, then hands over to
 * teach, attend, ingest or record. Exit codes: 0 ok, 1 failure, 2 usage. */
#include "attend.h"
#include "ingest.h"
#include "opts.h"
#include "record.h"
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
    int rc;
    switch (o.mode) {
    case CR_MODE_TEACH: rc = cr_teach_run(&o); break;
    case CR_MODE_INGEST: rc = cr_ingest_run(&o); break;
    case CR_MODE_RECORD: rc = cr_record_run(&o); break;
    default: rc = cr_attend_run(&o); break;
    }
    gst_deinit();
    return rc;
}
