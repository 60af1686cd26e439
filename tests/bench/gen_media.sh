#!/bin/bash
# Encodes the synthetic publisher's stream once, with GStreamer, into a cache directory:
#
#   tests/bench/gen_media.sh CACHE_DIR [--width 1920] [--height 1080] [--fps 30] [--kbps 4000]
#                            [--seconds 20]
#
# Writes CACHE_DIR/video-<W>x<H>p<FPS>-<KBPS>k-<S>s.h264 (H.264 Annex-B, constrained baseline, one IDR
# every 2 s, no B-frames, x264 CBR) and CACHE_DIR/audio-opus-64k-<S>s.opus (Opus in Ogg, 20 ms frames,
# 48 kHz stereo) unless they exist, and prints the two paths on stdout (video first). The picture is
# SMPTE bars scrolling under a running clock and the sound a 440 Hz tone: motion enough that x264
# spends the whole bitrate. Exits 77 when GStreamer or a needed element is missing.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 CACHE_DIR [--width W] [--height H] [--fps F] [--kbps K] [--seconds S]" >&2; exit 2; }
CACHE=$1; shift
W=1920 H=1080 FPS=30 KBPS=4000 SECS=20
while [ $# -gt 0 ]; do
    case $1 in
        --width) W=$2 ;; --height) H=$2 ;; --fps) FPS=$2 ;; --kbps) KBPS=$2 ;; --seconds) SECS=$2 ;;
        *) echo "gen_media: unknown option $1" >&2; exit 2 ;;
    esac
    shift 2
done
for v in "$W" "$H" "$FPS" "$KBPS" "$SECS"; do
    [[ $v =~ ^[0-9]+$ ]] && [ "$v" -gt 0 ] || { echo "gen_media: bad number '$v'" >&2; exit 2; }
done
command -v gst-launch-1.0 >/dev/null || { echo "gen_media: gst-launch-1.0 not found" >&2; exit 77; }
for e in videotestsrc timeoverlay x264enc audiotestsrc opusenc oggmux; do
    gst-inspect-1.0 "$e" >/dev/null 2>&1 || { echo "gen_media: GStreamer element $e missing" >&2; exit 77; }
done
mkdir -p "$CACHE"
VIDEO=$CACHE/video-${W}x${H}p${FPS}-${KBPS}k-${SECS}s.h264
AUDIO=$CACHE/audio-opus-64k-${SECS}s.opus
if [ ! -s "$VIDEO" ]; then
    echo "gen_media: encoding $VIDEO (once)" >&2
    gst-launch-1.0 -q videotestsrc num-buffers=$((FPS * SECS)) pattern=smpte horizontal-speed=3 \
        ! "video/x-raw,width=$W,height=$H,framerate=$FPS/1" ! timeoverlay font-desc="Sans 48" \
        ! x264enc bitrate="$KBPS" key-int-max=$((FPS * 2)) speed-preset=superfast tune=zerolatency \
                  bframes=0 vbv-buf-capacity=1000 option-string="nal-hrd=cbr" \
        ! "video/x-h264,profile=constrained-baseline,stream-format=byte-stream,alignment=au" \
        ! filesink location="$VIDEO.tmp" >&2
    mv "$VIDEO.tmp" "$VIDEO"
fi
if [ ! -s "$AUDIO" ]; then
    gst-launch-1.0 -q audiotestsrc num-buffers=$((SECS * 50)) wave=sine freq=440 samplesperbuffer=960 \
        ! "audio/x-raw,rate=48000,channels=2" ! opusenc bitrate=64000 frame-size=20 \
        ! oggmux ! filesink location="$AUDIO.tmp" >&2
    mv "$AUDIO.tmp" "$AUDIO"
fi
echo "$VIDEO"
echo "$AUDIO"
