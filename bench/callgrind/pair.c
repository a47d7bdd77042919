/*
 * pair.c - fast-path instruction-count driver for goalloc's callgrind bench.
 *
 * Every mode does some warm-up outside the measured functions, then runs the
 * measured work inside functions whose names start with "bench_".  run.sh
 * starts callgrind with --collect-atstart=no --toggle-collect=bench_*, so only
 * those functions (and everything they call) are counted, per thread.  Each
 * configuration is run with N and 2N repetitions and the per-op cost is
 * (Ir(2N) - Ir(N)) / ops(N), so one-time costs that still fall inside the
 * measured region (first refill, first mmap, ...) cancel as well.
 *
 * Modes (all print nothing on stdout except a one-line summary on stderr):
 *   pair    SIZE N   N x { p = malloc(SIZE); escape(p); free(p); }
 *   batch   SIZE N   N x { K x malloc(SIZE) into an array; free all K in
 *                          allocation order }                   (ops = N*K)
 *   xalloc  SIZE N   cross-thread: thread A mallocs K, hands the array to
 *   xfree   SIZE N   thread B which frees them; N rounds.  xalloc measures
 *                    only A's mallocs, xfree only B's frees    (ops = N*K)
 *   realloc SIZE N   N x { p = malloc(SIZE); 7 x p = realloc(p, ++size);
 *                          free(p) }; only the realloc calls are measured
 *                                                             (ops = N*7)
 *
 * The array/pointer escapes through an empty asm with a "memory" clobber, and
 * the file is built with -fno-builtin, so gcc can neither fold a malloc/free
 * pair away nor sink it out of the loop.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define K 1000
#define REALLOC_STEPS 7

#define NOINLINE __attribute__((noinline, noclone))

static inline void escape(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

static void *slots[K];

/* ---- pair ------------------------------------------------------------- */

NOINLINE void bench_pair(size_t size, long n)
{
	for (long i = 0; i < n; i++) {
		void *p = malloc(size);
		escape(p);
		free(p);
	}
}

/* ---- batch ------------------------------------------------------------ */

NOINLINE void bench_batch(size_t size, long n)
{
	for (long r = 0; r < n; r++) {
		for (int i = 0; i < K; i++) {
			slots[i] = malloc(size);
			escape(slots[i]);
		}
		for (int i = 0; i < K; i++)
			free(slots[i]);
	}
}

static void plain_batch(size_t size, long n)
{
	for (long r = 0; r < n; r++) {
		for (int i = 0; i < K; i++) {
			slots[i] = malloc(size);
			escape(slots[i]);
		}
		for (int i = 0; i < K; i++)
			free(slots[i]);
	}
}

/* ---- cross-thread ------------------------------------------------------ */
/* Strict ping-pong through two semaphores: A fills slots[], posts, waits; B
 * frees slots[], posts.  Only one thread runs allocator code at a time, so
 * the counts do not depend on scheduling.  The semaphore traffic happens
 * outside the bench_* functions and is not counted. */

static sem_t go_free, go_alloc;
static size_t xt_size;
static long xt_rounds;
static int xt_measure_alloc, xt_measure_free;

NOINLINE void bench_xt_alloc(size_t size)
{
	for (int i = 0; i < K; i++) {
		slots[i] = malloc(size);
		escape(slots[i]);
	}
}

static void plain_xt_alloc(size_t size)
{
	for (int i = 0; i < K; i++) {
		slots[i] = malloc(size);
		escape(slots[i]);
	}
}

NOINLINE void bench_xt_free(void)
{
	for (int i = 0; i < K; i++)
		free(slots[i]);
}

static void plain_xt_free(void)
{
	for (int i = 0; i < K; i++)
		free(slots[i]);
}

static void *xt_freer(void *arg)
{
	(void)arg;
	for (long r = 0; r < xt_rounds; r++) {
		sem_wait(&go_free);
		if (xt_measure_free)
			bench_xt_free();
		else
			plain_xt_free();
		sem_post(&go_alloc);
	}
	return NULL;
}

static void xt_run(size_t size, long rounds, int measure_alloc, int measure_free)
{
	pthread_t t;
	xt_size = size;
	xt_rounds = rounds;
	xt_measure_alloc = measure_alloc;
	xt_measure_free = measure_free;
	if (pthread_create(&t, NULL, xt_freer, NULL) != 0) {
		perror("pthread_create");
		exit(1);
	}
	for (long r = 0; r < rounds; r++) {
		if (measure_alloc)
			bench_xt_alloc(size);
		else
			plain_xt_alloc(size);
		sem_post(&go_free);
		sem_wait(&go_alloc);
	}
	pthread_join(t, NULL);
}

/* ---- realloc in place --------------------------------------------------- */

static long realloc_moves;

NOINLINE void *bench_realloc(void *p, size_t size)
{
	return realloc(p, size);
}

static void realloc_loop(size_t size, long n, int measure)
{
	for (long r = 0; r < n; r++) {
		void *p = malloc(size);
		escape(p);
		for (size_t s = size + 1; s <= size + REALLOC_STEPS; s++) {
			void *q = measure ? bench_realloc(p, s) : realloc(p, s);
			if (q != p)
				realloc_moves++;
			p = q;
			escape(p);
		}
		free(p);
	}
}

/* ------------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr, "usage: pair {pair|batch|xalloc|xfree|realloc} SIZE N\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc != 4)
		usage();
	const char *mode = argv[1];
	size_t size = strtoul(argv[2], NULL, 0);
	long n = strtol(argv[3], NULL, 0);
	if (n <= 0)
		usage();

	/* Warm-up, not measured: touch the size class in this thread, with both
	 * a batch (fills/refills caches) and some pairs. */
	plain_batch(size, 2);
	for (int i = 0; i < K; i++) {
		void *p = malloc(size);
		escape(p);
		free(p);
	}

	long ops;
	if (!strcmp(mode, "pair")) {
		bench_pair(size, n);
		ops = n;
	} else if (!strcmp(mode, "batch")) {
		bench_batch(size, n);
		ops = n * K;
	} else if (!strcmp(mode, "xalloc") || !strcmp(mode, "xfree")) {
		int a = !strcmp(mode, "xalloc");
		sem_init(&go_free, 0, 0);
		sem_init(&go_alloc, 0, 0);
		xt_run(size, 4, 0, 0);		/* warm-up thread pair */
		xt_run(size, n, a, !a);
		ops = n * K;
	} else if (!strcmp(mode, "realloc")) {
		realloc_loop(size, 64, 0);
		realloc_moves = 0;
		realloc_loop(size, n, 1);
		ops = n * REALLOC_STEPS;
		if (realloc_moves)
			fprintf(stderr, "pair: realloc moved %ld of %ld times\n",
				realloc_moves, ops);
	} else {
		usage();
	}
	fprintf(stderr, "pair: mode=%s size=%zu ops=%ld\n", mode, size, ops);
	return 0;
}
