/* A stand-in bcryptprimitives.dll for Wine < 9: exports the one function Rust >= 1.78 imports
 * from it (ProcessPrng), which Wine 8.0 lacks -- without it every Rust .exe fails to load
 * (exit 53). Built by .ci/windows.sh with
 *   x86_64-w64-mingw32-gcc -shared -O2 -s -o bcryptprimitives.dll bcryptprimitives.c \
 *       bcryptprimitives.def -ladvapi32
 * and copied into the throwaway Wine prefix's system32. CI only: never shipped. */
#include <windows.h>

/* RtlGenRandom, exported by advapi32 as SystemFunction036. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* Like Windows' ProcessPrng: fills the buffer and always returns TRUE. */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            continue; /* Windows' contract: never fails; retry */
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
