// A stand-in for Godot on Windows: loads the addon DLL the way Godot does
// and calls its entry symbol with hostile arguments. The library must refuse
// cleanly (return 0) instead of crashing; the process must then exit on its
// own, with the DLL pinned (a Go runtime cannot be unloaded).
#include <stdio.h>
#include <string.h>
#include <windows.h>

typedef void *(*get_proc_fn)(const char *);
typedef unsigned char (*entry_fn)(get_proc_fn, void *, void *);

static int lookups = 0;
static void *nothing(const char *name) {
	lookups++;
	return NULL;
}

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: host.exe path\\to\\dtls_server.windows.x86_64.dll\n");
		return 2;
	}
	HMODULE lib = LoadLibraryA(argv[1]);
	if (lib == NULL) {
		fprintf(stderr, "FAIL: LoadLibrary error %lu\n", GetLastError());
		return 1;
	}
	entry_fn entry = (entry_fn)GetProcAddress(lib, "dtls_server_library_init");
	if (entry == NULL) {
		fprintf(stderr, "FAIL: entry symbol not exported\n");
		return 1;
	}
	if (GetProcAddress(lib, "goInitialize") != NULL) {
		fprintf(stderr, "FAIL: internal symbol goInitialize is exported\n");
		return 1;
	}
	unsigned char init[64];
	memset(init, 0, sizeof(init));
	int dummy_library;
	if (entry(NULL, &dummy_library, init) != 0) {
		fprintf(stderr, "FAIL: entry accepted a NULL get_proc_address\n");
		return 1;
	}
	if (entry(nothing, &dummy_library, init) != 0) {
		fprintf(stderr, "FAIL: entry succeeded with no interface functions\n");
		return 1;
	}
	if (lookups == 0) {
		fprintf(stderr, "FAIL: entry never asked for an interface function\n");
		return 1;
	}
	// Godot frees the library at exit; the addon pinned it, so this must not
	// pull the Go runtime out from under its threads.
	FreeLibrary(lib);
	Sleep(1500); // let the Go runtime's threads run after FreeLibrary
	printf("ok: entry refused cleanly after %d lookup(s); DLL survived FreeLibrary\n", lookups);
	return 0;
}
