/* Pad probes that add to counters the stats lines read. Counters are plain uint64_t updated
 * atomically from streaming threads; they must outlive the pads (they live in the app). */
#ifndef CR_CLIENT_COUNT_H
#define CR_CLIENT_COUNT_H

#include <gst/gst.h>
#include <stdint.h>

enum cr_count_what {
    CR_COUNT_BUFFERS, /**< one per buffer (a frame at an encoder or decoder) */
    CR_COUNT_BYTES,   /**< buffer sizes, buffer lists included (RTP) */
    CR_COUNT_S16_STEREO_SAMPLES, /**< bytes / 4: interleaved S16 stereo */
};

/** Count on the named static pad of e (borrowed). Returns FALSE when there is no such pad. */
gboolean cr_count_on_element(GstElement *e, const char *pad_name, enum cr_count_what what,
                             uint64_t *counter);

/** Count on pad (borrowed). */
void cr_count_on_pad(GstPad *pad, enum cr_count_what what, uint64_t *counter);

/** Read a counter. */
uint64_t cr_count_get(const uint64_t *counter);

#endif
