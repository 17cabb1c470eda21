// Test-only stand-in for Windows' bcryptprimitives.dll, which Debian 12's
// wine 8.0 lacks and Go's Windows runtime loads at start (ProcessPrng). Every
// Windows 10+ ships the real one; this file is never part of the addon.
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length); // RtlGenRandom

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	while (len > 0) {
		ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
		if (!SystemFunction036(data, chunk)) {
			return FALSE;
		}
		data += chunk;
		len -= chunk;
	}
	return TRUE;
}
