/*
 * bcryptprimitives.dll for wine 8: the one export Go 1.22+ needs at start-up.
 *
 * Go's Windows runtime takes its random bytes from ProcessPrng in
 * bcryptprimitives.dll. Debian's wine 8 ships that DLL without ProcessPrng, so every
 * Go binary fails to start. This DLL provides it on top of advapi32's RtlGenRandom
 * (exported as SystemFunction036), which wine does implement.
 *
 * Test rigs only: a real Windows 10/11 has ProcessPrng and never loads this file.
 * Build: x86_64-w64-mingw32-gcc -shared -O2 -s -o bcryptprimitives.dll processprng.c -ladvapi32
 * Use:   copy into the prefix's drive_c/windows/system32/ and set
 *        WINEDLLOVERRIDES=bcryptprimitives=native
 */
#include <windows.h>

/* RtlGenRandom's real name in advapi32; its header declaration needs a define. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    /* RtlGenRandom takes a ULONG: feed large requests in pieces. */
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return TRUE;
}
