/*
 * Routing inside a class: each subscriber receives one source (the teacher by default, another
 * publisher for the classroom grid or "on stage") and, for video, one simulcast layer of it. A
 * publisher keeps the list of subscribers it feeds (its fanout), so the packet path walks only
 * them. Every change of source or layer is seamless for the receiver: the rewriter continues the
 * sequence and timestamps, and video resumes at a keyframe of the new layer, which is requested.
 */
#include <string.h>

#include "cr_worker_int.h"

#define CR_LAYER_IDLE_US 1000000u /* a layer with no packet for this long is not being sent */

void cr__request_keyframe(cr_peer_t *pub, int layer)
{
    if (pub == NULL)
        return;
    for (unsigned i = 0; i < pub->n_pub; i++)
        if (pub->pub[i].kind == CR_SDP_VIDEO && (layer < 0 || pub->pub[i].layer == layer))
            pub->pub[i].kf_pending = 1;
}

static cr_peer_t *find_source(cr_class_t *c, const char *source_id)
{
    if (source_id[0] == '\0')
        return c->main;
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &c->publishers)
    {
        cr_peer_t *p = cr_container_of(it, cr_peer_t, class_link);
        if (strcmp(p->resource_id, source_id) == 0)
            return p;
    }
    return NULL;
}

int cr__fanout_pick_layer(const cr_peer_t *pub, const cr_peer_t *sub, uint64_t now_us)
{
    /* Without a layer of its own choosing, a subscriber takes the allocator's (-1: video off). */
    if (sub->want_rid[0] == '\0' && sub->sched_layer != CR_PEER_LAYER_AUTO)
        return sub->sched_layer;
    int best = -1;
    for (unsigned i = 0; i < pub->n_pub; i++) {
        const cr_pub_stream_t *s = &pub->pub[i];
        if (s->kind != CR_SDP_VIDEO)
            continue;
        int active = s->last_pkt_us != 0 && now_us - s->last_pkt_us < CR_LAYER_IDLE_US;
        if (sub->want_rid[0] && strcmp(s->rid, sub->want_rid) == 0 && active)
            return s->layer;
        if (active && (best < 0 || s->layer < best))
            best = s->layer;
    }
    return best < 0 ? 0 : best;
}

void cr__fanout_bind(cr_class_t *c, cr_peer_t *sub, uint64_t now_us)
{
    cr_peer_t *src = find_source(c, sub->source_id);
    if (src == sub->source)
        return;
    cr_list_unlink(&sub->fanout_link);
    sub->source = src;
    sub->sched_layer = CR_PEER_LAYER_AUTO; /* the allocator's layer was one of the old source's */
    for (unsigned i = 0; i < sub->n_sub; i++) {
        cr_sub_stream_t *ss = &sub->sub[i];
        cr_rewriter_switch(&ss->rw);
        ss->need_keyframe = ss->kind == CR_SDP_VIDEO;
        ss->cur_layer = -1;
        ss->target_layer = src ? (int8_t)cr__fanout_pick_layer(src, sub, now_us) : 0;
    }
    if (src == NULL)
        return; /* waits until its source publishes */
    cr_list_insert(&src->fanout, &sub->fanout_link);
    if (sub->state == CR_PEER_CONNECTED)
        cr__fanout_request_target(sub);
}

void cr__fanout_request_target(cr_peer_t *sub)
{
    int l = cr__fanout_target_layer(sub);
    if (l >= 0) /* (a layer < 0 would ask for every layer: video is off) */
        cr__request_keyframe(sub->source, l);
}

int cr__fanout_target_layer(const cr_peer_t *sub)
{
    for (unsigned i = 0; i < sub->n_sub; i++)
        if (sub->sub[i].kind == CR_SDP_VIDEO)
            return sub->sub[i].target_layer;
    return -1;
}

void cr__fanout_retarget(cr_peer_t *sub, uint64_t now_us)
{
    if (sub->source == NULL)
        return;
    for (unsigned i = 0; i < sub->n_sub; i++) {
        cr_sub_stream_t *ss = &sub->sub[i];
        if (ss->kind != CR_SDP_VIDEO)
            continue;
        int l = cr__fanout_pick_layer(sub->source, sub, now_us);
        if (l != ss->target_layer) {
            ss->target_layer = (int8_t)l;
            if (l >= 0 && l != ss->cur_layer)
                cr__request_keyframe(sub->source, l);
        }
    }
}

void cr__fanout_rebind_all(cr_class_t *c, uint64_t now_us)
{
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &c->subscribers)
    {
        cr__fanout_bind(c, cr_container_of(it, cr_peer_t, class_link), now_us);
    }
}

void cr__fanout_unbind_publisher(cr_class_t *c, cr_peer_t *pub)
{
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &pub->fanout)
    {
        cr_peer_t *sub = cr_container_of(it, cr_peer_t, fanout_link);
        cr_list_unlink(&sub->fanout_link);
        sub->source = NULL;
    }
    (void)c;
}

void cr__fanout_set_layer(cr_peer_t *sub, const char *rid, uint64_t now_us)
{
    size_t n = rid ? strlen(rid) : 0;
    if (n >= sizeof(sub->want_rid))
        n = sizeof(sub->want_rid) - 1;
    memcpy(sub->want_rid, rid ? rid : "", n);
    sub->want_rid[n] = '\0';
    /* The forwarding path switches at the target layer's next keyframe. */
    cr__fanout_retarget(sub, now_us);
}

void cr__fanout_set_muted(cr_peer_t *pub, int audio_muted, int video_muted)
{
    int resume_audio = pub->audio_muted && !audio_muted, resume_video = pub->video_muted && !video_muted;
    pub->audio_muted = (uint8_t)(audio_muted != 0);
    pub->video_muted = (uint8_t)(video_muted != 0);
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &pub->fanout)
    {
        cr_peer_t *sub = cr_container_of(it, cr_peer_t, fanout_link);
        for (unsigned i = 0; i < sub->n_sub; i++) {
            cr_sub_stream_t *ss = &sub->sub[i];
            int video = ss->kind == CR_SDP_VIDEO;
            if ((video && resume_video) || (!video && resume_audio)) {
                /* Continue the numbering where it stopped: what was muted is not "lost". */
                cr_rewriter_switch(&ss->rw);
                ss->need_keyframe = (uint8_t)video;
            }
        }
    }
    if (resume_video)
        cr__request_keyframe(pub, -1);
}
