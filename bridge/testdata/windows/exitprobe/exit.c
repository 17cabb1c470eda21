// exit.c: loads exitprobe.dll, starts its sockets, and exits the way an
// exported game does: FreeLibrary, then return from main (ExitProcess),
// with the sockets closed first ("stop") or still live ("live").
// Usage: exit.exe exitprobe.dll stop|live sockets
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

typedef int (*start_fn)(int);
typedef void (*stop_fn)(void);

int main(int argc, char **argv) {
	// Tells exit.sh that wine started this program: a run without it
	// failed in wine, before any of the probe's code.
	printf("started\n");
	fflush(stdout);
	if (argc != 4) {
		fprintf(stderr, "usage: exit.exe exitprobe.dll stop|live sockets\n");
		return 2;
	}
	HMODULE lib = LoadLibraryA(argv[1]);
	if (lib == NULL) {
		fprintf(stderr, "LoadLibrary failed: %lu\n", GetLastError());
		return 1;
	}
	start_fn start = (start_fn)(void *)GetProcAddress(lib, "probe_start");
	stop_fn stop = (stop_fn)(void *)GetProcAddress(lib, "probe_stop");
	if (start == NULL || stop == NULL) {
		fprintf(stderr, "the probe's symbols are missing\n");
		return 1;
	}
	int want = atoi(argv[3]);
	int opened = start(want);
	if (opened != want) {
		fprintf(stderr, "opened %d of %d sockets\n", opened, want);
		return 1;
	}
	Sleep(300);
	if (strcmp(argv[2], "stop") == 0) {
		stop();
	}
	FreeLibrary(lib);
	printf("exiting\n");
	fflush(stdout);
	return 0;
}
