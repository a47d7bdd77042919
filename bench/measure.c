/* measure - run a program and report its wall time, CPU time and peak RSS.
 *
 *   measure -o RESULT_FILE [-p PRELOAD_LIB] -- PROGRAM [ARGS...]
 *
 * Forks, sets LD_PRELOAD=PRELOAD_LIB in the child only, execs PROGRAM and
 * reaps it with wait4().  Writes one line to RESULT_FILE:
 *   status=<raw wait status> wall=<s> user=<s> sys=<s> maxrss_kb=<KiB>
 * bench/run uses this small process instead of forking from Python: a
 * child's ru_maxrss includes the memory of the process it was forked from
 * (the high-water mark before exec), which for a Python parent is ~20 MiB.
 * Its own exit status is 0 when the result was written, whatever the
 * program's status.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *out = NULL, *preload = NULL;
  int i = 1;
  for (; i < argc; i++) {
    if (!strcmp(argv[i], "-o") && i + 1 < argc) out = argv[++i];
    else if (!strcmp(argv[i], "-p") && i + 1 < argc) preload = argv[++i];
    else if (!strcmp(argv[i], "--")) { i++; break; }
    else break;
  }
  if (!out || i >= argc) {
    fprintf(stderr, "usage: measure -o RESULT_FILE [-p PRELOAD_LIB] -- PROGRAM [ARGS...]\n");
    return 2;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid < 0) { perror("measure: fork"); return 2; }
  if (pid == 0) {
    if (preload && *preload) setenv("LD_PRELOAD", preload, 1);
    else unsetenv("LD_PRELOAD");
    execvp(argv[i], argv + i);
    perror("measure: exec");
    _exit(127);
  }
  int status;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0) {}
  clock_gettime(CLOCK_MONOTONIC, &t1);
  FILE *f = fopen(out, "w");
  if (!f) { perror("measure: result file"); return 2; }
  fprintf(f, "status=%d wall=%.6f user=%.6f sys=%.6f maxrss_kb=%ld\n", status,
          (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
          (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
          (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss);
  return fclose(f) ? 2 : 0;
}
