/*
 * Fuzz target for the STUN parser and its integrity and fingerprint checks. Every input is also
 * classified by cr_stun_is_stun(), which the packet demultiplexer calls on every datagram.
 */
#include <stddef.h>
#include <stdint.h>

#include "cr_err.h"
#include "cr_stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The RFC 5769 password, so that the seed vectors exercise the passing path too. */
    static const uint8_t key[] = "VOkJxbRl1RmTxUk/WvJxBt";
    cr_stun_msg_t m;

    (void)cr_stun_is_stun(data, size);
    if (cr_stun_parse(data, size, &m) != 0)
        return 0;
    (void)cr_stun_check_integrity(data, size, &m, key, sizeof(key) - 1);
    (void)cr_stun_check_fingerprint(data, size, &m);
    /* Answering a parsed request must never fail for lack of room in an MTU-sized buffer. */
    if (m.type == CR_STUN_BINDING_REQUEST && m.has_xor_mapped) {
        uint8_t out[1500];
        int n = cr_stun_write_binding_success(out, sizeof(out), m.tid,
                                              (const struct sockaddr *)&m.xor_mapped, key,
                                              sizeof(key) - 1);
        if (n <= 0)
            __builtin_trap();
    }
    return 0;
}
