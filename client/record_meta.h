/* The pure parts of `classrelay-client record`: file names and the JSON sidecar. libc only, so they
 * are unit-tested alone (client/tests/test_record_meta.c).
 *
 * Names are chosen here, never taken from a peer: "<class>-<UTC stamp>" as the base, segments
 * "<base>-<NNNN>.mp4" and the sidecar "<base>.json", where <class> is a class id (1-64 of
 * A-Z a-z 0-9 _ -) checked before use. Such a name has no '/', does not start with '.', and so
 * cannot leave the recordings directory. */
#ifndef CR_CLIENT_RECORD_META_H
#define CR_CLIENT_RECORD_META_H

#include <stddef.h>
#include <stdint.h>

#define CR_REC_ID_MAX 64        /* class and teacher ids */
#define CR_REC_NAME_MAX 96      /* a file name, NUL included: 64 + 1 + 16 + 1 + 4 + 5 < 96 */
#define CR_REC_MAX_SEGMENTS 9999 /* per recording; the recorder stops past it */

/** 1 if s[0..len) is an id: 1..64 of A-Z a-z 0-9 _ -. */
int cr_rec_id_ok(const char *s, size_t len);

/**
 * The class id of a WHEP URL: the path segment after the last "/whep/" (query and fragment
 * ignored). Writes it to out (cap bytes) and returns 0; returns -1 if the URL has no such
 * segment or it is not an id ("../x", "a%2Fb", "", ...).
 */
int cr_rec_class_from_url(const char *url, char *out, size_t cap);

/** "20261123T181552Z" for Unix time t (UTC); out needs 17 bytes. */
void cr_rec_stamp(int64_t t, char *out, size_t cap);

/** "2026-11-23T18:15:52.123Z" for Unix milliseconds; out needs 25 bytes. */
void cr_rec_iso_ms(int64_t ms, char *out, size_t cap);

/** base = "<class>-<stamp>". Returns 0, or -1 if class is not an id or out is too small. */
int cr_rec_base_name(const char *class_id, int64_t t, char *out, size_t cap);

/** "<base>-<NNNN>.mp4" for segment index (1-based, at most CR_REC_MAX_SEGMENTS). 0 or -1. */
int cr_rec_segment_name(const char *base, unsigned index, char *out, size_t cap);

struct cr_rec_segment {
    char file[CR_REC_NAME_MAX];
    int64_t start_ms, end_ms; /* Unix ms; end 0 while it is being written */
    uint64_t bytes;
};

struct cr_rec_meta {
    const char *class_id;
    const char *teacher;      /* NULL or "" if unknown */
    const char *state;        /* "recording", "complete" or "failed" */
    int64_t start_ms, end_ms; /* Unix ms; end 0 while recording */
    int64_t updated_ms;
    const struct cr_rec_segment *segs;
    unsigned n_segs;
};

/**
 * The sidecar JSON of m, one object ending in a newline:
 *   {"class":"demo","teacher":null,"state":"recording","start":"...Z","end":null,
 *    "updated":"...Z","duration_s":12.3,"format":"mp4 h264 opus",
 *    "segments":[{"file":"demo-...-0001.mp4","start":"...Z","end":null,"bytes":123}]}
 * Writes at most cap bytes (NUL-terminated) and returns the length it needs, like snprintf,
 * so a caller can size a buffer; -1 on a bad argument.
 */
int cr_rec_meta_json(const struct cr_rec_meta *m, char *buf, size_t cap);

/**
 * Replaces file name in directory dirfd with data (len bytes) atomically: writes "<name>.tmp"
 * (created, not followed if a symlink), fsyncs it, renames it over name and fsyncs the directory.
 * Returns 0 or -errno.
 */
int cr_rec_write_atomic(int dirfd, const char *name, const char *data, size_t len);

#endif
