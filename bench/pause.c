/* The classic C pause, written for the benchmark only: the design every pod infra process
 * used before this project (and the behaviour src/main.rs reproduces). A version flag, a
 * warning when not PID 1, three signal handlers whose failures exit 1, 2 and 3, then a
 * libc pause() loop. Built by `just bench` with glibc and with musl, -Os -static, stripped. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int signo) {
	fprintf(stderr, "Shutting down, got signal: %s\n", strsignal(signo));
	exit(0);
}

static void on_child(int signo) {
	(void)signo;
	/* One SIGCHLD may stand for many exited children. */
	while (waitpid(-1, NULL, WNOHANG) > 0) {
	}
}

int main(int argc, char **argv) {
	for (int i = 1; i < argc; i++) {
		if (strcasecmp(argv[i], "-v") == 0) {
			printf("pause 0.1.0\n");
			return 0;
		}
	}
	if (getpid() != 1)
		fprintf(stderr, "Warning: pause should be the first process\n");

	struct sigaction stop = {.sa_handler = on_stop};
	struct sigaction child = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP};
	if (sigaction(SIGINT, &stop, NULL) < 0)
		return 1;
	if (sigaction(SIGTERM, &stop, NULL) < 0)
		return 2;
	if (sigaction(SIGCHLD, &child, NULL) < 0)
		return 3;

	for (;;)
		pause();
}
