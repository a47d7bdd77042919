/* Prints goalloc's option table (the README's list comes from it). */
#include "options.h"

int main(void) {
  ga_options_print(1);
  return 0;
}
