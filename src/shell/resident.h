// The executor's resident set, kept to the code it runs. Most of an idle executor's RSS is its own
// program text: when a page of it faults in, the kernel maps the neighbouring pages already in the
// page cache too (fault-around), so start-up and the launch leave nearly the whole binary mapped
// (7.3 of 8 MiB for the static build), although a running task uses a small part of it. Once the
// task runs, the read-only mappings of the executable that hold no private (written) pages are
// dropped with MADV_DONTNEED: their pages stay in the page cache (nothing is read from disk again),
// those still used fault back in, and the rest, no longer mapped, are the first the kernel reclaims
// under memory pressure. Written mappings (data, relocated RELRO pages) are never touched.
//
// How much a fault maps depends on how the file sits in the page cache. The wrapper's fresh copy
// into the sandbox is cached in small pieces and a fault maps the 64 KiB fault-around window; a file
// cached in large folios (the build's output, read whole after an eviction) maps a whole folio per
// fault, hundreds of KiB. tools/bench therefore measures executors run from their own copies, as
// deployed. Dropping the executable's page cache after the release would make any file behave like
// the copy, but the code a KILL needs would then be read from disk when it must be fast: not done.
#pragma once

#include <cstddef>

namespace shell {

// Returns the bytes of mappings released (0 when there was nothing to do or /proc is unreadable).
std::size_t release_startup_pages();

}  // namespace shell
