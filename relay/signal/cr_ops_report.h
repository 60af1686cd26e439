/*
 * Lesson reports (cr_ops_report.c): written when a class ends into [ops] report_dir as
 * <class>-<YYYYMMDDTHHMMSSZ>.json and .html, listed by GET /api/reports.
 */
#ifndef CR_OPS_REPORT_H
#define CR_OPS_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CR_REPORT_LIST 64 /* reports listed (the newest) */

/** The names (without extension) of the reports written since start-up, oldest first; borrowed. */
size_t cr_ops_reports(const char (**names)[128]);

/**
 * Renders a report (as written in the .json file) as a self-contained HTML page (malloc'ed, the
 * caller frees it; NULL on ENOMEM). Every string from the report is HTML-escaped.
 */
char *cr_ops_report_html(const json_t *report);

/** The report of an accumulator (internal, cr_ops_report.c). */
json_t *cr__ops_report_json(const void *acc, int64_t end_s);

#endif
