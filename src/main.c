/* main.c — afterresumed: subcommand dispatch only. */
#include <stdio.h>
int main(void) { puts("afterresumed"); return 0; }
