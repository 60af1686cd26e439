/* rtsp_testsrv: a small RTSP server for the ingest tests, standing in for a recording-studio host.
 *
 *   rtsp_testsrv [--address IP] [--port N] [--mount /path] [--width W] [--height H] [--fps N]
 *                [--bitrate KBPS] [--profile baseline|main|high] [--no-audio]
 *
 * Serves rtsp://IP:N/path (default 0.0.0.0:8554/live): SMPTE bars with a clock (x264, 2 s GOP)
 * and a 440 Hz tone in AAC, as studio hosts send, over RTP/UDP or interleaved TCP. The media is
 * shared by every client. Prints "ready rtsp://..." on stdout once listening; runs until SIGINT
 * or SIGTERM. Exit 1 on a usage or start-up error. */
#include <glib-unix.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct args {
    const char *address, *mount, *profile;
    unsigned port, width, height, fps, kbps;
    gboolean no_audio;
};

static gboolean parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
    char *end = NULL;
    if (s == NULL || *s < '0' || *s > '9')
        return FALSE;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || v < min || v > max)
        return FALSE;
    *out = (unsigned)v;
    return TRUE;
}

static gboolean parse_args(int argc, char **argv, struct args *a)
{
    *a = (struct args){"0.0.0.0", "/live", "baseline", 8554, 640, 360, 30, 1000, FALSE};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        gboolean ok = TRUE;
        if (strcmp(k, "--no-audio") == 0) {
            a->no_audio = TRUE;
            continue;
        }
        if (v == NULL)
            return FALSE;
        i++;
        if (strcmp(k, "--address") == 0)
            a->address = v;
        else if (strcmp(k, "--mount") == 0)
            ok = v[0] == '/';
        else if (strcmp(k, "--profile") == 0)
            ok = strcmp(v, "baseline") == 0 || strcmp(v, "main") == 0 || strcmp(v, "high") == 0;
        else if (strcmp(k, "--port") == 0)
            ok = parse_uint(v, 1, 65535, &a->port);
        else if (strcmp(k, "--width") == 0)
            ok = parse_uint(v, 16, 3840, &a->width);
        else if (strcmp(k, "--height") == 0)
            ok = parse_uint(v, 16, 2160, &a->height);
        else if (strcmp(k, "--fps") == 0)
            ok = parse_uint(v, 1, 60, &a->fps);
        else if (strcmp(k, "--bitrate") == 0)
            ok = parse_uint(v, 50, 50000, &a->kbps);
        else
            return FALSE;
        if (!ok)
            return FALSE;
        if (strcmp(k, "--mount") == 0)
            a->mount = v;
        else if (strcmp(k, "--profile") == 0)
            a->profile = v;
    }
    return TRUE;
}

static gboolean on_signal(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
    struct args a;
    gst_init(NULL, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!parse_args(argc, argv, &a)) {
        fprintf(stderr, "usage: rtsp_testsrv [--address IP] [--port N] [--mount /path] [--width W] "
                        "[--height H] [--fps N] [--bitrate KBPS] [--profile baseline|main|high] "
                        "[--no-audio]\n");
        return 1;
    }
    /* "baseline" is constrained-baseline: what a WebRTC receiver is sure to decode. x264 makes
     * no B-frames with tune=zerolatency, as studio hosts configured for live use do not. */
    const char *prof = strcmp(a.profile, "baseline") == 0 ? "constrained-baseline" : a.profile;
    char *launch = g_strdup_printf(
        "( videotestsrc is-live=true pattern=smpte ! video/x-raw,width=%u,height=%u,framerate=%u/1 ! "
        "clockoverlay time-format=\"%%H:%%M:%%S\" ! x264enc tune=zerolatency speed-preset=ultrafast "
        "key-int-max=%u bitrate=%u ! video/x-h264,profile=%s ! "
        "rtph264pay name=pay0 pt=96 config-interval=-1 %s )",
        a.width, a.height, a.fps, 2 * a.fps, a.kbps, prof,
        a.no_audio ? ""
                   : "audiotestsrc is-live=true wave=sine freq=440 ! audioconvert ! "
                     "audio/x-raw,rate=48000,channels=2 ! avenc_aac bitrate=128000 ! "
                     "rtpmp4gpay name=pay1 pt=97");

    GstRTSPServer *server = gst_rtsp_server_new();
    char port[8];
    g_snprintf(port, sizeof(port), "%u", a.port);
    gst_rtsp_server_set_address(server, a.address);
    gst_rtsp_server_set_service(server, port);
    GstRTSPMountPoints *mounts = gst_rtsp_server_get_mount_points(server);
    GstRTSPMediaFactory *factory = gst_rtsp_media_factory_new();
    gst_rtsp_media_factory_set_launch(factory, launch);
    gst_rtsp_media_factory_set_shared(factory, TRUE);
    gst_rtsp_mount_points_add_factory(mounts, a.mount, factory); /* takes the factory */
    g_object_unref(mounts);
    g_free(launch);

    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    if (gst_rtsp_server_attach(server, NULL) == 0) {
        fprintf(stderr, "rtsp_testsrv: cannot listen on %s:%u\n", a.address, a.port);
        return 1;
    }
    g_unix_signal_add(SIGINT, on_signal, loop);
    g_unix_signal_add(SIGTERM, on_signal, loop);
    printf("ready rtsp://%s:%u%s\n", a.address, a.port, a.mount);
    g_main_loop_run(loop);
    g_main_loop_unref(loop);
    g_object_unref(server);
    return 0;
}
