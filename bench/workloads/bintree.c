/* bintree - binary trees with malloc/free, in the shape of GCBench.
 *
 *   bintree [-d MAXDEPTH] [-m MINDEPTH] [-s SEED]
 *
 * Allocates a stretch tree of depth MAXDEPTH+1 and frees it; keeps a
 * long-lived tree of depth MAXDEPTH (default 16) and a long-lived array of
 * doubles; then for depth d = MINDEPTH (default 4), +2, ... MAXDEPTH builds
 * 2^(MAXDEPTH - d + MINDEPTH) trees of depth d, half top-down (a node is
 * allocated before its children) and half bottom-up (children first), walks
 * each (checking node count and the values stored in the nodes) and frees it.
 * Nodes are 24-byte structs, each its own malloc.
 */
#include "common.h"

typedef struct node {
  struct node *left, *right;
  uint32_t depth, tag;
} node_t;

static node_t *new_node(node_t *l, node_t *r, uint32_t depth) {
  node_t *n = xmalloc(sizeof *n);
  n->left = l;
  n->right = r;
  n->depth = depth;
  n->tag = (uint32_t)mix64(depth) ^ (uint32_t)(uintptr_t)n;
  return n;
}

static node_t *bottom_up(uint32_t d) {
  if (d == 0) return new_node(NULL, NULL, 0);
  node_t *l = bottom_up(d - 1);
  node_t *r = bottom_up(d - 1);
  return new_node(l, r, d);
}

static void populate(node_t *n) {
  if (n->depth == 0) return;
  n->left = new_node(NULL, NULL, n->depth - 1);
  n->right = new_node(NULL, NULL, n->depth - 1);
  populate(n->left);
  populate(n->right);
}

static node_t *top_down(uint32_t d) {
  node_t *n = new_node(NULL, NULL, d);
  populate(n);
  return n;
}

static uint64_t check(const node_t *n, uint32_t depth) {
  if (n->depth != depth || n->tag != ((uint32_t)mix64(depth) ^ (uint32_t)(uintptr_t)n))
    corrupt("node %p overwritten (depth %u, expected %u)", (void *)n, n->depth, depth);
  if (depth == 0) {
    if (n->left || n->right) corrupt("leaf %p has children", (void *)n);
    return 1;
  }
  return 1 + check(n->left, depth - 1) + check(n->right, depth - 1);
}

static void release(node_t *n) {
  if (n->left) release(n->left);
  if (n->right) release(n->right);
  free(n);
}

static void one(uint32_t d, int topdown) {
  node_t *t = topdown ? top_down(d) : bottom_up(d);
  uint64_t want = ((uint64_t)2 << d) - 1, got = check(t, d);
  if (got != want) corrupt("tree of depth %u has %llu nodes, expected %llu", d, (unsigned long long)got,
                           (unsigned long long)want);
  release(t);
}

int main(int argc, char **argv) {
  bench_name = "bintree";
  opts_t o = {.seed = 1};
  parse_opts(argc, argv, &o, "dm", "[-d MAXDEPTH] [-m MINDEPTH] [-s SEED]");
  uint32_t maxd = (uint32_t)opt_x(&o, 'd', 16), mind = (uint32_t)opt_x(&o, 'm', 4);
  if (maxd > 30 || mind > maxd) die("bad parameters");

  one(maxd + 1, 0);
  node_t *longlived = top_down(maxd);
  size_t narr = 500000;
  double *arr = xmalloc(narr * sizeof *arr);
  for (size_t i = 0; i < narr; i++) arr[i] = i == 0 ? 0.0 : 1.0 / (double)i;
  for (uint32_t d = mind; d <= maxd; d += 2) {
    uint64_t iters = (uint64_t)1 << (maxd - d + mind);
    for (uint64_t i = 0; i < iters; i++) one(d, (int)(i & 1));
  }
  if (check(longlived, maxd) != ((uint64_t)2 << maxd) - 1) corrupt("long-lived tree lost nodes");
  if (arr[1000] != 1.0 / 1000) corrupt("long-lived array overwritten");
  release(longlived);
  free(arr);
  report_final_rss();
  return 0;
}
