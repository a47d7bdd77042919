/* Loaded with dlopen by the survive test: a pointer stored in this
 * library's data segment (.bss) must be a root for as long as the library
 * is loaded (goalloc enumerates the loaded objects' writable segments anew
 * each cycle). */
void *gcapi_dl_slot[4];
/* Something in .data as well, so the library has both kinds of segment. */
long gcapi_dl_marker = 0x600dda7a;
