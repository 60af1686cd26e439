/*
 * A mailbox between threads: a mutex-protected intrusive list of messages plus an eventfd that wakes
 * the receiving loop. It carries control-plane commands (a peer joins or leaves), never packets, so a
 * lock here is off the packet path. The receiver drains the whole list in one lock/unlock.
 *
 * Ownership: cr_mailbox_post() takes the message; cr_mailbox_drain() hands them all to the caller.
 */
#ifndef CR_MAILBOX_H
#define CR_MAILBOX_H

#include <pthread.h>
#include <stddef.h>

#include "cr_list.h"

typedef struct cr_mailbox {
    pthread_mutex_t lock;
    cr_list_t msgs;
    size_t count;
    size_t max;  /* posting beyond this fails with CR_EFULL */
    int evfd;    /* readable when messages are waiting; -1 when the receiver polls instead */
} cr_mailbox_t;

/** Initialises a mailbox holding at most max messages; with_eventfd creates the eventfd. */
int cr_mailbox_init(cr_mailbox_t *mb, size_t max, int with_eventfd);

/** Frees messages still queued with free_msg (may be NULL) and closes the eventfd. */
void cr_mailbox_dispose(cr_mailbox_t *mb, void (*free_msg)(cr_list_t *msg));

/** Appends msg (its list node, unlinked). Returns 0 or CR_EFULL (msg then still belongs to the caller). */
int cr_mailbox_post(cr_mailbox_t *mb, cr_list_t *msg);

/** Moves every waiting message to the tail of out (an initialised list head) and clears the eventfd. */
void cr_mailbox_drain(cr_mailbox_t *mb, cr_list_t *out);

#endif
