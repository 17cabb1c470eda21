// Test-only: holds a Wine session's desktop for as long as the session
// lives (desktop.sh). Asking for the desktop window starts Wine's desktop
// process (explorer.exe /desktop) as this program's child, outside any
// game's job; Wine ends a desktop about a second after its last user
// leaves, and this program is a user until wineserver -k ends it. Real
// Windows has no such process; this file is never part of the addon.
#include <windows.h>

int main(void) {
	if (GetDesktopWindow() == NULL) {
		return 1;
	}
	Sleep(INFINITE);
	return 0;
}
