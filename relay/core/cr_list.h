/*
 * Intrusive doubly-linked lists (as in h2o's linklist): the node lives inside the element, so adding
 * and removing never allocate. An unlinked node points to itself.
 */
#ifndef CR_LIST_H
#define CR_LIST_H

#include <stddef.h>

typedef struct cr_list {
    struct cr_list *prev, *next;
} cr_list_t;

#define CR_LIST_INIT(l) {&(l), &(l)}
#define cr_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline void cr_list_init(cr_list_t *l)
{
    l->prev = l->next = l;
}

static inline int cr_list_empty(const cr_list_t *l)
{
    return l->next == l;
}

static inline int cr_list_linked(const cr_list_t *n)
{
    return n->next != n;
}

/** Inserts n before pos (at the tail when pos is the list head). */
static inline void cr_list_insert(cr_list_t *pos, cr_list_t *n)
{
    n->prev = pos->prev;
    n->next = pos;
    pos->prev->next = n;
    pos->prev = n;
}

/** Unlinks n and leaves it self-linked; a no-op on an unlinked node. */
static inline void cr_list_unlink(cr_list_t *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}

#define cr_list_foreach_safe(it, tmp, head) \
    for ((it) = (head)->next, (tmp) = (it)->next; (it) != (head); (it) = (tmp), (tmp) = (it)->next)

#endif
