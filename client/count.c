#include "count.h"

struct probe {
    enum cr_count_what what;
    uint64_t *counter;
};

static uint64_t buffer_amount(enum cr_count_what what, GstBuffer *b)
{
    switch (what) {
    case CR_COUNT_BUFFERS: return 1;
    case CR_COUNT_BYTES: return gst_buffer_get_size(b);
    case CR_COUNT_S16_STEREO_SAMPLES: return gst_buffer_get_size(b) / 4;
    }
    return 0;
}

static GstPadProbeReturn on_data(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    const struct probe *p = data;
    uint64_t n = 0;

    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
        n = buffer_amount(p->what, GST_PAD_PROBE_INFO_BUFFER(info));
    } else {
        GstBufferList *l = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
        for (guint i = 0; i < gst_buffer_list_length(l); i++)
            n += buffer_amount(p->what, gst_buffer_list_get(l, i));
    }
    __atomic_add_fetch(p->counter, n, __ATOMIC_RELAXED);
    return GST_PAD_PROBE_OK;
}

void cr_count_on_pad(GstPad *pad, enum cr_count_what what, uint64_t *counter)
{
    struct probe *p = g_new(struct probe, 1);
    p->what = what;
    p->counter = counter;
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, on_data, p,
                      g_free);
}

gboolean cr_count_on_element(GstElement *e, const char *pad_name, enum cr_count_what what,
                             uint64_t *counter)
{
    GstPad *pad = e ? gst_element_get_static_pad(e, pad_name) : NULL;
    if (pad == NULL)
        return FALSE;
    cr_count_on_pad(pad, what, counter);
    gst_object_unref(pad);
    return TRUE;
}

uint64_t cr_count_get(const uint64_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}
