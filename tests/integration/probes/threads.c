/* SPDX-License-Identifier: MIT */
/*
 * A small pthread program for tests/integration/test-seccomp.py: threads (clone3, falling back
 * to clone), futexes through a mutex and a condition variable, thread-local storage and
 * joining. Prints "threads ok N" with the total it counted.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 8
#define ROUNDS	10000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long total;
static int started;
static _Thread_local long mine;

/*
 * In a sanitizer build the probes are instrumented too, and LeakSanitizer's exit-time check
 * stops the process's threads with ptrace(), which the sandbox refuses (as it should). The
 * probes have nothing to leak-check; without ASan this function is simply never called.
 */
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}

static void *work(void *arg)
{
	pthread_mutex_lock(&lock);
	started++;
	pthread_cond_broadcast(&cond);
	while (started < THREADS)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < ROUNDS; i++) {
		mine++;
		pthread_mutex_lock(&lock);
		total++;
		pthread_mutex_unlock(&lock);
	}
	return (void *)mine;
}

int main(void)
{
	pthread_t t[THREADS];
	long sum = 0;

	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, work, NULL) != 0) {
			perror("pthread_create");
			return 1;
		}
	for (int i = 0; i < THREADS; i++) {
		void *v;

		pthread_join(t[i], &v);
		sum += (long)v;
	}
	if (sum != total || total != (long)THREADS * ROUNDS) {
		printf("threads wrong %ld %ld\n", sum, total);
		return 1;
	}
	printf("threads ok %ld\n", total);
	return 0;
}
