/* The capsule bench's hello world, built natively and for wasm32-wasi. */
#include <stdio.h>

int
main(void)
{
	puts("hello, world");
	return 0;
}
