/* Standalone main() for the fuzz target, so gcc builds (no libFuzzer) run it
 * in the ordinary test suite.
 *
 *   fuzz-replay [-n N] [-seed S] [-only I] [-maxlen L] [FILE|DIR]...
 *
 * Runs the target over every FILE (and every regular file in each DIR), then
 * over N pseudo-random inputs generated from S; input I depends only on S and
 * I, so "-only I" replays a single one. If an input crashes the target (an
 * abort from a failed check, a UBSan report, a fault), the input is written to
 * $FUZZ_CRASH_DIR (default /tmp) as goalloc-fuzz-crash-<pid>.bin, ready for
 * "fuzz-replay FILE" with FUZZ_TRACE=1 or for the libFuzzer binary. The
 * allocator's state carries over from one input to the next (thread cache,
 * partly used spans), so an input may fail only after the ones before it:
 * the message gives the -n that replays the whole series. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* UBSan's default is to _exit quietly; aborting lets the handler below save
 * the input, and a stack trace says where. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) {
  return "print_stacktrace=1:abort_on_error=1:halt_on_error=1";
}

/* The input being run, for the crash handler. */
static const uint8_t *volatile cur_data;
static volatile size_t cur_size;
static char crash_path[512];
static char cur_name[600];

static void on_crash(int sig) {
  /* Only async-signal-safe calls: open/write/close. */
  if (cur_data != NULL) {
    int fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      size_t done = 0;
      while (done < cur_size) {
        ssize_t w = write(fd, cur_data + done, cur_size - done);
        if (w <= 0) break;
        done += (size_t)w;
      }
      close(fd);
      static const char m1[] = "\nfuzz-replay: crashing input (";
      static const char m2[] = ") saved to ";
      (void)!write(2, m1, sizeof m1 - 1);
      (void)!write(2, cur_name, strlen(cur_name));
      (void)!write(2, m2, sizeof m2 - 1);
      (void)!write(2, crash_path, strlen(crash_path));
      (void)!write(2, "\n", 1);
    }
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

static void run(const uint8_t *d, size_t n, const char *name) {
  snprintf(cur_name, sizeof cur_name, "%s", name);
  cur_size = n;
  cur_data = d;
  LLVMFuzzerTestOneInput(d, n);
  cur_data = NULL;
}

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    return -1;
  }
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  size_t got;
  while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  if (buf == NULL) return -1;
  run(buf, n, path);
  free(buf);
  return 1;
}

static int run_path(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    perror(path);
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) return run_file(path);
  DIR *dir = opendir(path);
  if (dir == NULL) {
    perror(path);
    return -1;
  }
  /* Sorted, so runs are reproducible whatever the directory order. */
  struct dirent **names;
  int k = scandir(path, &names, NULL, alphasort);
  closedir(dir);
  if (k < 0) return -1;
  int count = 0;
  for (int i = 0; i < k; i++) {
    char full[4096];
    snprintf(full, sizeof full, "%s/%s", path, names[i]->d_name);
    struct stat fs;
    if (names[i]->d_name[0] != '.' && stat(full, &fs) == 0 && S_ISREG(fs.st_mode)) {
      if (run_file(full) < 0) return -1;
      count++;
    }
    free(names[i]);
  }
  free(names);
  return count;
}

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Input i of seed s: random bytes, except that some inputs confine their slot
 * and opcode bytes to narrow ranges (each op's second byte is its slot), so
 * that a few slots are reused over and over as well as spread out. */
static size_t gen_input(uint64_t seed, uint64_t i, uint8_t *buf, size_t maxlen) {
  uint64_t s = seed * 0x100000001B3ull ^ (i + 1) * 0xD1B54A32D192ED03ull;
  size_t n = 1 + splitmix(&s) % maxlen;
  for (size_t k = 0; k < n; k += 8) {
    uint64_t w = splitmix(&s);
    for (size_t b = 0; b < 8 && k + b < n; b++) buf[k + b] = (uint8_t)(w >> (8 * b));
  }
  if (i % 4 == 1)
    for (size_t k = 1; k < n; k += 7) buf[k] %= 8;
  return n;
}

int main(int argc, char **argv) {
  unsigned long long n = 0, seed = 1, only = ~0ull;
  size_t maxlen = 4096;
  LLVMFuzzerInitialize(&argc, &argv);

  const char *dir = getenv("FUZZ_CRASH_DIR");
  snprintf(crash_path, sizeof crash_path, "%s/goalloc-fuzz-crash-%ld.bin",
           dir != NULL && *dir ? dir : "/tmp", (long)getpid());
  signal(SIGABRT, on_crash);
  signal(SIGSEGV, on_crash);
  signal(SIGBUS, on_crash);
  signal(SIGILL, on_crash);
  signal(SIGFPE, on_crash);

  int files = 0;
  for (int a = 1; a < argc; a++) {
    if (!strcmp(argv[a], "-n") && a + 1 < argc) {
      n = strtoull(argv[++a], NULL, 0);
    } else if (!strcmp(argv[a], "-seed") && a + 1 < argc) {
      seed = strtoull(argv[++a], NULL, 0);
    } else if (!strcmp(argv[a], "-only") && a + 1 < argc) {
      only = strtoull(argv[++a], NULL, 0);
    } else if (!strcmp(argv[a], "-maxlen") && a + 1 < argc) {
      maxlen = strtoull(argv[++a], NULL, 0);
      if (maxlen == 0) maxlen = 1;
    } else if (argv[a][0] == '-') {
      fprintf(stderr, "usage: %s [-n N] [-seed S] [-only I] [-maxlen L] [FILE|DIR]...\n",
              argv[0]);
      return 2;
    } else {
      int c = run_path(argv[a]);
      if (c < 0) return 1;
      files += c;
    }
  }

  uint8_t *buf = malloc(maxlen);
  if (buf == NULL) return 1;
  unsigned long long ran = 0;
  for (unsigned long long i = 0; i < n || only != ~0ull; i++) {
    if (only != ~0ull) i = only;
    char name[160];
    /* The allocator keeps state across inputs, so name both ways to replay. */
    snprintf(name, sizeof name,
             "generated input -seed %llu -only %llu; with all earlier ones: -seed %llu -n %llu",
             seed, i, seed, i + 1);
    size_t len = gen_input(seed, i, buf, maxlen);
    run(buf, len, name);
    ran++;
    if (only != ~0ull) break;
  }
  free(buf);
  printf("fuzz-replay: %d file inputs and %llu generated inputs (seed %llu) passed\n", files,
         ran, seed);
  return 0;
}
