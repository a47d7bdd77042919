/* Stress (3): fork while other threads allocate.
 *
 * Worker threads allocate, resize and free in tight loops while the main
 * thread forks repeatedly, so forks land while allocator locks are held by
 * threads that do not exist in the child. Each child must still be able to
 * allocate and free (from its main thread and from new threads), free blocks
 * inherited from the parent, sometimes fork a grandchild itself, and exit 0.
 * A child that deadlocks is killed by its own alarm(); the parent reports
 * every child's status, so a hang fails the test instead of stalling it.
 *
 * Arguments: workers=3 forks=30 child_ops=6000 seed=<n>. */
#include "stress_common.h"

#include <signal.h>
#include <sys/wait.h>

#define CHILD_ALARM_SEC 30
#define PARENT_ALARM_SEC 150

typedef struct {
  unsigned char *p;
  size_t n;
  uint64_t key;
} blk_t;

/* Allocates, frees and reallocs at random in a private table, checking
 * contents; returns when ops run out or *stop becomes nonzero. */
static void churn(rng_t *r, blk_t *tab, unsigned ntab, unsigned long ops, const int *stop,
                  size_t max_big) {
  for (unsigned long i = 0; stop ? !__atomic_load_n(stop, __ATOMIC_RELAXED) : i < ops; i++) {
    blk_t *b = &tab[rng_below(r, ntab)];
    if (b->p) {
      pat_check(b->p, 0, b->n, b->key, "churn");
      if (rng_below(r, 3) == 0) {
        size_t n = rng_size(r, 4, max_big);
        void *p = S_REALLOC(b->p, n);
        check_block(p, n, 0, "realloc");
        size_t keep = n < b->n ? n : b->n;
        pat_check(p, 0, keep, b->key, "churn realloc");
        pat_fill(p, keep, n, b->key);
        b->p = p;
        b->n = n;
        continue;
      }
      S_FREE(b->p);
      b->p = NULL;
    } else {
      b->n = rng_size(r, 4, max_big);
      b->p = S_MALLOC(b->n);
      check_block(b->p, b->n, 0, "malloc");
      b->key = rng_next(r);
      pat_fill(b->p, 0, b->n, b->key);
    }
  }
}

static void free_table(blk_t *tab, unsigned ntab) {
  for (unsigned i = 0; i < ntab; i++)
    if (tab[i].p) {
      pat_check(tab[i].p, 0, tab[i].n, tab[i].key, "final free");
      S_FREE(tab[i].p);
      tab[i].p = NULL;
    }
}

/* ---- parent-side workers ------------------------------------------------ */

static int stop_workers;

typedef struct {
  pthread_t tid;
  uint64_t seed;
} worker_t;

static void *worker_main(void *arg) {
  worker_t *w = arg;
  rng_t r = {w->seed};
  enum { NTAB = 256 };
  blk_t *tab = S_CALLOC(NTAB, sizeof(blk_t));
  if (!tab)
    stress_fail("worker: no table");
  churn(&r, tab, NTAB, 0, &stop_workers, 512 * KIB);
  free_table(tab, NTAB);
  S_FREE(tab);
  return NULL;
}

/* ---- child side ---------------------------------------------------------- */

typedef struct {
  uint64_t seed;
  unsigned long ops;
  const int *stop;
} cthread_t;

static void *child_thread(void *arg) {
  cthread_t *c = arg;
  rng_t r = {c->seed};
  enum { NTAB = 128 };
  blk_t *tab = S_CALLOC(NTAB, sizeof(blk_t));
  if (!tab)
    stress_fail("child thread: no table");
  churn(&r, tab, NTAB, c->ops, c->stop, 256 * KIB);
  free_table(tab, NTAB);
  S_FREE(tab);
  return NULL;
}

static void start_thread(pthread_t *t, cthread_t *c) {
  int rc = pthread_create(t, NULL, child_thread, c);
  if (rc)
    stress_fail("child: pthread_create: %s", strerror(rc));
}

static int wait_ok(pid_t pid, const char *who, unsigned idx) {
  int status;
  pid_t got;
  do
    got = waitpid(pid, &status, 0);
  while (got < 0 && errno == EINTR);
  if (got != pid)
    stress_fail("waitpid(%s %u): errno %d", who, idx, errno);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return 1;
  if (WIFSIGNALED(status))
    stress_log("%s %u killed by signal %d (%s)%s", who, idx, WTERMSIG(status),
               strsignal(WTERMSIG(status)),
               WTERMSIG(status) == SIGALRM ? ": deadlocked (its alarm fired)" : "");
  else
    stress_log("%s %u exited with status %d", who, idx, WEXITSTATUS(status));
  return 0;
}

static void grandchild(unsigned idx, uint64_t seed, unsigned long ops) {
  alarm(CHILD_ALARM_SEC);
  rng_t r = {seed};
  enum { NTAB = 64 };
  blk_t *tab = S_CALLOC(NTAB, sizeof(blk_t));
  if (!tab)
    stress_fail("grandchild %u: no table", idx);
  churn(&r, tab, NTAB, ops, NULL, 256 * KIB);
  free_table(tab, NTAB);
  S_FREE(tab);
  _exit(0);
}

static void child(unsigned idx, uint64_t seed, unsigned long ops, blk_t *inherited,
                  unsigned ninherited) {
  /* Pending alarms are not inherited: arm our own deadlock guard. */
  alarm(CHILD_ALARM_SEC);
  rng_t r = {seed};

  /* Blocks the parent's main thread allocated before the fork are intact
   * and can be freed (and realloc'd) here. */
  for (unsigned i = 0; i < ninherited; i++) {
    blk_t *b = &inherited[i];
    pat_check(b->p, 0, b->n, b->key, "child: inherited block");
    if (i % 3 == 0) {
      S_FREE(b->p);
      b->p = NULL;
    } else if (i % 3 == 1) {
      size_t n = b->n * 2 + 1;
      void *p = S_REALLOC(b->p, n);
      check_block(p, n, 0, "child realloc inherited");
      pat_check(p, 0, b->n, b->key, "child: inherited after realloc");
      pat_fill(p, b->n, n, b->key);
      b->p = p;
      b->n = n;
    }
  }

  enum { NTAB = 256 };
  blk_t *tab = S_CALLOC(NTAB, sizeof(blk_t));
  if (!tab)
    stress_fail("child %u: no table", idx);
  churn(&r, tab, NTAB, ops, NULL, 1 * MIB);

  /* New threads in the child, running alongside the main thread. */
  pthread_t t[2];
  cthread_t c[2];
  for (int k = 0; k < 2; k++) {
    c[k].seed = rng_next(&r);
    c[k].ops = ops / 4;
    c[k].stop = NULL;
    start_thread(&t[k], &c[k]);
  }
  churn(&r, tab, NTAB, ops / 4, NULL, 1 * MIB);
  for (int k = 0; k < 2; k++)
    pthread_join(t[k], NULL);

  /* Every fourth child forks again while one of its own threads is busy
   * allocating: the fork path must work in a process born of a fork. */
  if (idx % 4 == 0) {
    static int stop_busy;
    pthread_t bt;
    cthread_t bc = {rng_next(&r), 0, &stop_busy};
    start_thread(&bt, &bc);
    for (unsigned g = 0; g < 2; g++) {
      churn(&r, tab, NTAB, 500, NULL, 1 * MIB);
      pid_t pid = fork();
      if (pid < 0)
        stress_fail("child %u: fork: errno %d", idx, errno);
      if (pid == 0)
        grandchild(idx, rng_next(&r), ops / 2);
      if (!wait_ok(pid, "grandchild", idx))
        _exit(3);
    }
    __atomic_store_n(&stop_busy, 1, __ATOMIC_RELAXED);
    pthread_join(bt, NULL);
  }

  free_table(tab, NTAB);
  S_FREE(tab);
  for (unsigned i = 0; i < ninherited; i++)
    if (inherited[i].p) {
      pat_check(inherited[i].p, 0, inherited[i].n, inherited[i].key, "child: final inherited");
      S_FREE(inherited[i].p);
    }
  /* Half the children go through exit() (atexit handlers, stdio), half
   * through _exit(): both must work after a fork. */
  if (idx % 2)
    exit(0);
  _exit(0);
}

int main(int argc, char **argv) {
  stress_require_goalloc();
  unsigned nworkers = (unsigned)arg_ul(argc, argv, "workers", 3);
  unsigned nforks = (unsigned)arg_ul(argc, argv, "forks", 30);
  unsigned long child_ops = arg_ul(argc, argv, "child_ops", 6000);
  uint64_t seed = arg_ul(argc, argv, "seed", 4242);
  if (nworkers == 0 || nworkers > 16)
    stress_fail("workers must be 1..16");
  /* The whole test, parent included, cannot hang forever. */
  alarm(PARENT_ALARM_SEC);
  /* Unbuffered: nothing pending in stdio gets duplicated into children. */
  setvbuf(stdout, NULL, _IONBF, 0);
  double t0 = now_sec();

  worker_t ws[16];
  for (unsigned i = 0; i < nworkers; i++) {
    ws[i].seed = seed * 31u + i;
    int rc = pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]);
    if (rc)
      stress_fail("pthread_create: %s", strerror(rc));
  }

  rng_t r = {seed};
  enum { NINH = 48, NMAIN = 128 };
  blk_t inherited[NINH];
  blk_t *tab = S_CALLOC(NMAIN, sizeof(blk_t));
  if (!tab)
    stress_fail("main: no table");
  unsigned failed = 0;
  for (unsigned f = 0; f < nforks; f++) {
    /* A fresh set of blocks to hand down, sizes tiny to large. */
    for (unsigned i = 0; i < NINH; i++) {
      inherited[i].n = rng_size(&r, 50, 256 * KIB);
      inherited[i].p = S_MALLOC(inherited[i].n);
      check_block(inherited[i].p, inherited[i].n, 0, "main malloc");
      inherited[i].key = rng_next(&r);
      pat_fill(inherited[i].p, 0, inherited[i].n, inherited[i].key);
    }
    /* Some allocation work of the main thread's own between forks, so the
     * forking thread's cache is in varying states too. */
    churn(&r, tab, NMAIN, 300, NULL, 256 * KIB);
    uint64_t child_seed = rng_next(&r);
    pid_t pid = fork();
    if (pid < 0)
      stress_fail("fork: errno %d", errno);
    if (pid == 0)
      child(f, child_seed, child_ops, inherited, NINH);
    if (!wait_ok(pid, "child", f))
      failed++;
    /* The parent's copies are untouched by what the child did. */
    for (unsigned i = 0; i < NINH; i++) {
      pat_check(inherited[i].p, 0, inherited[i].n, inherited[i].key, "parent after fork");
      S_FREE(inherited[i].p);
    }
  }
  __atomic_store_n(&stop_workers, 1, __ATOMIC_RELAXED);
  for (unsigned i = 0; i < nworkers; i++)
    pthread_join(ws[i].tid, NULL);
  free_table(tab, NMAIN);
  S_FREE(tab);
  if (failed)
    stress_fail("%u of %u children failed", failed, nforks);
  stress_log("fork OK (%s): %u forks with %u allocating threads, %.2f s", S_API, nforks,
             nworkers, now_sec() - t0);
  return 0;
}
