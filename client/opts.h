/* Command-line options of classrelay-client. Pure C: no GLib, so it is unit-tested alone. */
#ifndef CR_CLIENT_OPTS_H
#define CR_CLIENT_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cr_mode { CR_MODE_NONE = 0, CR_MODE_TEACH, CR_MODE_ATTEND, CR_MODE_INGEST, CR_MODE_RECORD };

#define CR_OPTS_MAX_LAYERS 3 /* ingest --layers: rid h, m, l */

/** Everything the user chose. String fields point into argv and live as long as it does. */
struct cr_opts {
    enum cr_mode mode;
    const char *url;       /**< WHIP (teach, ingest) or WHEP (attend, record) endpoint, http(s):// */
    const char *src;       /**< ingest: rtsp://, rtsps://, srt://, rtmp://, rtmps://, file:// or a path */
    const char *file;      /**< teach: media file to publish instead of a camera */
    const char *token;     /**< sent as "Authorization: Bearer <token>" when set */
    const char *local_ip;  /**< gather ICE candidates on this address only */
    bool test;             /**< teach: test pattern + sine instead of a camera */
    bool simulcast;        /**< teach: three encodings (rid h, m, l) of the video */
    bool headless;         /**< attend: decode to fakesink and print stats lines */
    bool reconnect;        /**< retry with backoff instead of exiting on failure */
    bool help;
    unsigned bitrate_kbps; /**< teach: H.264 target bitrate */
    unsigned width, height, fps;
    unsigned duration_s;   /**< 0 = run until SIGINT/SIGTERM */
    /* ingest */
    bool transcode;        /**< decode and encode simulcast layers even when H.264 could pass */
    bool reconnect_source; /**< on source loss show a slate and retry, instead of exiting */
    const char *layers;    /**< --layers as given, e.g. "1080,720,360" (parsed into layer_h) */
    unsigned layer_h[CR_OPTS_MAX_LAYERS]; /**< layer heights, strictly decreasing */
    unsigned n_layers;
    /* record */
    const char *dir;       /**< directory the recording goes to (must exist) */
    const char *teacher;   /**< teacher id written to the sidecar, if known */
    unsigned segment_s;    /**< a new segment after this many seconds */
    uint64_t max_bytes;    /**< ... or when a segment reaches this size (0 = no limit) */
};

#define CR_OPTS_DEFAULT_SEGMENT_S 600u

#define CR_OPTS_DEFAULT_BITRATE 1500u
#define CR_OPTS_DEFAULT_WIDTH 1280u
#define CR_OPTS_DEFAULT_HEIGHT 720u
#define CR_OPTS_DEFAULT_FPS 30u

/**
 * Parse argv (argv[0] is the program). Accepts "--opt value" and "--opt=value".
 * Returns 0 on success; on a usage error returns -1 and writes a one-line reason into err
 * (err_len bytes, always NUL-terminated). With --help, returns 0 and sets o->help.
 */
int cr_opts_parse(struct cr_opts *o, int argc, char *const *argv, char *err, size_t err_len);

/** The usage text printed by --help and after usage errors. Static storage. */
const char *cr_opts_usage(void);

#endif
