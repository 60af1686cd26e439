/*
 * HTTP handlers of the operator features: GET /metrics (cr_http_metrics.c, Prometheus, no token),
 * GET /api/ops (the dashboard's JSON), GET /api/reports and /api/reports/<name>.json|.html (lesson
 * reports) and GET /ops (the dashboard page), in cr_http_ops.c. Routes are rows of cr_http_routes.c.
 */
#ifndef CR_HTTP_OPS_H
#define CR_HTTP_OPS_H

#include "cr_http_int.h"

void cr__http_metrics(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq);
void cr__http_ops(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq);
void cr__http_reports(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq);
void cr__http_ops_page(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq);

#endif
