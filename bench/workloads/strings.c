/* strings - tiny strings (1..15 bytes) in a chained hash table.
 *
 *   strings [-n KEYS] [-r ROUNDS] [-s SEED]
 *
 * Each of ROUNDS rounds (default 4) inserts KEYS keys (default 400000):
 * pseudo-random strings of 1..15 characters from [0-9A-Za-z], every one
 * copied into its own malloc(len + 1) and hung off a malloc'd 24-byte node
 * (duplicates only bump the node's count), then looks every other key of
 * the round up and removes one occurrence of it.  Half of each round's keys
 * stay into the next round.  The sum of counts and a checksum over every
 * string are verified after each round and the table is freed at the end.
 */
#include "common.h"

typedef struct node {
  struct node *next;
  char *key;
  uint32_t len, count;
} node_t;

static node_t **table;
static size_t mask;
static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static size_t make_key(uint64_t seed, long round, long i, char *out) {
  uint64_t h = mix64(seed ^ ((uint64_t)round << 40) ^ (uint64_t)i);
  size_t len = 1 + (size_t)(h % 15);
  uint64_t g = mix64(h);
  for (size_t j = 0; j < len; j++) {
    if (j == 8) g = mix64(g);
    out[j] = alphabet[(g >> (8 * (j & 7))) % 62];
  }
  out[len] = 0;
  return len;
}

static uint64_t hash_str(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
  return h;
}

int main(int argc, char **argv) {
  bench_name = "strings";
  opts_t o = {.iters = 400000, .seed = 1};
  parse_opts(argc, argv, &o, "r", "[-n KEYS] [-r ROUNDS] [-s SEED]");
  long rounds = opt_x(&o, 'r', 4), nkeys = o.iters;
  size_t buckets = 1;
  while (buckets < (size_t)nkeys) buckets <<= 1;
  mask = buckets - 1;
  table = calloc(buckets, sizeof *table);
  if (!table) die("out of memory");
  uint64_t total = 0; /* sum of counts in the table */
  char buf[16];

  for (long round = 0; round < rounds; round++) {
    for (long i = 0; i < nkeys; i++) {
      size_t len = make_key((uint64_t)o.seed, round, i, buf);
      node_t **b = &table[hash_str(buf, len) & mask], *n;
      for (n = *b; n; n = n->next)
        if (n->len == len && memcmp(n->key, buf, len) == 0) break;
      if (n) {
        n->count++;
      } else {
        n = xmalloc(sizeof *n);
        n->key = xmalloc(len + 1);
        memcpy(n->key, buf, len + 1);
        n->len = (uint32_t)len;
        n->count = 1;
        n->next = *b;
        *b = n;
      }
      total++;
    }
    for (long i = 0; i < nkeys; i += 2) {
      size_t len = make_key((uint64_t)o.seed, round, i, buf);
      node_t **pp = &table[hash_str(buf, len) & mask], *n;
      while ((n = *pp) && !(n->len == len && memcmp(n->key, buf, len) == 0)) pp = &n->next;
      if (!n) corrupt("round %ld: key %ld (\"%s\") not found", round, i, buf);
      if (--n->count == 0) {
        *pp = n->next;
        free(n->key);
        free(n);
      }
      total--;
    }
    /* Verify: counts add up, every stored string is intact and in its bucket. */
    uint64_t sum = 0;
    for (size_t b = 0; b <= mask; b++)
      for (node_t *n = table[b]; n; n = n->next) {
        if (n->len < 1 || n->len > 15 || n->key[n->len] != 0 || (hash_str(n->key, n->len) & mask) != b)
          corrupt("round %ld: node %p in bucket %zu corrupted", round, (void *)n, b);
        sum += n->count;
      }
    if (sum != total)
      corrupt("round %ld: counts add up to %llu, expected %llu", round, (unsigned long long)sum,
              (unsigned long long)total);
  }
  for (size_t b = 0; b <= mask; b++) {
    node_t *n = table[b];
    while (n) {
      node_t *next = n->next;
      free(n->key);
      free(n);
      n = next;
    }
  }
  free(table);
  report_final_rss();
  return 0;
}
