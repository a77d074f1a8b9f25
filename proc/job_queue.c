/* The job queue of an actor's thread pool: see proc/job_queue.h. */
#include "proc/job_queue.h"

#include <stddef.h>

int job_queue_length(struct job_queue *q)
{
	int len;

	pthread_mutex_lock(&q->lock);
	len = q->len;
	pthread_mutex_unlock(&q->lock);
	return len;
}

void job_queue_push(struct job_queue *q, struct job_queue_item *item)
{
	item->next = NULL;
	pthread_mutex_lock(&q->lock);
	if (q->tail)
		q->tail->next = item;
	else
		q->head = item;
	q->tail = item;
	q->len++;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

struct job_queue_item *job_queue_pop(struct job_queue *q)
{
	struct job_queue_item *item;

	pthread_mutex_lock(&q->lock);
	while (!q->head && !q->stopped)
		pthread_cond_wait(&q->cond, &q->lock);
	item = q->head;
	if (item) {
		q->head = item->next;
		if (!q->head)
			q->tail = NULL;
		q->len--;
	}
	pthread_mutex_unlock(&q->lock);
	return item;
}

void job_queue_stop(struct job_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->stopped = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}
