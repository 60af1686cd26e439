#include "whip.h"

#include "text.h"
#include "url.h"

#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>

/* An SDP answer larger than this is not an answer to our two-m-line offer. */
#define CR_WHIP_ANSWER_MAX (256 * 1024)
#define CR_WHIP_POST_TIMEOUT_S 10

struct cr_whip {
    SoupSession *session;
    char *token;
    char *resource;
    GCancellable *pending;
};

/* One POST in flight. Owns a ref on its cancellable; the client may be gone by the time it
 * completes only if it was cancelled, in which case w is not touched. */
struct post_req {
    struct cr_whip *w;
    GCancellable *cancel;
    SoupMessage *msg;
    char *url;
    cr_whip_answer_cb cb;
    void *ud;
};

struct cr_whip *cr_whip_new(const char *token)
{
    struct cr_whip *w = g_new0(struct cr_whip, 1);
    w->session = soup_session_new_with_options("timeout", CR_WHIP_POST_TIMEOUT_S, "user-agent",
                                               "classrelay-client/" CR_CLIENT_VERSION, NULL);
    w->token = g_strdup(token);
    return w;
}

void cr_whip_cancel(struct cr_whip *w)
{
    if (w->pending != NULL) {
        g_cancellable_cancel(w->pending);
        g_clear_object(&w->pending);
    }
}

void cr_whip_free(struct cr_whip *w)
{
    if (w == NULL)
        return;
    cr_whip_cancel(w);
    g_object_unref(w->session);
    g_free(w->token);
    g_free(w->resource);
    g_free(w);
}

const char *cr_whip_resource(const struct cr_whip *w)
{
    return w->resource;
}

static void add_auth(const struct cr_whip *w, SoupMessage *msg)
{
    if (w->token != NULL) {
        char *v = g_strdup_printf("Bearer %s", w->token);
        soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization", v);
        g_free(v);
    }
}

static void post_req_free(struct post_req *r)
{
    g_object_unref(r->cancel);
    g_object_unref(r->msg);
    g_free(r->url);
    g_free(r);
}

/* Check a 2xx answer and take its Location. Returns an error message (g_free) or NULL. */
static char *accept_answer(struct post_req *r, GBytes *body)
{
    SoupMessageHeaders *h = soup_message_get_response_headers(r->msg);
    gsize len = 0;
    const char *data = body ? g_bytes_get_data(body, &len) : NULL;

    if (data == NULL || len == 0)
        return g_strdup_printf("relay answered %u without an SDP body",
                               soup_message_get_status(r->msg));
    if (len > CR_WHIP_ANSWER_MAX || memchr(data, '\0', len) != NULL)
        return g_strdup("relay answer is not an SDP text");
    if (strncmp(data, "v=0", 3) != 0)
        return g_strdup("relay answer is not SDP (does not start with v=0)");

    const char *loc = soup_message_headers_get_one(h, "Location");
    g_free(r->w->resource);
    r->w->resource = NULL;
    if (loc != NULL) {
        GUri *base = soup_message_get_uri(r->msg); /* after redirects, if any */
        char *base_s = g_uri_to_string(base);
        r->w->resource = cr_url_resolve(base_s, loc);
        g_free(base_s);
        if (r->w->resource == NULL)
            fprintf(stderr, "warning: ignoring unusable Location '%s'\n", loc);
    } else {
        fprintf(stderr, "warning: relay gave no Location header; cannot DELETE the session\n");
    }
    return NULL;
}

static void on_post_done(GObject *src, GAsyncResult *res, gpointer data)
{
    struct post_req *r = data;
    GError *err = NULL;
    GBytes *body = soup_session_send_and_read_finish(SOUP_SESSION(src), res, &err);

    if (g_cancellable_is_cancelled(r->cancel)) {
        g_clear_error(&err);
        goto Exit;
    }
    if (r->w->pending == r->cancel)
        g_clear_object(&r->w->pending);

    char *msg = NULL;
    char buf[512];
    char *sdp_copy = NULL;
    if (body == NULL) {
        msg = g_strdup_printf("cannot reach relay at %s: %s", r->url, err->message);
    } else {
        unsigned status = soup_message_get_status(r->msg);
        if (status >= 200 && status < 300) {
            msg = accept_answer(r, body);
            if (msg == NULL) {
                gsize len;
                const char *d = g_bytes_get_data(body, &len);
                sdp_copy = g_strndup(d, len);
            }
        } else {
            gsize len = 0;
            const char *d = g_bytes_get_data(body, &len);
            cr_text_refusal(buf, sizeof(buf), status, soup_message_get_reason_phrase(r->msg), d,
                            len);
            msg = g_strdup(buf);
        }
    }
    r->cb(r->ud, sdp_copy, msg);
    g_free(sdp_copy);
    g_free(msg);
Exit:
    g_clear_error(&err);
    if (body != NULL)
        g_bytes_unref(body);
    post_req_free(r);
}

void cr_whip_post_offer(struct cr_whip *w, const char *url, const char *offer_sdp,
                        cr_whip_answer_cb cb, void *ud)
{
    struct post_req *r = g_new0(struct post_req, 1);

    cr_whip_cancel(w);
    r->w = w;
    r->cb = cb;
    r->ud = ud;
    r->url = g_strdup(url);
    r->cancel = g_cancellable_new();
    w->pending = g_object_ref(r->cancel);
    r->msg = soup_message_new("POST", url); /* url was validated by the option parser */
    if (r->msg == NULL) {
        char *m = g_strdup_printf("invalid URL '%s'", url);
        g_clear_object(&w->pending);
        cb(ud, NULL, m);
        g_free(m);
        g_object_unref(r->cancel);
        g_free(r->url);
        g_free(r);
        return;
    }
    add_auth(w, r->msg);
    GBytes *b = g_bytes_new(offer_sdp, strlen(offer_sdp));
    soup_message_set_request_body_from_bytes(r->msg, "application/sdp", b);
    g_bytes_unref(b);
    soup_session_set_timeout(w->session, CR_WHIP_POST_TIMEOUT_S);
    soup_session_send_and_read_async(w->session, r->msg, G_PRIORITY_DEFAULT, r->cancel,
                                     on_post_done, r);
}

struct delete_wait {
    GBytes *body;
    GError *err;
    gboolean done;
};

static void on_delete_done(GObject *src, GAsyncResult *res, gpointer data)
{
    struct delete_wait *dw = data;
    dw->body = soup_session_send_and_read_finish(SOUP_SESSION(src), res, &dw->err);
    dw->done = TRUE;
}

static gboolean on_delete_deadline(gpointer data)
{
    g_cancellable_cancel(data);
    return G_SOURCE_REMOVE;
}

/* A hard deadline needs its own session and main context: libsoup's "timeout" applies per I/O
 * operation and a request on a dead pooled connection is retried, so a plain blocking call
 * can take several times the timeout; and iterating the default context here would run the
 * caller's timers in the middle of its teardown. */
void cr_whip_delete(struct cr_whip *w, unsigned timeout_s)
{
    struct delete_wait dw = {NULL, NULL, FALSE};

    if (w->resource == NULL)
        return;
    cr_whip_cancel(w);
    SoupMessage *msg = soup_message_new("DELETE", w->resource);
    if (msg == NULL) {
        fprintf(stderr, "warning: cannot DELETE invalid resource URL '%s'\n", w->resource);
        goto Exit;
    }
    add_auth(w, msg);
    GMainContext *ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    SoupSession *ss = soup_session_new_with_options("timeout", timeout_s, "user-agent",
                                                    "classrelay-client/" CR_CLIENT_VERSION, NULL);
    GCancellable *cancel = g_cancellable_new();
    GSource *deadline = g_timeout_source_new_seconds(timeout_s);
    g_source_set_callback(deadline, on_delete_deadline, cancel, NULL);
    g_source_attach(deadline, ctx);
    soup_session_send_and_read_async(ss, msg, G_PRIORITY_DEFAULT, cancel, on_delete_done, &dw);
    while (!dw.done)
        g_main_context_iteration(ctx, TRUE);
    g_source_destroy(deadline);
    g_source_unref(deadline);
    if (dw.body == NULL) {
        fprintf(stderr, "warning: DELETE %s failed: %s\n", w->resource,
                g_error_matches(dw.err, G_IO_ERROR, G_IO_ERROR_CANCELLED) ? "timed out"
                                                                          : dw.err->message);
        g_clear_error(&dw.err);
    } else {
        unsigned status = soup_message_get_status(msg);
        if (status < 200 || status >= 300)
            fprintf(stderr, "warning: DELETE %s: relay answered %u\n", w->resource, status);
        g_bytes_unref(dw.body);
    }
    g_object_unref(cancel);
    soup_session_abort(ss);
    g_object_unref(ss);
    while (g_main_context_pending(ctx)) /* let the aborted connection finish closing */
        g_main_context_iteration(ctx, FALSE);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
    g_object_unref(msg);
Exit:
    g_free(w->resource);
    w->resource = NULL;
}
