#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <poll.h>
#include <pthread.h>

#include "cr_err.h"
#include "cr_mailbox.h"

typedef struct msg {
    cr_list_t link;
    int value;
} msg_t;

static msg_t *msg_new(int v)
{
    msg_t *m = calloc(1, sizeof(*m));
    cr_list_init(&m->link);
    m->value = v;
    return m;
}

static void msg_free(cr_list_t *l)
{
    free(cr_container_of(l, msg_t, link));
}

static void test_order_and_limit(void **state)
{
    (void)state;
    cr_mailbox_t mb;
    assert_int_equal(cr_mailbox_init(&mb, 3, 1), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(cr_mailbox_post(&mb, &msg_new(i)->link), 0);
    msg_t *extra = msg_new(99);
    assert_int_equal(cr_mailbox_post(&mb, &extra->link), CR_EFULL);
    free(extra);

    struct pollfd p = {.fd = mb.evfd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 1);

    cr_list_t out, *it, *tmp;
    cr_list_init(&out);
    cr_mailbox_drain(&mb, &out);
    int expect = 0;
    cr_list_foreach_safe(it, tmp, &out)
    {
        assert_int_equal(cr_container_of(it, msg_t, link)->value, expect++);
        cr_list_unlink(it);
        msg_free(it);
    }
    assert_int_equal(expect, 3);
    assert_int_equal(poll(&p, 1, 0), 0); /* drained: no longer readable */
    cr_mailbox_post(&mb, &msg_new(7)->link);
    cr_mailbox_dispose(&mb, msg_free); /* frees the queued message (checked under ASan) */
}

static cr_mailbox_t shared_mb;

static void *producer(void *arg)
{
    for (int i = 0; i < 1000; i++)
        while (cr_mailbox_post(&shared_mb, &msg_new((int)(intptr_t)arg)->link) != 0)
            ;
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t t[2];
    cr_mailbox_init(&shared_mb, 100000, 1);
    pthread_create(&t[0], NULL, producer, (void *)1);
    pthread_create(&t[1], NULL, producer, (void *)2);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    cr_list_t out, *it, *tmp;
    cr_list_init(&out);
    cr_mailbox_drain(&shared_mb, &out);
    int n = 0;
    cr_list_foreach_safe(it, tmp, &out)
    {
        cr_list_unlink(it);
        msg_free(it);
        n++;
    }
    assert_int_equal(n, 2000);
    cr_mailbox_dispose(&shared_mb, msg_free);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_limit),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
