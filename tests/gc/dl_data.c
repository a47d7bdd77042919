/* A library the roots test dlopens: its data must become a root while it
 * is loaded and stop being one after dlclose. */
void *gc_dl_global;
static char gc_dl_bss[4096];

void *gc_dl_global_addr(void) { return &gc_dl_global; }
void *gc_dl_bss_addr(void) { return gc_dl_bss; }
