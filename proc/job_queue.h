/*
 * The job queue of an actor's thread pool (the kdf's hashing threads, the
 * store's database threads): a FIFO that the poll loop pushes onto and the
 * threads pop from, blocking while it is empty. Jobs are the caller's: each
 * begins with a struct job_queue_item, which the queue links; it neither
 * allocates nor frees. A full queue (the caller's limit, asked with
 * job_queue_length) is the caller's to refuse.
 */
#ifndef DREAMAUTH_JOB_QUEUE_H
#define DREAMAUTH_JOB_QUEUE_H
#include <pthread.h>
#include <stdbool.h>

struct job_queue_item {
	struct job_queue_item *next;
};

struct job_queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job_queue_item *head, *tail;
	int len;
	bool stopped;
};

#define JOB_QUEUE_INIT { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER }

int job_queue_length(struct job_queue *q);
/* Appends item and wakes one waiting thread. */
void job_queue_push(struct job_queue *q, struct job_queue_item *item);
/* The oldest job, waiting for one while the queue is empty; NULL once the
 * queue is stopped and empty (what was queued before the stop still runs). */
struct job_queue_item *job_queue_pop(struct job_queue *q);
/* Wakes every waiting thread: each drains what is left, then pops NULL. */
void job_queue_stop(struct job_queue *q);
#endif
