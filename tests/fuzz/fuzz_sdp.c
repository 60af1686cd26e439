/*
 * Fuzz target for the SDP parser, answer negotiation and writer. An offer that parses is answered
 * in both roles; each answer must write, and what is written must parse back to the same answer,
 * because the relay's answers are read by browsers with much less forgiving parsers than ours.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cr_err.h"
#include "cr_sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void answer_and_check(const cr_sdp_t *offer, enum cr_sdp_role role, cr_sdp_t *answer,
                             cr_sdp_t *reparsed, char *text, size_t cap)
{
    cr_sdp_answer_params_t p = {
        .role = role,
        .ice_ufrag = "fzUf",
        .ice_pwd = "fuzzpassword0123456789ab",
        .fingerprint = "sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                       "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
        .cand_ip = "192.0.2.1",
        .cand_port = 3478,
        .send_ssrc = {1, 2, 3, 4, 5, 6, 7, 8},
        .cname = "fuzz",
        .stream_id = "stream",
    };
    if (cr_sdp_negotiate(offer, &p, answer) != 0)
        return;
    int n = cr_sdp_write(answer, text, cap);
    if (n < 0 || cr_sdp_parse(text, (size_t)n, reparsed) != 0 ||
        memcmp(answer, reparsed, sizeof(*answer)) != 0)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cr_sdp_t *offer = malloc(sizeof(*offer));
    cr_sdp_t *answer = malloc(sizeof(*answer));
    cr_sdp_t *reparsed = malloc(sizeof(*reparsed));
    char *text = malloc(CR_SDP_MAX_SIZE);
    if (offer == NULL || answer == NULL || reparsed == NULL || text == NULL)
        goto Exit;
    if (cr_sdp_parse((const char *)data, size, offer) != 0)
        goto Exit;
    /* Writing an arbitrary parsed description must stay inside the buffer, whatever it says. */
    (void)cr_sdp_write(offer, text, CR_SDP_MAX_SIZE);
    (void)cr_sdp_write(offer, text, 100);
    answer_and_check(offer, CR_SDP_ROLE_PUBLISHER, answer, reparsed, text, CR_SDP_MAX_SIZE);
    answer_and_check(offer, CR_SDP_ROLE_SUBSCRIBER, answer, reparsed, text, CR_SDP_MAX_SIZE);
Exit:
    free(offer);
    free(answer);
    free(reparsed);
    free(text);
    return 0;
}
