#include "cr_mailbox.h"
#include "cr_err.h"

#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int cr_mailbox_init(cr_mailbox_t *mb, size_t max, int with_eventfd)
{
    pthread_mutex_init(&mb->lock, NULL);
    cr_list_init(&mb->msgs);
    mb->count = 0;
    mb->max = max;
    mb->evfd = -1;
    if (with_eventfd) {
        mb->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (mb->evfd < 0)
            return CR_EIO;
    }
    return 0;
}

void cr_mailbox_dispose(cr_mailbox_t *mb, void (*free_msg)(cr_list_t *msg))
{
    cr_list_t pending, *it, *tmp;
    cr_list_init(&pending);
    cr_mailbox_drain(mb, &pending);
    cr_list_foreach_safe(it, tmp, &pending)
    {
        cr_list_unlink(it);
        if (free_msg != NULL)
            free_msg(it);
    }
    if (mb->evfd >= 0)
        close(mb->evfd);
    mb->evfd = -1;
    pthread_mutex_destroy(&mb->lock);
}

int cr_mailbox_post(cr_mailbox_t *mb, cr_list_t *msg)
{
    pthread_mutex_lock(&mb->lock);
    if (mb->count >= mb->max) {
        pthread_mutex_unlock(&mb->lock);
        return CR_EFULL;
    }
    cr_list_insert(&mb->msgs, msg);
    mb->count++;
    pthread_mutex_unlock(&mb->lock);
    if (mb->evfd >= 0) {
        uint64_t one = 1;
        ssize_t w = write(mb->evfd, &one, sizeof(one));
        (void)w; /* a full counter still leaves the fd readable */
    }
    return 0;
}

void cr_mailbox_drain(cr_mailbox_t *mb, cr_list_t *out)
{
    if (mb->evfd >= 0) {
        uint64_t v;
        ssize_t r = read(mb->evfd, &v, sizeof(v));
        (void)r;
    }
    pthread_mutex_lock(&mb->lock);
    if (!cr_list_empty(&mb->msgs)) {
        cr_list_t *first = mb->msgs.next, *last = mb->msgs.prev;
        first->prev = out->prev;
        out->prev->next = first;
        last->next = out;
        out->prev = last;
        cr_list_init(&mb->msgs);
    }
    mb->count = 0;
    pthread_mutex_unlock(&mb->lock);
}
