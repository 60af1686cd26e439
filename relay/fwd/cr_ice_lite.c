/*
 * ICE-lite (RFC 8445 section 2.5): the relay never sends checks; it answers the peer's binding
 * requests on its one host candidate, learns the peer's address from them, and treats each
 * authenticated request as consent (RFC 7675).
 */
#include <string.h>

#include "cr_err.h"
#include "cr_stun.h"
#include "cr_worker_int.h"


static void send_raw(struct cr_worker *w, const uint8_t *data, size_t len,
                     const struct sockaddr_storage *to, socklen_t to_len)
{
    cr_peer_t dest; /* only addr/addr_len are read by send_commit */
    uint8_t *slot = cr__worker_send_slot(w);
    memcpy(slot, data, len);
    memcpy(&dest.addr, to, to_len);
    dest.addr_len = to_len;
    cr__worker_send_commit(w, &dest, len);
}

/* RFC 8445 section 7.3: USERNAME is "<our ufrag>:<their ufrag>". */
static cr_peer_t *peer_for_username(struct cr_worker *w, const cr_stun_msg_t *m)
{
    if (m->username == NULL)
        return NULL;
    const char *u = (const char *)m->username;
    const char *colon = memchr(u, ':', m->username_len);
    if (colon == NULL)
        return NULL;
    cr_peer_t *p = cr__worker_find_ufrag(w, u, (size_t)(colon - u));
    if (p == NULL)
        return NULL;
    size_t rlen = m->username_len - (size_t)(colon - u) - 1;
    if (rlen != strlen(p->remote_ufrag) || memcmp(colon + 1, p->remote_ufrag, rlen) != 0)
        return NULL;
    return p;
}

void cr__ice_input(struct cr_worker *w, uint8_t *pkt, size_t len, const struct sockaddr_storage *from,
                   socklen_t from_len)
{
    cr_stun_msg_t m;
    uint8_t out[256];
    if (!cr_stun_is_stun(pkt, len) || cr_stun_parse(pkt, len, &m) != 0) {
        CR_STAT_ADD(w, drop_malformed, 1);
        return;
    }
    if (m.type != CR_STUN_BINDING_REQUEST)
        return; /* indications and responses need no answer from a lite agent */

    cr_peer_t *p = peer_for_username(w, &m);
    if (p == NULL || cr_stun_check_integrity(pkt, len, &m, (const uint8_t *)p->pwd, strlen(p->pwd)) != 0 ||
        (m.fingerprint_off != 0 && cr_stun_check_fingerprint(pkt, len, &m) != 0)) {
        CR_STAT_ADD(w, drop_stun_auth, 1);
        int n = cr_stun_write_binding_error(out, sizeof(out), m.tid, 401, "Unauthorized");
        if (n > 0)
            send_raw(w, out, (size_t)n, from, from_len);
        return;
    }

    int n = cr_stun_write_binding_success(out, sizeof(out), m.tid, (const struct sockaddr *)from,
                                          (const uint8_t *)p->pwd, strlen(p->pwd));
    if (n > 0)
        send_raw(w, out, (size_t)n, from, from_len);
    p->last_consent_us = w->now_us;

    /* The controlling peer nominates with USE-CANDIDATE; until then the first checked address is
     * used so that DTLS can start as soon as the peer's ClientHello arrives. */
    if (!p->has_addr || m.use_candidate)
        cr__worker_set_addr(w, p, from, from_len);
    if (p->state == CR_PEER_NEW)
        p->state = CR_PEER_DTLS;
}
