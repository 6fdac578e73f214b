/* SPDX-License-Identifier: MIT */
/*
 * hold: writes one byte to stdout ("I am running"), then waits for EOF on stdin. The driver's
 * hold mode keeps N sandboxes alive this way while it samples their memory.
 */
#include <unistd.h>

int main(void)
{
	char buf[256];
	ssize_t n;

	if (write(STDOUT_FILENO, "r", 1) != 1)
		return 1;
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
		;
	return n < 0 ? 1 : 0;
}
