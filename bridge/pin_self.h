// pin_self.h: on Windows, pins the DLL that includes it in memory when it
// loads. Godot frees extension DLLs at exit, on editor reload, and when the
// entry symbol refuses to initialize; the Go runtime started its threads
// when the DLL was loaded and cannot be unloaded. Include it in one C file
// of the DLL (bridge/gdx.c; the exit probe of bridge/testdata/windows).
#ifndef GODTLS_PIN_SELF_H
#define GODTLS_PIN_SELF_H
#ifdef _WIN32
#include <windows.h>

__attribute__((constructor)) static void pin_self(void) {
	HMODULE self;
	GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_PIN | GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
			(LPCWSTR)(void *)&pin_self, &self);
}
#endif
#endif
