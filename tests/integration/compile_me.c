/* Input for the 'gcc' and 'clang' integration tests: compiled with -O2 -g,
 * the object file must be byte-identical with and without the preloaded
 * allocator. It is written to give the optimizer real work (inlining, loops
 * to vectorize, switch tables, recursion, many types for the debug info);
 * it is never linked or run. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a string-keyed hash map with open addressing ---- */
typedef struct entry {
  char *key;
  long value;
  uint32_t hash;
} entry_t;

typedef struct map {
  entry_t *slots;
  size_t cap, len;
} map_t;

static uint32_t fnv1a(const char *s) {
  uint32_t h = 2166136261u;
  while (*s) {
    h ^= (unsigned char)*s++;
    h *= 16777619u;
  }
  return h;
}

static bool map_grow(map_t *m) {
  size_t ncap = m->cap ? m->cap * 2 : 16;
  entry_t *ns = calloc(ncap, sizeof *ns);
  if (!ns) return false;
  for (size_t i = 0; i < m->cap; i++) {
    entry_t *e = &m->slots[i];
    if (!e->key) continue;
    size_t j = e->hash & (ncap - 1);
    while (ns[j].key) j = (j + 1) & (ncap - 1);
    ns[j] = *e;
  }
  free(m->slots);
  m->slots = ns;
  m->cap = ncap;
  return true;
}

long *map_put(map_t *m, const char *key) {
  if ((m->len + 1) * 4 > m->cap * 3 && !map_grow(m)) return NULL;
  uint32_t h = fnv1a(key);
  size_t j = h & (m->cap - 1);
  while (m->slots[j].key) {
    if (m->slots[j].hash == h && strcmp(m->slots[j].key, key) == 0) return &m->slots[j].value;
    j = (j + 1) & (m->cap - 1);
  }
  m->slots[j].key = strdup(key);
  if (!m->slots[j].key) return NULL;
  m->slots[j].hash = h;
  m->slots[j].value = 0;
  m->len++;
  return &m->slots[j].value;
}

void map_free(map_t *m) {
  for (size_t i = 0; i < m->cap; i++) free(m->slots[i].key);
  free(m->slots);
  m->slots = NULL;
  m->cap = m->len = 0;
}

/* ---- a tiny expression language: tokenizer, parser, evaluator ---- */
typedef enum { T_NUM, T_IDENT, T_OP, T_LPAREN, T_RPAREN, T_END, T_ERR } tok_kind;

typedef struct token {
  tok_kind kind;
  double num;
  char text[32];
} token_t;

typedef struct lexer {
  const char *p;
  token_t cur;
} lexer_t;

static void next_token(lexer_t *lx) {
  while (isspace((unsigned char)*lx->p)) lx->p++;
  token_t *t = &lx->cur;
  memset(t, 0, sizeof *t);
  char c = *lx->p;
  if (c == '\0') {
    t->kind = T_END;
  } else if (isdigit((unsigned char)c) || c == '.') {
    char *end;
    t->num = strtod(lx->p, &end);
    t->kind = end == lx->p ? T_ERR : T_NUM;
    lx->p = end;
  } else if (isalpha((unsigned char)c)) {
    size_t n = 0;
    while (isalnum((unsigned char)lx->p[n]) && n < sizeof t->text - 1) n++;
    memcpy(t->text, lx->p, n);
    lx->p += n;
    t->kind = T_IDENT;
  } else if (strchr("+-*/^%", c)) {
    t->text[0] = c;
    t->kind = T_OP;
    lx->p++;
  } else if (c == '(' || c == ')') {
    t->kind = c == '(' ? T_LPAREN : T_RPAREN;
    lx->p++;
  } else {
    t->kind = T_ERR;
  }
}

typedef struct node {
  enum { N_NUM, N_VAR, N_BIN, N_NEG, N_CALL } kind;
  union {
    double num;
    char name[32];
    struct {
      char op;
      struct node *l, *r;
    } bin;
    struct {
      double (*fn)(double);
      struct node *arg;
    } call;
    struct node *neg;
  } u;
} node_t;

static node_t *parse_expr(lexer_t *lx, int min_prec);

static node_t *mk(int kind) {
  node_t *n = calloc(1, sizeof *n);
  if (n) n->kind = kind;
  return n;
}

static int prec(char op) {
  switch (op) {
  case '+': case '-': return 1;
  case '*': case '/': case '%': return 2;
  case '^': return 3;
  default: return 0;
  }
}

static double (*lookup_fn(const char *name))(double) {
  static const struct { const char *name; double (*fn)(double); } fns[] = {
      {"sin", sin}, {"cos", cos}, {"tan", tan}, {"exp", exp}, {"log", log},
      {"sqrt", sqrt}, {"fabs", fabs}, {"floor", floor}, {"ceil", ceil}, {"atan", atan},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
    if (strcmp(fns[i].name, name) == 0) return fns[i].fn;
  return NULL;
}

static node_t *parse_primary(lexer_t *lx) {
  token_t t = lx->cur;
  node_t *n = NULL;
  switch (t.kind) {
  case T_NUM:
    n = mk(N_NUM);
    if (n) n->u.num = t.num;
    next_token(lx);
    return n;
  case T_IDENT:
    next_token(lx);
    if (lx->cur.kind == T_LPAREN) {
      double (*fn)(double) = lookup_fn(t.text);
      if (!fn) return NULL;
      next_token(lx);
      node_t *arg = parse_expr(lx, 1);
      if (lx->cur.kind != T_RPAREN) return NULL;
      next_token(lx);
      n = mk(N_CALL);
      if (n) { n->u.call.fn = fn; n->u.call.arg = arg; }
      return n;
    }
    n = mk(N_VAR);
    if (n) memcpy(n->u.name, t.text, sizeof n->u.name);
    return n;
  case T_OP:
    if (t.text[0] != '-') return NULL;
    next_token(lx);
    n = mk(N_NEG);
    if (n) n->u.neg = parse_primary(lx);
    return n;
  case T_LPAREN:
    next_token(lx);
    n = parse_expr(lx, 1);
    if (lx->cur.kind != T_RPAREN) return NULL;
    next_token(lx);
    return n;
  default:
    return NULL;
  }
}

static node_t *parse_expr(lexer_t *lx, int min_prec) {
  node_t *lhs = parse_primary(lx);
  while (lhs && lx->cur.kind == T_OP && prec(lx->cur.text[0]) >= min_prec) {
    char op = lx->cur.text[0];
    int p = prec(op);
    next_token(lx);
    node_t *rhs = parse_expr(lx, op == '^' ? p : p + 1);
    node_t *b = mk(N_BIN);
    if (!b) return NULL;
    b->u.bin.op = op;
    b->u.bin.l = lhs;
    b->u.bin.r = rhs;
    lhs = b;
  }
  return lhs;
}

double eval(const node_t *n, const map_t *vars, int *err) {
  if (!n) { *err = EINVAL; return NAN; }
  switch (n->kind) {
  case N_NUM: return n->u.num;
  case N_VAR: {
    if (!vars->cap) { *err = ENOENT; return NAN; }
    uint32_t h = fnv1a(n->u.name);
    for (size_t j = h & (vars->cap - 1); vars->slots[j].key; j = (j + 1) & (vars->cap - 1))
      if (strcmp(vars->slots[j].key, n->u.name) == 0) return (double)vars->slots[j].value;
    *err = ENOENT;
    return NAN;
  }
  case N_NEG: return -eval(n->u.neg, vars, err);
  case N_CALL: return n->u.call.fn(eval(n->u.call.arg, vars, err));
  case N_BIN: {
    double a = eval(n->u.bin.l, vars, err), b = eval(n->u.bin.r, vars, err);
    switch (n->u.bin.op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return b == 0 ? (*err = EDOM, NAN) : a / b;
    case '%': return fmod(a, b);
    case '^': return pow(a, b);
    }
  }
  }
  *err = EINVAL;
  return NAN;
}

void free_node(node_t *n) {
  if (!n) return;
  if (n->kind == N_BIN) { free_node(n->u.bin.l); free_node(n->u.bin.r); }
  else if (n->kind == N_NEG) free_node(n->u.neg);
  else if (n->kind == N_CALL) free_node(n->u.call.arg);
  free(n);
}

node_t *parse(const char *src) {
  lexer_t lx = {.p = src};
  next_token(&lx);
  node_t *n = parse_expr(&lx, 1);
  if (lx.cur.kind != T_END) { free_node(n); return NULL; }
  return n;
}

/* ---- numeric kernels the vectorizer can chew on ---- */
void saxpy(size_t n, float a, const float *restrict x, float *restrict y) {
  for (size_t i = 0; i < n; i++) y[i] = a * x[i] + y[i];
}

void matmul(size_t n, const double *a, const double *b, double *restrict c) {
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      double s = 0;
      for (size_t k = 0; k < n; k++) s += a[i * n + k] * b[k * n + j];
      c[i * n + j] = s;
    }
}

uint64_t checksum(const uint8_t *p, size_t n) {
  uint64_t a = 1, b = 0;
  for (size_t i = 0; i < n; i++) {
    a = (a + p[i]) % 65521;
    b = (b + a) % 65521;
  }
  return b << 16 | a;
}

int histogram(const char *s, unsigned counts[static 256]) {
  int distinct = 0;
  memset(counts, 0, 256 * sizeof counts[0]);
  for (; *s; s++)
    if (counts[(unsigned char)*s]++ == 0) distinct++;
  return distinct;
}

/* ---- sorting with a comparator and a hand-written merge sort ---- */
typedef struct rec {
  int key;
  char name[20];
  double weight;
} rec_t;

static int cmp_rec(const void *a, const void *b) {
  const rec_t *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->weight > y->weight) - (x->weight < y->weight);
}

void sort_recs(rec_t *r, size_t n) { qsort(r, n, sizeof *r, cmp_rec); }

static void merge(int *a, int *tmp, size_t lo, size_t mid, size_t hi) {
  size_t i = lo, j = mid, k = lo;
  while (i < mid && j < hi) tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
  while (i < mid) tmp[k++] = a[i++];
  while (j < hi) tmp[k++] = a[j++];
  memcpy(a + lo, tmp + lo, (hi - lo) * sizeof *a);
}

void merge_sort(int *a, int *tmp, size_t lo, size_t hi) {
  if (hi - lo < 2) return;
  size_t mid = lo + (hi - lo) / 2;
  merge_sort(a, tmp, lo, mid);
  merge_sort(a, tmp, mid, hi);
  merge(a, tmp, lo, mid, hi);
}

/* ---- varargs formatting into a growable buffer ---- */
typedef struct sbuf {
  char *data;
  size_t len, cap;
} sbuf_t;

__attribute__((format(printf, 2, 3)))
int sbuf_printf(sbuf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return -1;
  if (b->len + (size_t)n + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < b->len + (size_t)n + 1) ncap *= 2;
    char *nd = realloc(b->data, ncap);
    if (!nd) return -1;
    b->data = nd;
    b->cap = ncap;
  }
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return n;
}

char *report(const rec_t *r, size_t n, const map_t *vars) {
  sbuf_t b = {0};
  for (size_t i = 0; i < n; i++) {
    int err = 0;
    char expr[64];
    snprintf(expr, sizeof expr, "sqrt(%d) * %g + x", r[i].key, r[i].weight);
    node_t *e = parse(expr);
    double v = eval(e, vars, &err);
    free_node(e);
    if (sbuf_printf(&b, "%-20s %6d %12.4f %s\n", r[i].name, r[i].key, v, err ? strerror(err) : "ok") < 0) {
      free(b.data);
      return NULL;
    }
  }
  return b.data;
}
