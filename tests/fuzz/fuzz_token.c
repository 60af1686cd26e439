/*
 * Fuzz target for what a remote peer sends before it is trusted: a token (cr_auth_verify, with the
 * key the corpus tokens were signed with, so valid ones reach the claims checks) and a signaling
 * message's JSON under the /ws limits (cr_json_load_object). Checks the invariants the callers rely
 * on: a refused token leaves the claims zeroed, an accepted one has NUL-terminated, valid fields.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cr_auth.h"
#include "cr_json_guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key[] = "fuzz-token-secret-fuzz-token-secret";
    static const cr_json_limits_t lim = {.max_size = 8192, .max_depth = 4, .max_key = 32, .max_string = 4096};
    cr_claims_t c;
    int rc = cr_auth_verify(key, sizeof(key) - 1, (const char *)data, size, 1700000000, &c);
    if (rc == 0) {
        if (memchr(c.class_id, '\0', sizeof(c.class_id)) == NULL || memchr(c.sub, '\0', sizeof(c.sub)) == NULL ||
            memchr(c.name, '\0', sizeof(c.name)) == NULL || (unsigned)c.role >= CR_ROLE_COUNT || c.exp <= c.iat)
            abort();
    } else {
        static const cr_claims_t zero;
        if (memcmp(&c, &zero, sizeof(c)) != 0)
            abort();
    }
    const char *tok;
    size_t len;
    (void)cr_auth_bearer((const char *)data, size, &tok, &len);
    json_t *o = NULL;
    if (cr_json_load_object((const char *)data, size, &lim, &o) == CR_JSON_OK) {
        if (!json_is_object(o))
            abort();
        json_decref(o);
    } else if (o != NULL) {
        abort();
    }
    return 0;
}
